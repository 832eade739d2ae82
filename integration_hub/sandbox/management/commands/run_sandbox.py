"""`manage.py run_sandbox`: run the local upstream fakes in the foreground."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from integration_hub.sandbox.core import serve


def _default_port() -> int:
    url = getattr(settings, "SANDBOX_URL", None)
    return (urlsplit(url).port if url else None) or 8900


class Command(BaseCommand):
    help = "Serve the API2Cart, ION/M3 and ShipStation fakes (see docs/sandbox-design.md)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=_default_port())
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=Path(getattr(settings, "SANDBOX_STATE_DIR", "var/sandbox")),
        )
        parser.add_argument(
            "--hub-url", default=getattr(settings, "HUB_URL", "http://localhost:8000")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        serve(
            host=options["host"],
            port=options["port"],
            state_dir=options["state_dir"],
            hub_url=options["hub_url"],
        )
