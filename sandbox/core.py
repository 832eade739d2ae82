"""The sandbox's shared machinery: HTTP server, SQLite state, faults, webhooks and control API.

One process serves every fake (API2Cart, ION/M3, ShipStation) behind a path prefix, so the hub,
the demo and the end-to-end tests talk to upstreams over real HTTP without any credentials.
The interface the fakes implement is described in docs/sandbox-design.md.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import queue
import random
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("sandbox")

FAKE_MODULES = (
    "sandbox.api2cart.fake",
    "sandbox.m3.fake",
    "sandbox.shipstation.fake",
)

READY_MARKER = "SANDBOX_READY"
WEBHOOK_TIMEOUT_SECONDS = 5.0
WEBHOOK_WORKERS = 4


@dataclass
class SandboxRequest:
    """One upstream HTTP request, already parsed so fakes never touch the socket."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; an empty body reads as an empty object."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"Invalid JSON body: {exc}") from exc

    def form(self) -> dict[str, str]:
        """An application/x-www-form-urlencoded body (last value wins)."""
        pairs = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in pairs.items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        """Last value of a query parameter: what most servers do with repeated keys."""
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class SandboxResponse:
    status: int = 200
    body: bytes | str | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, default=str).encode("utf-8")


class ControlError(Exception):
    """Bad input to a control action; reported to the CLI as a 400 with the message."""


class Fake(Protocol):
    name: str
    prefix: str

    def __init__(self, sandbox: Sandbox) -> None: ...
    def create_schema(self) -> None: ...
    def seed(self) -> None: ...
    def handle(self, req: SandboxRequest) -> SandboxResponse: ...
    def control(self, action: str, payload: dict) -> dict: ...
    def status(self) -> dict[str, int]: ...


class SandboxDB:
    """One SQLite connection shared by all threads; a re-entrant lock serialises access.

    SQLite allows a single writer anyway, and one connection avoids "database is locked"
    retries, so a lock is both the simplest and the fastest option for a local fake.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; nested calls join the outer transaction."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def drop_all(self) -> None:
        with self.transaction() as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            for table in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{table}"')

    def close(self) -> None:
        with self._lock:
            self._conn.close()


FAULT_SHARES = ("error_rate", "rate_429", "timeout_rate", "duplicate_webhooks", "drop_webhooks")
FAULT_NUMBERS = ("latency_ms", "timeout_seconds", "fail_next")
FAULT_DEFAULTS: dict[str, float] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "rate_429": 0.0,
    "timeout_rate": 0.0,
    "timeout_seconds": 10,
    "fail_next": 0,
    "duplicate_webhooks": 0.0,
    "drop_webhooks": 0.0,
}


class Faults:
    """Per-upstream fault settings, kept in memory: a restart clears them, like a reset.

    Every upstream has the shared faults of `FAULT_DEFAULTS`; a fake may add its own (numbers,
    0 = off) through an `extra_faults` mapping of names to defaults, read with `get`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: dict[str, dict[str, float]] = {}
        self._extra: dict[str, dict[str, float]] = {}
        self._random = random.Random()

    def register(self, upstream: str, extra: dict[str, float]) -> None:
        """The upstream's own faults, next to the shared ones."""
        with self._lock:
            self._extra[upstream] = dict(extra)

    def _defaults(self, upstream: str) -> dict[str, float]:
        return {**FAULT_DEFAULTS, **self._extra.get(upstream, {})}

    def get(self, upstream: str) -> dict[str, float]:
        with self._lock:
            return dict(self._settings.get(upstream) or self._defaults(upstream))

    def update(self, upstream: str, payload: dict) -> dict[str, float]:
        if payload.get("clear"):
            with self._lock:
                self._settings.pop(upstream, None)
                return self._defaults(upstream)
        with self._lock:
            defaults = self._defaults(upstream)
        changes: dict[str, float] = {}
        for key, raw in payload.items():
            if key not in defaults:
                known = ", ".join(defaults)
                raise ControlError(f"Unknown fault {key!r}; known faults: {known}")
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ControlError(f"Fault {key} needs a number, got {raw!r}") from None
            if key in FAULT_SHARES and not 0 <= value <= 1:
                raise ControlError(f"Fault {key} is a share between 0 and 1, got {raw!r}")
            if value < 0:
                raise ControlError(f"Fault {key} cannot be negative")
            changes[key] = value
        with self._lock:
            current = self._settings.setdefault(upstream, defaults)
            current.update(changes)
            return dict(current)

    def chance(self, share: float) -> bool:
        return share >= 1 or (share > 0 and self._random.random() < share)

    def take_fail_next(self, upstream: str) -> bool:
        """Consume one deterministic failure, if any are pending."""
        with self._lock:
            current = self._settings.get(upstream)
            if not current or current["fail_next"] < 1:
                return False
            current["fail_next"] -= 1
            return True

    def clear(self) -> None:
        with self._lock:
            self._settings.clear()


