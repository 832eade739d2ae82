"""API2Cart accounts and stores for the inbox and store-connection tests, a sandbox per module,
webhooks posted the way API2Cart posts them, and a receiver for what the sandbox sends.

A pytest plugin (tests/conftest.py loads it): its fixtures are everyone's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from sandbox import demo_data
from sandbox.testing import SandboxHandle, start_sandbox
from tenants.models import Api2CartAccount, Store

WEBHOOK_HOST = "localhost"


@pytest.fixture
def hub_address(settings) -> None:
    """Callbacks registered during tests point at a closed port, never at a running demo hub."""
    settings.HUB_PUBLIC_URL = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    yield handle
    handle.stop()


@pytest.fixture
def account(db, hub_address) -> Api2CartAccount:
    """An account no test reaches over the network (webhook tests need none)."""
    return Api2CartAccount.objects.create(
        name="offline", base_url="http://127.0.0.1:9/api2cart/v1.1", api_key="offline-key"
    )


@pytest.fixture
def sandbox_account(db, sandbox, hub_address) -> Api2CartAccount:
    return Api2CartAccount.objects.create(
        name="sandbox",
        base_url=sandbox.api_url("api2cart"),
        api_key=demo_data.API2CART_API_KEY,
    )


def make_store(account: Api2CartAccount, name: str = "northwind", **fields) -> Store:
    demo = demo_data.store(name)
    values = {
        "name": f"{name}-test",
        "display_name": f"{demo.display_name} (test)",
        "platform": demo.cart_id,
        "url": demo.url,
        "account": account,
        "store_key": demo.store_key,
    }
    return Store.objects.create(**{**values, **fields})


@pytest.fixture
def store(account) -> Store:
    return make_store(account)


@pytest.fixture
def sandbox_store(sandbox_account) -> Store:
    return make_store(sandbox_account)


def post_webhook(
    store_or_token: Store | str,
    body: bytes | dict | None = None,
    *,
    entity: str = "order",
    action: str = "add",
    client: Client | None = None,
    **headers: str,
):
    """POST like API2Cart does: JSON body plus the X-Webhook-* headers (HTTP_X_WEBHOOK_...)."""
    token = store_or_token.webhook_token if isinstance(store_or_token, Store) else store_or_token
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    meta = {
        "HTTP_HOST": WEBHOOK_HOST,
        "HTTP_X_WEBHOOK_STORE_ID": "1",
        "HTTP_X_WEBHOOK_ENTITY": entity,
        "HTTP_X_WEBHOOK_ACTION": action,
        "HTTP_X_WEBHOOK_ERROR_CODE": "0",
        **headers,
    }
    return (client or Client()).post(
        f"/webhooks/api2cart/{token}/",
        data=body or b"",
        content_type="application/json",
        **meta,
    )


class CapturedRequests:
    """A throwaway HTTP receiver recording what the sandbox POSTs (headers as sent, raw body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        captured = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with captured.arrived:
                    captured.requests.append((dict(self.headers.items()), body))
                    captured.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
        return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[CapturedRequests]:
    captured = CapturedRequests()
    yield captured
    captured.close()
