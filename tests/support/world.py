"""The outside world for in-process pipeline tests: the sandbox, seen through a recording relay.

The hub's services run in the test process against the real sandbox over HTTP. The tenants'
connection settings point at `UpstreamTap`, a small relay in front of the sandbox that forwards
every request unchanged and writes down what the upstream received (M3 transactions with their
inputs, ShipStation calls with their bodies and API key). The sandbox itself keeps no such
journal, and its status only has totals.

The tap can also answer for ShipStation the way real ShipStation does and the fake does not:
refuse a whole `createorders` request because of one order in it (`refuse`).

Arranging things "already in the ERP" goes straight to the sandbox (`direct_m3`), so it is
never mistaken for something the hub did.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.ionapi import parse_ionapi
from connectors.m3 import M3Client
from connectors.ratelimit import DEFAULT_PREFIX
from core.redis_client import shared_redis
from demo.seed import configure_tenant
from orders.models import Order, OrderLine
from sandbox import demo_data
from sandbox.testing import SandboxHandle, start_sandbox
from tenant_settings.connection_clients import _m3_client
from tenant_settings.models import ConnectionSettings

TENANTS = ("acme", "globex")
NO_LIMIT = 100_000
SHIP_TO = {
    "name": "Ada Lovelace",
    "street1": "12 High St",
    "city": "Leeds",
    "postal_code": "LS1 4AP",
    "country": "GB",
    "phone": "+15551234567",
}


def sku_of(slug: str, n: int = 0) -> str:
    """A SKU the tenant's M3 knows as an item (the demo catalog is the M3 item master)."""
    return demo_data.products(slug)[n].sellable_skus[0]


# --- What an upstream received ---------------------------------------------------------------


@dataclass(frozen=True)
class Transaction:
    """One M3 transaction as M3 received it: `CRS610MI/Add` and its input fields."""

    ion_tenant: str
    name: str
    inputs: dict[str, str]


@dataclass
class Call:
    """One HTTP request that reached the relay, and the status it was answered with."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""
    status: int = 0

    @property
    def upstream(self) -> str:
        if self.path.startswith("/ion/"):
            return "m3"
        if self.path.startswith("/shipstation/"):
            return "shipstation"
        return "other"

    @cached_property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None

    @property
    def endpoint(self) -> str:
        """ShipStation's resource path, e.g. `orders/createorders`."""
        return self.path.removeprefix("/shipstation/").strip("/").lower()

    @property
    def api_key(self) -> str:
        """The ShipStation API key the call was made with (HTTP Basic user)."""
        scheme, _, encoded = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return ""
        return base64.b64decode(encoded).decode().partition(":")[0]

    @property
    def transactions(self) -> list[Transaction]:
        """The M3 transactions in this request (a bulk POST carries several); none for tokens."""
        parts = self.path.split("/")  # ["", "ion", TI, "M3", "m3api-rest", "v2", "execute", ...]
        if self.upstream != "m3" or parts[3:5] != ["M3", "m3api-rest"]:
            return []
        ti, route = parts[2], [p for p in parts[5:] if p not in ("v2", "execute")]
        if route:
            name = f"{route[0]}/{route[1].partition(';')[0]}"
            return [Transaction(ti, name, dict(self.query))]
        body = self.json or {}
        return [
            Transaction(ti, f"{body.get('program')}/{t.get('transaction')}", t.get("record") or {})
            for t in body.get("transactions") or []
        ]


Refusal = tuple[Callable[[Call], dict | None], int]


class UpstreamTap:
    """A recording relay in front of the sandbox: same paths, same answers, a journal."""

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        self._target = (target.hostname or "127.0.0.1", target.port or 80)
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._refusals: list[Refusal] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- what tests use ------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the journal and every refusal rule."""
        with self._lock:
            self._calls.clear()
            self._refusals.clear()

    def calls(self, upstream: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if upstream is None or c.upstream == upstream]

    def m3(self, ion_tenant: str | None = None) -> list[Transaction]:
        """Every M3 transaction received, in order (token requests are not transactions)."""
        return [
            t
            for call in self.calls("m3")
            for t in call.transactions
            if ion_tenant is None or t.ion_tenant == ion_tenant
        ]

    def m3_names(self, ion_tenant: str | None = None) -> list[str]:
        return [t.name for t in self.m3(ion_tenant)]

    def shipstation(self, endpoint: str | None = None) -> list[Call]:
        return [c for c in self.calls("shipstation") if endpoint is None or c.endpoint == endpoint]

    def refuse(self, rule: Callable[[Call], dict | None], status: int = 400) -> None:
        """Answer `status` with the body `rule` returns instead of relaying (None: relay)."""
        with self._lock:
            self._refusals.append((rule, status))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the relay -----------------------------------------------------------------------------

    def _answer(self, call: Call) -> tuple[int, list[tuple[str, str]], bytes] | None:
        with self._lock:
            refusals = list(self._refusals)
        for rule, status in refusals:
            body = rule(call)
            if body is not None:
                return status, [("Content-Type", "application/json")], json.dumps(body).encode()
        connection = http.client.HTTPConnection(*self._target, timeout=120)
        try:
            path = call.path + (f"?{call.raw_query}" if call.raw_query else "")
            headers = {k: v for k, v in call.headers.items() if k not in HOP_HEADERS}
            connection.request(call.method, path, body=call.body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS]
            return response.status, kept, payload
        except (OSError, http.client.HTTPException):
            return None  # the sandbox dropped the connection (timeout fault): so do we
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                call = Call(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    raw_query=parts.query,
                )
                answer = tap._answer(call)
                call.status = answer[0] if answer else 0
                with tap._lock:
                    tap._calls.append(call)
                if answer is None:
                    self.close_connection = True
                    return
                status, headers, payload = answer
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

            def log_message(self, *args: Any) -> None:
                return

        return Handler


HOP_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"}
)


# --- The world ---------------------------------------------------------------------------------


@dataclass
class World:
    sandbox: SandboxHandle
    tap: UpstreamTap
    _direct: dict[str, M3Client] = field(default_factory=dict)

    def status(self) -> dict:
        return self.sandbox.status()

    def direct_m3(self, slug: str) -> M3Client:
        """The tenant's M3 reached straight at the sandbox: for arranging and checking only."""
        if slug not in self._direct:
            tenant = demo_data.tenant(slug)
            ionapi = json.dumps(demo_data.ionapi_file(slug, self.sandbox.url))
            self._direct[slug] = M3Client(
                parse_ionapi(ionapi), company=tenant.company, division=tenant.division
            )
        return self._direct[slug]

    def calm(self) -> None:
        """No faults, no refusals, no ShipStation rate limit, an empty journal."""
        for upstream in ("m3", "shipstation"):
            self.sandbox.control(upstream, "faults", clear=True)
        self.sandbox.control("shipstation", "set-rate-limit", limit=NO_LIMIT)
        self.tap.clear()


