"""The hub's WSGI application: store webhooks go through `WebhookLane`, the rest through Django.

Called as the server calls it (a WSGI environ, `start_response`), so the lane, not the test
client's own handler, answers.
"""

from __future__ import annotations

import io
import json

import pytest
import redis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from core.middleware import WEBHOOK_FAILURES_KEY
from inbox.models import InboxItem
from integration_hub.wsgi import application
from tests.support.stores import WEBHOOK_HOST

ORDER = json.dumps({"id": "7001", "order_id": "NW-7001"}).encode()


def call(path: str, body: bytes = ORDER, *, method: str = "POST", host: str = WEBHOOK_HOST,
         **headers: str) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json", "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.errors": io.StringIO(),
        "HTTP_X_WEBHOOK_ENTITY": "order", "HTTP_X_WEBHOOK_ACTION": "add", **headers,
    }  # fmt: skip
    answered: dict = {}

    def start_response(status: str, header_list: list, exc_info=None) -> None:
        answered["status"], answered["headers"] = int(status.split()[0]), dict(header_list)

    result = application(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return answered["status"], answered["headers"], content


@pytest.fixture
def django_cycles() -> list[str]:
    """Paths Django's request cycle started for. As in Django's test client, the cycle leaves
    the test's connection (and its transaction) open."""
    started: list[str] = []

    def note(sender, environ, **kwargs) -> None:
        started.append(environ["PATH_INFO"])

    request_started.connect(note)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield started
    request_started.disconnect(note)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_a_webhook_is_stored_and_answered_without_djangos_request_cycle(store, django_cycles):
    status, headers, content = call(f"/webhooks/api2cart/{store.webhook_token}/")

    assert status == 200
    assert json.loads(content)["status"] == "accepted"
    assert headers["Content-Length"] == str(len(content))
    assert (headers["X-Content-Type-Options"], headers["X-Frame-Options"]) == ("nosniff", "DENY")
    assert InboxItem.objects.get().entity_id == "7001"
    assert django_cycles == []


def test_refusals_are_the_views_own(store, django_cycles):
    assert call("/webhooks/api2cart/no-such-token/")[0] == 404
    assert call(f"/webhooks/api2cart/{store.webhook_token}/", b"[1]")[0] == 400
    assert not InboxItem.objects.exists()
    assert django_cycles == []


def test_a_nul_in_a_header_is_left_to_django_which_refuses_it(store, django_cycles):
    path = f"/webhooks/api2cart/{store.webhook_token}/"

    status, _, content = call(path, HTTP_X_WEBHOOK_ID="a\x00b")

    assert status == 400 and b"NUL" in content
    assert django_cycles == [path]
    assert not InboxItem.objects.exists()


def test_other_requests_and_other_hosts_go_through_django(store, django_cycles):
    path = f"/webhooks/api2cart/{store.webhook_token}/"

    assert call(path, method="GET")[0] == 405
    call(path, host="acme.localhost")
    assert call("/healthz", method="GET")[0] == 200

    assert django_cycles == [path, path, "/healthz"]


def test_an_exception_is_djangos_500_and_noted_for_the_webhook_health_check(
    store, django_cycles, monkeypatch
):
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete(WEBHOOK_FAILURES_KEY)

    def broken(delivery):
        raise RuntimeError("storage broke")

    monkeypatch.setattr("inbox.webhooks.store_event", broken)
    try:
        status, _, _ = call(f"/webhooks/api2cart/{store.webhook_token}/")
        assert status == 500
        assert broker.get(WEBHOOK_FAILURES_KEY) is not None
    finally:
        broker.delete(WEBHOOK_FAILURES_KEY)
    assert django_cycles == []