class RequestDropped(Exception):
    """Raised by the timeout fault: the connection is closed without any answer."""


@dataclass
class _Delivery:
    upstream: str
    url: str
    headers: dict[str, str]
    body: bytes
    on_failure: Callable[[str], None] | None
    on_success: Callable[[], None] | None


class Sandbox:
    """Owns the state, the fakes, the faults and the webhook emitter for one sandbox process."""

    def __init__(
        self,
        state_dir: Path,
        base_url: str = "http://127.0.0.1:8900",
        hub_url: str = "http://localhost:8000",
    ) -> None:
        self.state_dir = Path(state_dir)
        self.base_url = base_url.rstrip("/")
        self.hub_url = hub_url.rstrip("/")
        self.db = SandboxDB(self.state_dir / "sandbox.sqlite3")
        self.faults = Faults()
        self._fake_classes = load_fake_classes()
        self.fakes: dict[str, Fake] = {}
        self._webhooks: queue.Queue[_Delivery | None] = queue.Queue()
        self._webhook_threads: list[threading.Thread] = []
        self._webhook_stats = {"sent": 0, "failed": 0, "dropped": 0, "duplicated": 0}
        self._stats_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._in_flight_peak: dict[str, int] = {}
        self._start_fakes()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def _start_fakes(self) -> None:
        self.fakes = {}
        for cls in self._fake_classes:
            try:
                fake = cls(self)
                self.faults.register(fake.name, dict(getattr(fake, "extra_faults", {})))
                fake.create_schema()
                fake.seed()
            except Exception:
                log.exception("Sandbox fake %s failed to start; skipping it", cls.__name__)
                continue
            self.fakes[fake.name] = fake

    def reset(self) -> dict:
        """Drop every table and reseed; fresh fake instances also forget in-memory state."""
        self.faults.clear()
        self.db.drop_all()
        self._start_fakes()
        return {"reset": True, "fakes": sorted(self.fakes)}

    def fake_for(self, path: str) -> Fake | None:
        for fake in self.fakes.values():
            if path.startswith(fake.prefix):
                return fake
        return None

    def status(self) -> dict[str, Any]:
        merged: dict[str, Any] = {name: fake.status() for name, fake in self.fakes.items()}
        with self._stats_lock:
            merged["sandbox"] = {
                f"webhooks_{key}": value for key, value in self._webhook_stats.items()
            }
            merged["sandbox"]["in_flight_peak"] = dict(self._in_flight_peak)
        merged["sandbox"]["webhooks_queued"] = self._webhooks.qsize()
        return merged

    @contextmanager
    def in_flight(self, upstream: str) -> Iterator[None]:
        """Counts the calls being answered per upstream and keeps the peak, so a benchmark can
        tell whether the hub's waits overlap (`status()["sandbox"]["in_flight_peak"]`)."""
        with self._stats_lock:
            now = self._in_flight[upstream] = self._in_flight.get(upstream, 0) + 1
            self._in_flight_peak[upstream] = max(now, self._in_flight_peak.get(upstream, 0))
        try:
            yield
        finally:
            with self._stats_lock:
                self._in_flight[upstream] -= 1

    def control(self, upstream: str, action: str, payload: dict) -> dict:
        if upstream not in self.fakes:
            raise LookupError(f"Unknown upstream {upstream!r}; running: {', '.join(self.fakes)}")
        if action == "faults":
            return {"upstream": upstream, "faults": self.faults.update(upstream, payload)}
        return self.fakes[upstream].control(action, payload)

    def apply_request_faults(self, upstream: str) -> SandboxResponse | None:
        """Latency first, then at most one failure; None lets the fake answer."""
        if self.faults.take_fail_next(upstream):
            return _fault_response(503, "Service Unavailable (sandbox fault fail_next)")
        settings = self.faults.get(upstream)
        if settings["latency_ms"] > 0:
            time.sleep(settings["latency_ms"] / 1000)
        if self.faults.chance(settings["timeout_rate"]):
            time.sleep(settings["timeout_seconds"])
            raise RequestDropped
        if self.faults.chance(settings["rate_429"]):
            response = _fault_response(429, "Too Many Requests (sandbox fault rate_429)")
            response.headers["Retry-After"] = "1"
            return response
        if self.faults.chance(settings["error_rate"]):
            return _fault_response(500, "Internal Server Error (sandbox fault error_rate)")
        return None

    def emit_webhook(
        self,
        upstream: str,
        url: str,
        headers: dict[str, str],
        body: bytes | str | dict | list | None,
        on_failure: Callable[[str], None] | None = None,
        on_success: Callable[[], None] | None = None,
    ) -> None:
        """Queue a POST to `url`; delivery happens on a background thread.

        The drop/duplicate faults of `upstream` apply here. `on_failure` gets a short reason when
        the receiver fails or the delivery is dropped; `on_success` lets a fake reset its
        failure counts.
        """
        payload = SandboxResponse(body=body).encoded()
        self._webhooks.put(_Delivery(upstream, url, dict(headers), payload, on_failure, on_success))

    def start_webhook_workers(self) -> None:
        for n in range(WEBHOOK_WORKERS):
            worker = threading.Thread(
                target=self._deliver_loop, name=f"sandbox-webhooks-{n}", daemon=True
            )
            worker.start()
            self._webhook_threads.append(worker)

    def stop_webhook_workers(self) -> None:
        for _ in self._webhook_threads:
            self._webhooks.put(None)
        for worker in self._webhook_threads:
            worker.join(timeout=WEBHOOK_TIMEOUT_SECONDS + 1)
        self._webhook_threads.clear()

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self._webhook_stats[key] += 1

    def _deliver_loop(self) -> None:
        while (delivery := self._webhooks.get()) is not None:
            try:
                self._deliver(delivery)
            except Exception:
                log.exception("Webhook callback raised for %s", delivery.url)

    def _deliver(self, delivery: _Delivery) -> None:
        settings = self.faults.get(delivery.upstream)
        if self.faults.chance(settings["drop_webhooks"]):
            self._count("dropped")
            log.info("Dropped webhook to %s (fault)", delivery.url)
            if delivery.on_failure:
                delivery.on_failure("dropped by sandbox fault drop_webhooks")
            return
        attempts = 2 if self.faults.chance(settings["duplicate_webhooks"]) else 1
        if attempts == 2:
            self._count("duplicated")
        for _ in range(attempts):
            error = _post(delivery.url, delivery.headers, delivery.body)
            if error is None:
                self._count("sent")
                if delivery.on_success:
                    delivery.on_success()
            else:
                self._count("failed")
                log.info("Webhook to %s failed: %s", delivery.url, error)
                if delivery.on_failure:
                    delivery.on_failure(error)