def start_world(state_dir: Path) -> Iterator[World]:
    """A sandbox process and a tap in front of it, for one test module."""
    sandbox = start_sandbox(state_dir)
    try:
        tap = UpstreamTap(sandbox.url)
        forget_m3_clients()
        try:
            world = World(sandbox, tap)
            world.calm()
            yield world
        finally:
            tap.stop()
    finally:
        sandbox.stop()


def forget_m3_clients() -> None:
    """Drop the hub's cached M3 clients and the ION tokens they hold, which a new sandbox does
    not know. Its tap may listen on a port an earlier module's tap used: the tenants' `.ionapi`
    text is then the same, the cache hands back a client with the old sandbox's token, and the
    401 costs a resent call that tests counting M3 calls would see."""
    _m3_client.cache_clear()


def connect_tenants(world: World) -> None:
    """Point both tenants' ERP and ShipStation at the tap, with the documented defaults.

    Call it inside a test's transaction: the settings are rolled back with the test.
    """
    for slug in TENANTS:
        configure_tenant(demo_data.tenant(slug), world.tap.url)
        with schema_context(slug):
            row = ConnectionSettings.load()
            row.missing_customer_policy = ConnectionSettings.MissingCustomerPolicy.CREATE
            row.sku_is_erp_item = True
            row.erp_order_type = ""
            row.save()
        fresh_shipstation_window(slug)


def fresh_shipstation_window(slug: str) -> None:
    """Forget the hub's shared 40-per-minute ShipStation window for the tenant (test Redis).

    Other test modules use the same demo API key within the same minute; without this a test
    could wait out their calls.
    """
    client = shared_redis()
    for key in client.scan_iter(f"{DEFAULT_PREFIX}{slug}:shipstation:*"):
        client.delete(key)


def change_settings(**fields: Any) -> ConnectionSettings:
    row = ConnectionSettings.load()
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


# --- Orders as the pipeline would have left them ----------------------------------------------

_serial = itertools.count(1)


def _tag() -> str:
    return f"{next(_serial)}-{uuid.uuid4().hex[:6]}"


def order_fields(**fields: Any) -> dict[str, Any]:
    tag = _tag()
    return {
        "source": Order.Source.API,
        "store_order_id": f"t-{tag}",
        "order_number": f"T{tag}",
        "ordered_at": timezone.now(),
        "customer_email": f"shopper-{tag}@example.test",
        "currency": "EUR",
        "total": Decimal("39.98"),
        "ship_to": dict(SHIP_TO),
        **fields,
    }


def make_order(
    *, lines: list[tuple[str, str, str]] | None = None, slug: str = "acme", **fields: Any
) -> Order:
    """One order in the current schema; `lines` are (sku, quantity, unit price)."""
    order = Order.objects.create(**order_fields(**fields))
    for number, (sku, quantity, price) in enumerate(lines or [(sku_of(slug), "2", "19.99")], 1):
        OrderLine.objects.create(
            order=order,
            line_number=number,
            sku=sku,
            name=f"Item {sku}",
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
        )
    return order


def waiting_orders(count: int, slug: str = "acme", **fields: Any) -> list[Order]:
    """`count` orders in state *in ERP*, each with one line, as the ERP step leaves them."""
    orders = Order.objects.bulk_create(
        Order(
            **order_fields(
                state=Order.State.IN_ERP,
                erp_customer_number=demo_data.tenant(slug).default_customer,
                erp_order_number=str(1_000_000 + next(_serial)),
                **fields,
            )
        )
        for _ in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            line_number=1,
            sku=sku_of(slug),
            name="Widget",
            quantity=Decimal(2),
            unit_price=Decimal("19.99"),
        )
        for order in orders
    )
    return orders


def reloaded(orders: list[Order]) -> list[Order]:
    by_pk = Order.objects.in_bulk([o.pk for o in orders])
    return [by_pk[o.pk] for o in orders]
