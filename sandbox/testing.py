"""Start a real sandbox process for tests and benchmarks, and drive its control API.

Tests talk to the sandbox over real HTTP exactly as the hub does, so the sandbox runs as a
subprocess (`python -m sandbox serve`) on a free port with its own state directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from sandbox.core import READY_MARKER

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_SECONDS = 30.0


class SandboxError(RuntimeError):
    """The sandbox is unreachable or refused a control action."""


def control_request(base_url: str, path: str, payload: dict | None = None) -> dict:
    """POST (or GET when payload is None) to the control API and return the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/_control/{path}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="GET" if payload is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or exc.reason
        except (ValueError, AttributeError):
            message = exc.reason
        raise SandboxError(f"{path}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SandboxError(f"Sandbox not reachable at {base_url}: {reason}") from None


class SandboxHandle:
    """A running sandbox subprocess; stop it with `.stop()` or by leaving the `with` block."""

    def __init__(self, process: subprocess.Popen, url: str, state_dir: Path) -> None:
        self.process = process
        self.url = url
        self.state_dir = state_dir
        self.log_path = state_dir / "sandbox.log"

    def api_url(self, upstream: str) -> str:
        """Base URL a connector should use for one upstream."""
        paths = {"api2cart": "/api2cart/v1.1", "shipstation": "/shipstation", "m3": "/ion"}
        return self.url + paths[upstream]

    def control(self, upstream: str, action: str, **payload: Any) -> dict:
        return control_request(self.url, f"{upstream}/{action}", payload)

    def status(self) -> dict:
        return control_request(self.url, "status")

    def reset(self) -> dict:
        return control_request(self.url, "reset", {})

    # What a store does to an order after the hub imported it (each fires order.update).
    # `order_id` is the order number or the id that place-orders returned; `lines` map SKUs
    # to quantities.

    def cancel_store_order(
        self, order_id: str, store: str | None = None, reason: str | None = None
    ) -> dict:
        return self._change_store_order("cancel-order", order_id, store, reason=reason)

    def refund_store_order(
        self,
        order_id: str,
        store: str | None = None,
        *,
        amount: float | str | None = None,
        lines: dict[str, int] | None = None,
        shipping: float | str | None = None,
        comment: str | None = None,
    ) -> dict:
        """A full refund when no amount, lines or shipping are given."""
        return self._change_store_order(
            "refund-order",
            order_id,
            store,
            amount=amount,
            lines=_sku_lines(lines) if lines else None,
            shipping=shipping,
            comment=comment,
        )

    def readdress_store_order(
        self, order_id: str, store: str | None = None, **address: str
    ) -> dict:
        """`address`: name, address1, address2, city, postcode, country, region; none given
        moves the order to another UK address."""
        return self._change_store_order("readdress-order", order_id, store, **address)

    def edit_store_order_lines(
        self, order_id: str, lines: dict[str, int], store: str | None = None
    ) -> dict:
        return self._change_store_order(
            "edit-order-lines", order_id, store, lines=_sku_lines(lines)
        )

    def shipstation_order_history(self, order: str | int, account: str | None = None) -> dict:
        """The ShipStation order, its status changes and the cancel upserts for its key."""
        payload: dict[str, Any] = {"order": str(order)}
        if account:
            payload["account"] = account
        return self.control("shipstation", "order-history", **payload)

    def _change_store_order(
        self, action: str, order_id: str, store: str | None, **fields: Any
    ) -> dict:
        payload = {name: value for name, value in fields.items() if value is not None}
        if store:
            payload["store"] = store
        return self.control("api2cart", action, order_id=str(order_id), **payload)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(
    state_dir: Path, port: int = 0, hub_url: str = "http://localhost:8000"
) -> SandboxHandle:
    """Start `python -m sandbox serve` and wait until it reports its URL.

    Port 0 lets the child bind a free port itself (no race) and print it; its log goes to
    `state_dir/sandbox.log`.
    """
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = (state_dir / "sandbox.log").open("ab")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--state-dir",
            str(state_dir),
            "--hub-url",
            hub_url,
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log_file,
    )
    log_file.close()
    url = _wait_for_ready(process, state_dir)
    handle = SandboxHandle(process, url, state_dir)
    threading.Thread(target=_drain, args=(process,), daemon=True).start()
    return handle


def _wait_for_ready(process: subprocess.Popen, state_dir: Path) -> str:
    found: list[str] = []

    def read_marker() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace").strip()
            if line.startswith(READY_MARKER):
                found.append(line.split()[1])
                return

    reader = threading.Thread(target=read_marker, daemon=True)
    reader.start()
    reader.join(STARTUP_TIMEOUT_SECONDS)
    if not found:
        process.kill()
        process.wait()
        log_tail = (state_dir / "sandbox.log").read_text(errors="replace")[-2000:]
        raise SandboxError(f"Sandbox did not start within {STARTUP_TIMEOUT_SECONDS}s:\n{log_tail}")
    url = found[0]
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            control_request(url, "status")
            return url
        except SandboxError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _drain(process: subprocess.Popen) -> None:
    """Keep reading stdout so the child never blocks on a full pipe."""
    if process.stdout is None:
        return
    try:
        for _ in process.stdout:
            pass
    except (OSError, ValueError):
        return


def _sku_lines(lines: dict[str, int]) -> list[dict]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()]
