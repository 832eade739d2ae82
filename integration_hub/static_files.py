"""How `collectstatic` stores the hub's static files outside production."""

from __future__ import annotations

from typing import Any

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedStaticFilesStorage


class GzipStaticFilesStorage(CompressedStaticFilesStorage):
    """Plain names and gzip copies only: brotli at its best quality takes about a minute over
    the API docs' bundles, which every `make demo` would wait for (production keeps brotli)."""

    def create_compressor(self, **kwargs: Any) -> Compressor:
        return super().create_compressor(**{**kwargs, "use_brotli": False})
