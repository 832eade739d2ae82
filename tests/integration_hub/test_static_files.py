"""Static files come from the web process itself (WhiteNoise), as under gunicorn with DEBUG off,
and the API docs page loads nothing from outside the hub."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.templatetags.static import static
from django.test import override_settings

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


class WsgiAnswer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body


def wsgi_get(path: str, host: str, **headers: str) -> WsgiAnswer:
    """GET through a new WSGI application, which reads the settings (DEBUG, STATIC_ROOT) as the
    web process does at start; the test's transaction is kept open as the test client does."""
    environ = {"PATH_INFO": path, "HTTP_HOST": host, "wsgi.input": io.BytesIO()}
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    setup_testing_defaults(environ)
    answer: dict[str, object] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: object):
        answer.update(status=status, headers=response_headers)

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = WSGIHandler()(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return WsgiAnswer(answer["status"], answer["headers"], body)


@pytest.fixture
def collected(tmp_path: Path) -> Iterator[Path]:
    """Every app's static files gathered as `make demo` does, DEBUG off as in production."""
    with override_settings(STATIC_ROOT=tmp_path / "static", DEBUG=False):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield tmp_path / "static"


def test_the_admin_stylesheet_is_served_by_the_web_process_with_debug_off(db, collected):
    answer = wsgi_get("/static/admin/css/base.css", "acme.localhost")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert answer.body == (collected / "admin" / "css" / "base.css").read_bytes()
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_compressed_copy_goes_to_clients_that_accept_it(db, collected):
    answer = wsgi_get("/static/admin/js/core.js", "localhost", accept_encoding="gzip")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["content-encoding"] == "gzip"


def test_an_unknown_static_file_is_a_404(db, collected):
    assert wsgi_get("/static/admin/css/nothing-here.css", "localhost").status_code == 404


def test_production_serves_hashed_names_cached_for_good(db, tmp_path):
    """Production's storage: content-hashed names (a new release never meets an old cached
    copy), so browsers may keep them forever. Collected from one small folder to stay quick."""
    source = tmp_path / "source" / "hub"
    source.mkdir(parents=True)
    (source / "portal.css").write_text("body { margin: 0 }\n" * 100)
    with override_settings(
        STATIC_ROOT=tmp_path / "static",
        STATICFILES_DIRS=[tmp_path / "source"],
        STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"],
        STORAGES={"staticfiles": {"BACKEND": MANIFEST_STORAGE}},
        DEBUG=False,
    ):
        call_command("collectstatic", "--noinput", verbosity=0)
        url = static("hub/portal.css")
        answer = wsgi_get(url, "localhost", accept_encoding="gzip")

    assert re.fullmatch(r"/static/hub/portal\.[0-9a-f]{12}\.css", url)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert answer.headers["content-encoding"] in ("gzip", "br")
    assert "immutable" in answer.headers["cache-control"]


ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_the_api_docs_page_loads_only_the_hubs_own_static_files(db, collected):
    page = wsgi_get("/api/docs/", "acme.localhost")

    assert page.status_code == 200
    html = page.body.decode()
    assets = ASSET.findall(html)
    assert {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"} <= {
        asset.rsplit("/", 1)[-1] for asset in assets
    }
    assert all(asset.startswith("/static/drf_spectacular_sidecar/") for asset in assets), assets
    assert "://" not in html.replace("http://www.w3.org/", "")
    for asset in assets:
        assert wsgi_get(asset, "acme.localhost").status_code == 200, asset
