"""Fixtures for the connector tests: one real sandbox process over HTTP, and Redis DB 15.

No Django: these tests run with `-p no:django`. Redis keys all start with "test:".
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from sandbox.testing import SandboxHandle, start_sandbox

REDIS_URL = os.environ.get("CONNECTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
UPSTREAMS = ("api2cart", "m3", "shipstation")
NO_LIMIT = 100_000


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(autouse=True)
def _calm_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts without faults and without ShipStation's 40/min (tests set their own)."""
    if "sandbox" not in request.fixturenames:
        yield
        return
    handle: SandboxHandle = request.getfixturevalue("sandbox")
    _calm(handle)
    yield
    _calm(handle)


def _calm(handle: SandboxHandle) -> None:
    running = set(handle.status())
    for upstream in UPSTREAMS:
        if upstream in running:
            handle.control(upstream, "faults", clear=True)
    if "shipstation" in running:
        handle.control("shipstation", "set-rate-limit", limit=NO_LIMIT)


@pytest.fixture
def redis_prefix() -> str:
    """A fresh key prefix per test, so tests never share limiter state."""
    return f"test:{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def redis_client(redis_prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    yield client
    for key in client.scan_iter(f"{redis_prefix}*"):
        client.delete(key)
    client.close()


class _Capture(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(
            {"headers": dict(self.headers), "body": json.loads(body) if body else None}
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        return


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[dict]]]:
    """A local HTTP endpoint recording what the sandbox posts: (url, [{headers, body}])."""
    handler = type("Capture", (_Capture,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks", handler.received
    finally:
        server.shutdown()
        server.server_close()


def wait_for(received: list, count: int, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return received
