"""The sandbox core over real HTTP: control API, faults, persistence and webhook faults."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from sandbox import demo_data
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox
from tests.sandbox.test_m3_fake import M3

HEADERS = {
    "x-api-key": demo_data.API2CART_API_KEY,
    "x-store-key": demo_data.store("northwind").store_key,
}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("core-sandbox")


@pytest.fixture(scope="module")
def sandbox(state_dir: Path) -> Iterator[SandboxHandle]:
    handle = start_sandbox(state_dir)
    yield handle
    handle.stop()


@pytest.fixture
def clean(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    sandbox.reset()
    yield sandbox
    sandbox.control("api2cart", "faults", clear=True)


def cart_info(sandbox: SandboxHandle, timeout: float = 10) -> requests.Response:
    url = f"{sandbox.api_url('api2cart')}/cart.info.json"
    return requests.get(url, headers=HEADERS, timeout=timeout)


class Receiver:
    """Records webhook bodies posted to it."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[bytes] = queue.Queue()
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.put(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def drain(self, wait: float) -> list[bytes]:
        time.sleep(wait)
        found = []
        while not self.bodies.empty():
            found.append(self.bodies.get())
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def subscribe(sandbox: SandboxHandle, callback: str) -> None:
    url = f"{sandbox.api_url('api2cart')}/webhook.create.json"
    body = {"entity": "order", "action": "add", "callback": callback}
    assert requests.post(url, json=body, headers=HEADERS).json()["return_code"] == 0


def test_status_merges_every_fake(sandbox: SandboxHandle) -> None:
    status = sandbox.status()
    assert status["api2cart"]["stores"] == len(demo_data.STORES)
    assert status["sandbox"]["webhooks_sent"] >= 0
    assert all(isinstance(counts, dict) for counts in status.values())


def test_status_counts_m3_calls_by_transaction_and_the_cli_prints_them(
    sandbox: SandboxHandle,
) -> None:
    m3 = M3(sandbox, "acme")
    m3.get("CRS610MI", "LstBySearchKey", ALCU="ZZZZZZZZZZ")
    m3.bulk({"program": "OIS100MI", "transactions": [
        {"transaction": "GetHead", "record": {"ORNO": "1"}},
        {"transaction": "LstLine", "record": {"ORNO": "1"}},
    ]})  # fmt: skip

    counted = sandbox.status()["m3"]["calls_by_transaction"]
    assert counted["CRS610MI/LstBySearchKey"] >= 1
    assert counted["OIS100MI/bulk GetHead+LstLine"] >= 1
    printed = subprocess.run(
        [sys.executable, "-m", "sandbox", "--url", sandbox.url, "status"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    assert "calls_by_transaction" in printed and "OIS100MI/bulk GetHead+LstLine" in printed


def test_control_errors_are_clear(sandbox: SandboxHandle) -> None:
    with pytest.raises(SandboxError, match="Unknown upstream"):
        sandbox.control("nowhere", "faults", latency_ms=1)
    with pytest.raises(SandboxError, match="Unknown fault"):
        sandbox.control("api2cart", "faults", explode=1)
    with pytest.raises(SandboxError, match="between 0 and 1"):
        sandbox.control("api2cart", "faults", error_rate=2)
    with pytest.raises(SandboxError, match="Unknown api2cart action"):
        sandbox.control("api2cart", "teleport")
    with pytest.raises(SandboxError, match="Unknown store"):
        sandbox.control("api2cart", "place-orders", store="atlantis")
    assert requests.get(f"{sandbox.url}/nothing/here").status_code == 404


def test_fail_next_is_deterministic(clean: SandboxHandle) -> None:
    clean.control("api2cart", "faults", fail_next=2)
    assert [cart_info(clean).status_code for _ in range(3)] == [503, 503, 200]


def test_rate_429_and_error_rate(clean: SandboxHandle) -> None:
    clean.control("api2cart", "faults", rate_429=1)
    answer = cart_info(clean)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    clean.control("api2cart", "faults", rate_429=0, error_rate=1)
    assert cart_info(clean).status_code == 500
    clean.control("api2cart", "faults", clear=True)
    assert cart_info(clean).json()["return_code"] == 0


def test_latency_and_timeouts(clean: SandboxHandle) -> None:
    clean.control("api2cart", "faults", latency_ms=300)
    started = time.monotonic()
    assert cart_info(clean).status_code == 200
    assert time.monotonic() - started >= 0.3
    clean.control("api2cart", "faults", latency_ms=0, timeout_rate=1, timeout_seconds=0.2)
    with pytest.raises(requests.ConnectionError):
        cart_info(clean, timeout=5)


def test_faults_are_per_upstream(clean: SandboxHandle) -> None:
    clean.control("api2cart", "faults", fail_next=1)
    assert requests.get(f"{clean.url}/_control/status").status_code == 200
    assert cart_info(clean).status_code == 503


def test_state_survives_a_restart_and_reset_reseeds(tmp_path: Path) -> None:
    with start_sandbox(tmp_path) as first:
        placed = first.control("api2cart", "place-orders", store="northwind", count=3)
    with start_sandbox(tmp_path) as second:
        assert second.status()["api2cart"]["orders"] == 3
        url = f"{second.api_url('api2cart')}/order.info.json"
        order_id = placed["orders"][0]["order_id"]
        info = requests.get(url, params={"order_id": order_id}, headers=HEADERS).json()
        assert info["result"]["order_id"] == order_id
        second.reset()
        assert second.status()["api2cart"]["orders"] == 0
        assert second.status()["api2cart"]["products"] > 0


def test_duplicate_webhooks(clean: SandboxHandle, receiver: Receiver) -> None:
    subscribe(clean, receiver.url)
    clean.control("api2cart", "faults", duplicate_webhooks=1)
    placed = clean.control("api2cart", "place-orders", store="northwind", count=1)["orders"]
    bodies = receiver.drain(0.8)
    assert [json.loads(b)["order_id"] for b in bodies] == [placed[0]["order_id"]] * 2
    assert clean.status()["sandbox"]["webhooks_duplicated"] >= 1


def test_dropped_webhooks_are_recorded(clean: SandboxHandle, receiver: Receiver) -> None:
    subscribe(clean, receiver.url)
    clean.control("api2cart", "faults", drop_webhooks=1)
    placed = clean.control("api2cart", "place-orders", store="northwind", count=2)["orders"]
    assert receiver.drain(0.8) == []
    url = f"{clean.api_url('api2cart')}/account.failed_webhooks.json"
    failed = requests.get(url, headers={"x-api-key": demo_data.API2CART_API_KEY}).json()
    assert {f["entity_id"] for f in failed["result"]["webhook"]} == {p["id"] for p in placed}