def _post(url: str, headers: dict[str, str], body: bytes) -> str | None:
    """POST once; returns None on a 2xx answer, otherwise the reason."""
    all_headers = {"Content-Type": "application/json", "User-Agent": "integration-hub-sandbox"}
    all_headers.update(headers)
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as answer:
            answer.read()
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"


def _fault_response(status: int, message: str) -> SandboxResponse:
    return SandboxResponse(status=status, body={"error": message})


def load_fake_classes() -> list[type]:
    """Import every known fake module; a missing one is skipped so each fake runs alone."""
    classes = []
    for module_name in FAKE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            log.warning("Sandbox fake %s not installed; skipping it", module_name)
            continue
        except Exception:
            log.exception("Sandbox fake %s failed to import; skipping it", module_name)
            continue
        found = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and obj.__module__ == module.__name__
            and all(hasattr(obj, attr) for attr in ("name", "prefix", "handle", "control"))
        ]
        if not found:
            log.warning("No Fake class found in %s; skipping it", module_name)
        classes.extend(found)
    return classes


class SandboxHandler(BaseHTTPRequestHandler):
    """Routes `/_control/...` to the control API and every other path to a fake by prefix."""

    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def setup(self) -> None:
        """Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm
        plus delayed ACKs add ~40 ms to every keep-alive response."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_request(self) -> SandboxRequest:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return SandboxRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        req = self._read_request()
        try:
            if req.path.startswith("/_control/"):
                response = self._control(req)
            elif (fake := sandbox.fake_for(req.path)) is None:
                response = SandboxResponse(404, {"error": f"No sandbox fake serves {req.path}"})
            else:
                with sandbox.in_flight(fake.name):
                    response = sandbox.apply_request_faults(fake.name) or fake.handle(req)
        except RequestDropped:
            self.close_connection = True
            return
        except Exception as exc:
            log.exception("Sandbox error on %s %s", req.method, req.path)
            response = SandboxResponse(500, {"error": f"Sandbox internal error: {exc}"})
        self._send(response)

    def _control(self, req: SandboxRequest) -> SandboxResponse:
        sandbox = self.server.sandbox
        route = req.path.removeprefix("/_control/").strip("/").split("/")
        if route == ["status"]:
            return SandboxResponse(body=sandbox.status())
        if req.method != "POST":
            return SandboxResponse(405, {"error": "Control actions are POST requests"})
        if route == ["reset"]:
            return SandboxResponse(body=sandbox.reset())
        if len(route) != 2:
            return SandboxResponse(404, {"error": f"Unknown control path {req.path}"})
        try:
            payload = req.json()
        except ValueError as exc:
            return SandboxResponse(400, {"error": str(exc)})
        if not isinstance(payload, dict):
            return SandboxResponse(400, {"error": "Control payload must be a JSON object"})
        try:
            return SandboxResponse(body=sandbox.control(route[0], route[1], payload))
        except LookupError as exc:
            return SandboxResponse(404, {"error": str(exc.args[0] if exc.args else exc)})
        except ControlError as exc:
            return SandboxResponse(400, {"error": str(exc)})

    def _send(self, response: SandboxResponse) -> None:
        payload = response.encoded()
        self.send_response(response.status)
        content_type = response.content_type
        if content_type.startswith(("application/json", "text/")) and "charset" not in content_type:
            content_type += "; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        super().__init__(address, SandboxHandler)
        self.sandbox = sandbox


def serve(
    host: str = "127.0.0.1",
    port: int = 8900,
    state_dir: Path = Path("var/sandbox"),
    hub_url: str = "http://localhost:8000",
) -> None:
    """Run the sandbox until interrupted: the body of `python -m sandbox serve`."""
    server = SandboxServer((host, port), sandbox=None)  # type: ignore[arg-type]
    bound_port = server.server_address[1]
    sandbox = Sandbox(state_dir, base_url=f"http://{host}:{bound_port}", hub_url=hub_url)
    server.sandbox = sandbox
    sandbox.start_webhook_workers()
    log.info(
        "Sandbox listening on http://%s:%s (fakes: %s, state: %s)",
        host,
        bound_port,
        ", ".join(sandbox.fakes) or "none",
        sandbox.db.path,
    )
    print(f"{READY_MARKER} {sandbox.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        log.info("Sandbox stopping")
    finally:
        server.server_close()
        sandbox.stop_webhook_workers()
        sandbox.db.close()
