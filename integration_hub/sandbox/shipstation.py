"""Local fake of the ShipStation API V1, served under `/shipstation/`.

It follows ../shared/contracts/shipstation.md (§9 is its checklist) so the hub's client meets the
same auth, rate limits, envelopes, error shapes, Pacific-time dates and webhook behaviour as in
production. Each demo tenant is a separate ShipStation account with its own key pair, stores,
orders and webhooks. A label is "bought" through the control action `ship` (or
`POST /orders/createlabelfororder`), which creates a shipment and fires SHIP_NOTIFY.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from integration_hub.sandbox import demo_data
from integration_hub.sandbox.core import ControlError, SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from integration_hub.sandbox.core import Sandbox

log = logging.getLogger("integration_hub.sandbox.shipstation")

PACIFIC = ZoneInfo("America/Los_Angeles")

ORDER_STATUSES = (
    "awaiting_payment",
    "awaiting_shipment",
    "pending_fulfillment",
    "shipped",
    "on_hold",
    "cancelled",
    "rejected_fulfillment",
)
UPDATABLE_STATUSES = ("awaiting_payment", "awaiting_shipment", "pending_fulfillment", "on_hold")
WEBHOOK_EVENTS = (
    "ORDER_NOTIFY",
    "ITEM_ORDER_NOTIFY",
    "SHIP_NOTIFY",
    "ITEM_SHIP_NOTIFY",
    "FULFILLMENT_SHIPPED",
    "FULFILLMENT_REJECTED",
)
# WeightUnits is read-only; ounces = 1 and grams = 2 appear in published examples.
WEIGHT_UNITS = {"ounces": 1, "grams": 2, "pounds": 3}
OUNCES_PER_UNIT = {"ounces": 1.0, "grams": 1 / 28.349523125, "pounds": 16.0}

MAX_BULK_ORDERS = 100
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
DEFAULT_RATE_LIMIT = 40
RATE_WINDOW_SECONDS = 60

MARKETPLACES = (
    {"name": "ShipStation", "marketplaceId": 0, "canRefresh": False},
    {"name": "WooCommerce", "marketplaceId": 36, "canRefresh": True},
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ss_accounts (
    slug TEXT PRIMARY KEY,
    api_key TEXT NOT NULL UNIQUE,
    api_secret TEXT NOT NULL,
    seller_id INTEGER NOT NULL,
    warehouse_id INTEGER NOT NULL,
    api_access INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS ss_stores (
    store_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    marketplace_id INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ss_orders (
    order_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    order_key TEXT NOT NULL,
    order_number TEXT NOT NULL,
    store_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    import_batch TEXT,
    order_date TEXT,
    create_date TEXT NOT NULL,
    modify_date TEXT NOT NULL,
    payment_date TEXT,
    hold_until TEXT,
    data TEXT NOT NULL,
    UNIQUE (account, order_key)
);
CREATE TABLE IF NOT EXISTS ss_customers (
    customer_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    username TEXT NOT NULL,
    UNIQUE (account, username)
);
CREATE TABLE IF NOT EXISTS ss_shipments (
    shipment_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    store_id INTEGER NOT NULL,
    batch_id INTEGER NOT NULL,
    create_date TEXT NOT NULL,
    ship_date TEXT NOT NULL,
    void_date TEXT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ss_fulfillments (
    fulfillment_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    create_date TEXT NOT NULL,
    ship_date TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ss_webhooks (
    webhook_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    event TEXT NOT NULL,
    target_url TEXT NOT NULL,
    store_id INTEGER,
    name TEXT
);
CREATE TABLE IF NOT EXISTS ss_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

# Starting values make the ids look like ShipStation's (9-digit order and shipment ids).
ID_COUNTERS = {
    "order": 104_000_000,
    "order_item": 204_000_000,
    "customer": 304_000_000,
    "shipment": 404_000_000,
    "fulfillment": 504_000_000,
    "webhook": 60_000,
    "batch": 100_000,
}


# ---------------------------------------------------------------------------
# Dates: ShipStation speaks US Pacific local time without an offset.


_DATE_INPUT = re.compile(
    r"^(?P<day>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_api_datetime(value: str) -> datetime:
    """Read a request date-time as ShipStation does; returns an aware UTC datetime.

    Accepts `yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss` and ISO forms with any fraction. Values without an
    offset are Pacific local time; a `Z` or `+hh:mm` suffix is converted (the contract leaves
    this unconfirmed, and the hub sends Pacific time without an offset anyway).
    """
    match = _DATE_INPUT.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"Could not convert string to DateTime: {value}.")
    moment = match["day"] + "T" + (match["time"] or "00:00")
    if match["fraction"]:
        moment += "." + match["fraction"][:6].ljust(6, "0")
    zone = match["zone"]
    if zone:
        moment += "+00:00" if zone == "Z" else zone
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PACIFIC)
    return parsed.astimezone(UTC)


def sort_key(moment: datetime) -> str:
    """A fixed-width UTC string, so SQL can compare and sort date columns as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def format_timestamp(moment: datetime) -> str:
    """Order and shipment timestamps: Pacific, no offset, seven fractional digits."""
    return moment.astimezone(PACIFIC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def format_store_timestamp(moment: datetime) -> str:
    """Store timestamps carry milliseconds only (`2014-12-03T11:46:11.283`)."""
    return moment.astimezone(PACIFIC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def pacific_day(moment: datetime) -> str:
    return moment.astimezone(PACIFIC).date().isoformat()


# ---------------------------------------------------------------------------
# Errors in ShipStation's ASP.NET Web API style.


class ApiError(Exception):
    """An error answer; handlers raise it and the dispatcher turns it into the response."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(body.get("Message"))
        self.status = status
        self.body = body

    @classmethod
    def invalid(cls, model_state: dict[str, list[str]]) -> ApiError:
        return cls(400, {"Message": "The request is invalid.", "ModelState": model_state})

    @classmethod
    def message(cls, status: int, text: str) -> ApiError:
        return cls(status, {"Message": text})


class QueryArgs:
    """Query parameters read case-insensitively, as ASP.NET binds them; collects bad values."""

    def __init__(self, req: SandboxRequest) -> None:
        self._values = {name.lower(): values[-1] for name, values in req.query.items() if values}
        self.errors: dict[str, list[str]] = {}

    def text(self, name: str) -> str | None:
        value = self._values.get(name.lower(), "").strip()
        return value or None

    def integer(
        self, name: str, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            self._error(name, f"The value '{raw}' is not valid for {name}.")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self._error(name, f"The field {name} must be between {minimum} and {maximum}.")
            return None
        return value

    def moment(self, name: str) -> str | None:
        """A date-time filter as a UTC sort key."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return sort_key(parse_api_datetime(raw))
        except ValueError:
            self._error(name, f"The value '{raw}' is not valid for {name}.")
            return None

    def day(self, name: str) -> str | None:
        """A date filter as the Pacific calendar day `yyyy-mm-dd`."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return pacific_day(parse_api_datetime(raw))
        except ValueError:
            self._error(name, f"The value '{raw}' is not valid for {name}.")
            return None

    def flag(self, name: str) -> bool:
        return (self.text(name) or "").lower() in ("true", "1")

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        for option in options:
            if raw.lower() == option.lower():
                return option
        self._error(name, f"The value '{raw}' is not valid for {name}.")
        return None

    def check(self) -> None:
        if self.errors:
            raise ApiError.invalid(self.errors)

    def _error(self, name: str, text: str) -> None:
        self.errors.setdefault(name, []).append(text)


# ---------------------------------------------------------------------------
# Rate limit: a fixed 60 s window per API key pair.


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_seconds),
        }


class RateLimiter:
    """ShipStation counts requests per key pair in fixed windows that start with the first call."""

    def __init__(self, limit: int = DEFAULT_RATE_LIMIT) -> None:
        self.limit = limit
        self.retry_after = False
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def configure(self, limit: int, retry_after: bool) -> None:
        """A new limit starts fresh windows, so tests never wait out an old one."""
        with self._lock:
            self.limit = limit
            self.retry_after = retry_after
            self._windows.clear()

    def hit(self, key_pair: tuple[str, str]) -> RateDecision:
        now = time.monotonic()
        with self._lock:
            started, used = self._windows.get(key_pair, (now, 0))
            if now - started >= RATE_WINDOW_SECONDS:
                started, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key_pair] = (started, used)
            reset = max(1, math.ceil(started + RATE_WINDOW_SECONDS - now))
            return RateDecision(allowed, self.limit, self.limit - used, reset)

    def untouched(self) -> RateDecision:
        """Headers for answers that cannot be tied to a key pair (bad credentials)."""
        return RateDecision(True, self.limit, self.limit, RATE_WINDOW_SECONDS)


# ---------------------------------------------------------------------------
# The fake.


@dataclass(frozen=True)
class Account:
    slug: str
    api_key: str
    seller_id: int
    warehouse_id: int
    api_access: bool


@dataclass(frozen=True)
class Route:
    method: str
    pattern: tuple[str, ...]
    handler: str

    def matches(self, segments: list[str]) -> tuple[str, ...] | None:
        """The `{id}` values when the path fits the pattern, else None."""
        if len(segments) != len(self.pattern):
            return None
        ids = []
        for expected, actual in zip(self.pattern, segments, strict=True):
            if expected == "{id}":
                if not actual.isdigit():
                    return None
                ids.append(actual)
            elif expected != actual.lower():
                return None
        return tuple(ids)


ROUTES = tuple(
    Route(method, tuple(path.split("/")), handler)
    for method, path, handler in (
        ("GET", "orders", "list_orders"),
        ("POST", "orders/createorder", "create_order"),
        ("POST", "orders/createorders", "create_orders"),
        ("POST", "orders/holduntil", "hold_order"),
        ("POST", "orders/restorefromhold", "restore_order"),
        ("POST", "orders/markasshipped", "mark_as_shipped"),
        ("POST", "orders/createlabelfororder", "create_label_for_order"),
        ("GET", "orders/{id}", "get_order"),
        ("DELETE", "orders/{id}", "delete_order"),
        ("GET", "shipments", "list_shipments"),
        ("GET", "fulfillments", "list_fulfillments"),
        ("GET", "stores", "list_stores"),
        ("GET", "stores/marketplaces", "list_marketplaces"),
        ("GET", "stores/{id}", "get_store"),
        ("GET", "webhooks", "list_webhooks"),
        ("POST", "webhooks/subscribe", "subscribe_webhook"),
        ("DELETE", "webhooks/{id}", "unsubscribe_webhook"),
    )
)


@dataclass(frozen=True)
class Notification:
    """A webhook to send once the transaction that caused it has committed."""

    account: str
    store_id: int
    resource_type: str
    resource_path: str
    query: dict[str, str]


class ShipStationFake:
    """ShipStation V1 for every demo tenant, each tenant being its own account."""

    name = "shipstation"
    prefix = "/shipstation/"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.db = sandbox.db
        self.limiter = RateLimiter()
        self._stats = {"calls": 0, "rate_limited": 0, "webhooks_sent": 0, "webhooks_failed": 0}
        self._stats_lock = threading.Lock()

    # -- Fake protocol -----------------------------------------------------

    def create_schema(self) -> None:
        with self.db.transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany(
                "INSERT OR IGNORE INTO ss_counters (name, value) VALUES (?, ?)",
                ID_COUNTERS.items(),
            )

    def seed(self) -> None:
        """One account per demo tenant, each with a manual store; acme also sells on WooCommerce.

        Acme's WooCommerce store gets the lower id, so "default to the first *manual* store"
        cannot be satisfied by simply taking the first store.
        """
        if self.db.scalar("SELECT COUNT(*) FROM ss_accounts"):
            return
        created = datetime(2024, 1, 8, 9, 30, tzinfo=PACIFIC)
        with self.db.transaction() as conn:
            for number, tenant in enumerate(demo_data.TENANTS, start=1):
                conn.execute(
                    "INSERT INTO ss_accounts (slug, api_key, api_secret, seller_id, warehouse_id)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        tenant.slug,
                        tenant.shipstation_key,
                        tenant.shipstation_secret,
                        1_000_000 + number * 1000,
                        3_000_000 + number * 1000,
                    ),
                )
                base_id = 2_000_000 + number * 100_000
                if tenant.slug == "acme":
                    outlet = demo_data.store("acme-outlet")
                    self._insert_store(
                        conn, tenant.slug, base_id + 1, outlet.display_name, 36, created
                    )
                self._insert_store(
                    conn, tenant.slug, base_id + 2, "ShipStation Manual Store", 0, created
                )

    def handle(self, req: SandboxRequest) -> SandboxResponse:
        self._count("calls")
        key_pair = _basic_credentials(req.headers.get("authorization", ""))
        account = self._authenticate(key_pair)
        if account is None or key_pair is None:
            return SandboxResponse(
                401,
                {"Message": "Authorization has been denied for this request."},
                headers={
                    **self.limiter.untouched().headers(),
                    "WWW-Authenticate": 'Basic realm="ShipStation"',
                },
            )
        decision = self.limiter.hit(key_pair)
        if not decision.allowed:
            self._count("rate_limited")
            headers = decision.headers()
            if self.limiter.retry_after:
                headers["Retry-After"] = str(decision.reset_seconds)
            return SandboxResponse(429, {"message": "Too Many Requests"}, headers=headers)
        try:
            if not account.api_access:
                raise ApiError.message(
                    403, "Your plan does not include access to the ShipStation API."
                )
            response = self._route(req, account)
        except ApiError as error:
            response = SandboxResponse(error.status, error.body)
        except Exception as exc:
            log.exception("ShipStation fake failed on %s %s", req.method, req.path)
            response = SandboxResponse(
                500,
                {
                    "Message": "An error has occurred.",
                    "ExceptionMessage": str(exc),
                    "ExceptionType": type(exc).__name__,
                },
            )
        response.headers.update(decision.headers())
        return response

    def control(self, action: str, payload: dict) -> dict:
        if action == "ship":
            return self._control_ship(payload)
        if action == "set-rate-limit":
            return self._control_rate_limit(payload)
        if action == "set-api-access":
            return self._control_api_access(payload)
        raise ControlError(
            f"Unknown ShipStation action {action!r}; known: ship, set-rate-limit, set-api-access"
        )

    def status(self) -> dict[str, int]:
        with self._stats_lock:
            stats = dict(self._stats)
        return {
            "shipstation_orders": self.db.scalar("SELECT COUNT(*) FROM ss_orders WHERE active = 1"),
            "shipments": self.db.scalar("SELECT COUNT(*) FROM ss_shipments"),
            "fulfillments": self.db.scalar("SELECT COUNT(*) FROM ss_fulfillments"),
            "webhook_subscriptions": self.db.scalar("SELECT COUNT(*) FROM ss_webhooks"),
            **stats,
        }

    # -- plumbing -----------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self._stats[name] += 1

    def _authenticate(self, key_pair: tuple[str, str] | None) -> Account | None:
        if key_pair is None:
            return None
        rows = self.db.query("SELECT * FROM ss_accounts WHERE api_key = ?", (key_pair[0],))
        if not rows or not hmac.compare_digest(rows[0]["api_secret"], key_pair[1]):
            return None
        row = rows[0]
        return Account(
            row["slug"],
            row["api_key"],
            row["seller_id"],
            row["warehouse_id"],
            bool(row["api_access"]),
        )

    def _route(self, req: SandboxRequest, account: Account) -> SandboxResponse:
        segments = [s for s in req.path.removeprefix("/shipstation").split("/") if s]
        allowed_methods = []
        for route in ROUTES:
            ids = route.matches(segments)
            if ids is None:
                continue
            if route.method == req.method:
                result = getattr(self, "_" + route.handler)(req, account, *map(int, ids))
                return (
                    result if isinstance(result, SandboxResponse) else SandboxResponse(body=result)
                )
            allowed_methods.append(route.method)
        if allowed_methods:
            raise ApiError.message(
                405, f"The requested resource does not support http method '{req.method}'."
            )
        raise ApiError.message(
            404, f"No HTTP resource was found that matches the request URI '{req.path}'."
        )

    def _now(self) -> datetime:
        moment = self.sandbox.now()
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _resource_url(self, notification: Notification, item_variant: bool) -> str:
        query = dict(notification.query)
        if notification.resource_type == "SHIP_NOTIFY":
            query["includeShipmentItems"] = "True" if item_variant else "False"
        elif item_variant:
            query["includeOrderItems"] = "True"
        base = f"{self.sandbox.base_url}/shipstation/{notification.resource_path}"
        return f"{base}?{urlencode(query)}"

    def _send(self, notifications: Iterable[Notification]) -> int:
        """POST the thin V1 payload to every matching subscription; returns how many were queued."""
        queued = 0
        for notification in notifications:
            hooks = self.db.query(
                "SELECT * FROM ss_webhooks WHERE account = ? AND event IN (?, ?)"
                " AND (store_id IS NULL OR store_id = ?) ORDER BY webhook_id",
                (
                    notification.account,
                    notification.resource_type,
                    "ITEM_" + notification.resource_type,
                    notification.store_id,
                ),
            )
            for hook in hooks:
                body = {
                    "resource_url": self._resource_url(
                        notification, hook["event"].startswith("ITEM_")
                    ),
                    "resource_type": hook["event"],
                }
                self.sandbox.emit_webhook(
                    self.name,
                    hook["target_url"],
                    {},
                    body,
                    on_failure=lambda _reason: self._count("webhooks_failed"),
                    on_success=lambda: self._count("webhooks_sent"),
                )
                queued += 1
        return queued

    # -- orders -------------------------------------------------------------

    def _list_orders(self, req: SandboxRequest, account: Account) -> dict:
        self._release_due_holds(account.slug)
        args = QueryArgs(req)
        where, params = ["account = ?", "active = 1"], [account.slug]
        for name, column, operator in (
            ("createDateStart", "create_date", ">="),
            ("createDateEnd", "create_date", "<="),
            ("modifyDateStart", "modify_date", ">="),
            ("modifyDateEnd", "modify_date", "<="),
            ("orderDateStart", "order_date", ">="),
            ("orderDateEnd", "order_date", "<="),
            ("paymentDateStart", "payment_date", ">="),
            ("paymentDateEnd", "payment_date", "<="),
        ):
            if (value := args.moment(name)) is not None:
                where.append(f"{column} {operator} ?")
                params.append(value)
        if (status := args.choice("orderStatus", ORDER_STATUSES)) is not None:
            where.append("status = ?")
            params.append(status)
        if (store_id := args.integer("storeId")) is not None:
            where.append("store_id = ?")
            params.append(store_id)
        if (number := args.text("orderNumber")) is not None:
            where.append("order_number LIKE ? ESCAPE '\\'")
            params.append(_like_prefix(number))
        if (batch := args.text("importBatch")) is not None:
            where.append("import_batch = ?")
            params.append(batch)
        order_by = _order_by(
            args,
            {"OrderDate": "order_date", "ModifyDate": "modify_date", "CreateDate": "create_date"},
            default="order_id",
            tiebreak="order_id",
        )
        page, page_size = _paging(args)
        customer = (args.text("customerName") or "").lower()
        keyword = (args.text("itemKeyword") or "").lower()
        args.check()
        rows = self.db.query(
            f"SELECT data FROM ss_orders WHERE {' AND '.join(where)} ORDER BY {order_by}", params
        )
        orders = [json.loads(row["data"]) for row in rows]
        if customer:
            orders = [o for o in orders if customer in _order_customer_names(o)]
        if keyword:
            orders = [o for o in orders if keyword in _order_item_text(o)]
        return _envelope("orders", orders, page, page_size)

    def _get_order(self, req: SandboxRequest, account: Account, order_id: int) -> dict:
        self._release_due_holds(account.slug)
        with self.db.transaction() as conn:
            return self._load_order(conn, account.slug, order_id)

    def _delete_order(self, req: SandboxRequest, account: Account, order_id: int) -> dict:
        with self.db.transaction() as conn:
            self._load_order(conn, account.slug, order_id)
            conn.execute("UPDATE ss_orders SET active = 0 WHERE order_id = ?", (order_id,))
        return {"success": True, "message": "The requested order has been deleted."}

    def _create_order(self, req: SandboxRequest, account: Account) -> dict:
        payload = _json_body(req, "apiOrder")
        if not isinstance(payload, dict):
            raise ApiError.invalid(
                {
                    "apiOrder": [
                        "Cannot deserialize the current JSON array into type "
                        "'SS.OpenApi.Models.Orders.Order' because the type requires a JSON object."
                    ]
                }
            )
        batch = str(uuid.uuid4())
        with self.db.transaction() as conn:
            order, notify = self._upsert_order(conn, account, payload, batch, "apiOrder")
        if notify:
            self._send([_order_notification(account.slug, order["advancedOptions"], batch)])
        return order

    def _create_orders(self, req: SandboxRequest, account: Account) -> dict:
        payload = _json_body(req, "apiOrders")
        if not isinstance(payload, list) or not all(isinstance(o, dict) for o in payload):
            raise ApiError.invalid(
                {
                    "apiOrders": [
                        "Cannot deserialize the current JSON object into type "
                        "'SS.OpenApi.Models.Orders.Order[]' because the type requires a JSON "
                        "array of orders."
                    ]
                }
            )
        if len(payload) > MAX_BULK_ORDERS:
            raise ApiError.invalid(
                {"apiOrders": [f"A maximum of {MAX_BULK_ORDERS} orders can be sent per request."]}
            )
        batch = str(uuid.uuid4())
        results, notified_stores = [], {}
        with self.db.transaction() as conn:
            for item in payload:
                try:
                    order, notify = self._upsert_order(conn, account, item, batch, "apiOrder")
                except ApiError as error:
                    results.append(_bulk_failure(item, error))
                    continue
                results.append(
                    {
                        "orderId": order["orderId"],
                        "orderNumber": order["orderNumber"],
                        "orderKey": order["orderKey"],
                        "success": True,
                        "errorMessage": None,
                    }
                )
                if notify:
                    store_id = order["advancedOptions"]["storeId"]
                    notified_stores[store_id] = order["advancedOptions"]
        self._send(
            _order_notification(account.slug, options, batch)
            for options in notified_stores.values()
        )
        return {"hasErrors": not all(r["success"] for r in results), "results": results}

    def _upsert_order(
        self,
        conn: sqlite3.Connection,
        account: Account,
        payload: dict,
        batch: str,
        field_prefix: str,
    ) -> tuple[dict, bool]:
        """Create or fully replace one order; returns it and whether it joins the import batch.

        Every check happens before the first write, so a rejected bulk element leaves no trace.
        """
        errors = _validate_order(payload, field_prefix)
        if errors:
            raise ApiError.invalid(errors)
        existing = self._find_existing_order(conn, account.slug, payload, field_prefix)
        if existing is not None and existing["orderStatus"] not in UPDATABLE_STATUSES:
            raise ApiError.invalid(
                {
                    f"{field_prefix}.orderStatus": [
                        f"Order {existing['orderNumber']} is {existing['orderStatus']} "
                        "and can no longer be updated."
                    ]
                }
            )
        advanced = payload.get("advancedOptions") or {}
        if existing is not None:
            store_id = existing["advancedOptions"]["storeId"]
        else:
            store_id = self._store_for_new_order(conn, account.slug, advanced.get("storeId"))
        now = self._now()
        if existing is None:
            order_id = _next_id(conn, "order")
            order_key = str(payload.get("orderKey") or uuid.uuid4())
            created = format_timestamp(now)
        else:
            order_id = existing["orderId"]
            order_key = existing["orderKey"]
            created = existing["createDate"]
        order = self._build_order(
            conn, account, payload, order_id, order_key, store_id, created, now, existing
        )
        status = order["orderStatus"]
        if existing is None:
            notify = status != "awaiting_payment"
        else:
            notify = existing["orderStatus"] == "awaiting_payment" and status not in (
                "awaiting_payment",
                "cancelled",
            )
        self._save_order(conn, account.slug, order, batch if notify else None, existing)
        return order, notify

    def _find_existing_order(
        self, conn: sqlite3.Connection, account: str, payload: dict, field_prefix: str
    ) -> dict | None:
        """Upsert target: the order with this orderKey, else the orderId sent for an update."""
        if payload.get("orderKey"):
            rows = conn.execute(
                "SELECT data FROM ss_orders WHERE account = ? AND order_key = ?",
                (account, str(payload["orderKey"])),
            ).fetchall()
            if rows:
                existing = json.loads(rows[0]["data"])
                sent_id = payload.get("orderId")
                if sent_id and sent_id != existing["orderId"]:
                    raise ApiError.invalid(
                        {f"{field_prefix}.orderId": ["orderId does not match the orderKey."]}
                    )
                return existing
            return None
        if payload.get("orderId"):
            rows = conn.execute(
                "SELECT data FROM ss_orders WHERE account = ? AND order_id = ?",
                (account, payload["orderId"]),
            ).fetchall()
            if not rows:
                raise ApiError.invalid(
                    {f"{field_prefix}.orderId": [f"Order {payload['orderId']} was not found."]}
                )
            return json.loads(rows[0]["data"])
        return None

    def _store_for_new_order(
        self, conn: sqlite3.Connection, account: str, store_id: int | None
    ) -> int:
        """The requested store, or the account's first manual store."""
        if store_id is not None:
            found = conn.execute(
                "SELECT store_id FROM ss_stores WHERE account = ? AND store_id = ?",
                (account, store_id),
            ).fetchone()
            if found is None:
                raise ApiError.invalid(
                    {"apiOrder.advancedOptions.storeId": [f"Store {store_id} was not found."]}
                )
            return store_id
        return conn.execute(
            "SELECT store_id FROM ss_stores WHERE account = ? AND marketplace_id = 0"
            " ORDER BY active DESC, store_id LIMIT 1",
            (account,),
        ).fetchone()["store_id"]

    def _build_order(
        self,
        conn: sqlite3.Connection,
        account: Account,
        payload: dict,
        order_id: int,
        order_key: str,
        store_id: int,
        created: str,
        now: datetime,
        existing: dict | None,
    ) -> dict:
        """The full read shape; an update replaces every writable field (no partial updates)."""
        stamp = format_timestamp(now)
        old_items = {
            item["lineItemKey"]: item
            for item in (existing or {}).get("items", [])
            if item.get("lineItemKey")
        }
        items = [
            _order_item(conn, raw, old_items.get(raw.get("lineItemKey") or ""), stamp)
            for raw in payload.get("items") or []
        ]
        advanced = payload.get("advancedOptions") or {}
        tax = _money(payload.get("taxAmount"))
        shipping = _money(payload.get("shippingAmount"))
        goods = sum(item["quantity"] * item["unitPrice"] for item in items)
        username = payload.get("customerUsername")
        return {
            "orderId": order_id,
            "orderNumber": payload["orderNumber"],
            "orderKey": order_key,
            "orderDate": _timestamp_field(payload.get("orderDate")),
            "createDate": created,
            "modifyDate": stamp if existing else created,
            "paymentDate": _timestamp_field(payload.get("paymentDate")),
            "shipByDate": _timestamp_field(payload.get("shipByDate")),
            "orderStatus": payload["orderStatus"],
            "customerId": self._customer_id(conn, account.slug, username) if username else None,
            "customerUsername": username,
            "customerEmail": payload.get("customerEmail"),
            "billTo": _address(payload.get("billTo"), verified=None),
            "shipTo": _address(payload.get("shipTo"), verified="Address not yet validated"),
            "items": items,
            "orderTotal": round(goods + tax + shipping, 2),
            "amountPaid": _money(payload.get("amountPaid")),
            "taxAmount": tax,
            "shippingAmount": shipping,
            "customerNotes": payload.get("customerNotes"),
            "internalNotes": payload.get("internalNotes"),
            "gift": bool(payload.get("gift")),
            "giftMessage": payload.get("giftMessage"),
            "paymentMethod": payload.get("paymentMethod"),
            "requestedShippingService": payload.get("requestedShippingService"),
            "carrierCode": payload.get("carrierCode"),
            "serviceCode": payload.get("serviceCode"),
            "packageCode": payload.get("packageCode"),
            "confirmation": payload.get("confirmation") or "none",
            "shipDate": _day_field(payload.get("shipDate")),
            "holdUntilDate": _timestamp_field(payload.get("holdUntilDate")),
            "weight": _weight(payload.get("weight")) or _items_weight(items),
            "dimensions": payload.get("dimensions"),
            "insuranceOptions": payload.get("insuranceOptions")
            or {"provider": None, "insureShipment": False, "insuredValue": 0.0},
            "internationalOptions": payload.get("internationalOptions")
            or {"contents": None, "customsItems": None, "nonDelivery": None},
            "advancedOptions": {
                "warehouseId": advanced.get("warehouseId") or account.warehouse_id,
                "nonMachinable": bool(advanced.get("nonMachinable")),
                "saturdayDelivery": bool(advanced.get("saturdayDelivery")),
                "containsAlcohol": bool(advanced.get("containsAlcohol")),
                "mergedOrSplit": False,
                "mergedIds": [],
                "parentId": None,
                "storeId": store_id,
                "customField1": advanced.get("customField1"),
                "customField2": advanced.get("customField2"),
                "customField3": advanced.get("customField3"),
                "source": advanced.get("source"),
                "billToParty": advanced.get("billToParty"),
                "billToAccount": advanced.get("billToAccount"),
                "billToPostalCode": advanced.get("billToPostalCode"),
                "billToCountryCode": advanced.get("billToCountryCode"),
                "billToMyOtherAccount": advanced.get("billToMyOtherAccount"),
            },
            "tagIds": payload.get("tagIds") or None,
            "userId": payload.get("userId"),
            "externallyFulfilled": False,
            "externallyFulfilledBy": None,
            "externallyFulfilledById": None,
            "externallyFulfilledByName": None,
            "labelMessages": None,
        }

    def _customer_id(self, conn: sqlite3.Connection, account: str, username: str) -> int:
        row = conn.execute(
            "SELECT customer_id FROM ss_customers WHERE account = ? AND username = ?",
            (account, username),
        ).fetchone()
        if row:
            return row["customer_id"]
        customer_id = _next_id(conn, "customer")
        conn.execute(
            "INSERT INTO ss_customers (customer_id, account, username) VALUES (?, ?, ?)",
            (customer_id, account, username),
        )
        return customer_id

    def _save_order(
        self,
        conn: sqlite3.Connection,
        account: str,
        order: dict,
        import_batch: str | None,
        existing: dict | None,
    ) -> None:
        columns = {
            "order_number": order["orderNumber"],
            "store_id": order["advancedOptions"]["storeId"],
            "status": order["orderStatus"],
            "order_date": _sort_key_of(order["orderDate"]),
            "modify_date": _sort_key_of(order["modifyDate"]),
            "payment_date": _sort_key_of(order["paymentDate"]),
            "hold_until": _hold_until_key(order),
            "data": json.dumps(order),
        }
        if existing is None:
            columns |= {
                "order_id": order["orderId"],
                "account": account,
                "order_key": order["orderKey"],
                "create_date": _sort_key_of(order["createDate"]),
                "import_batch": import_batch,
            }
            names = ", ".join(columns)
            marks = ", ".join("?" for _ in columns)
            conn.execute(
                f"INSERT INTO ss_orders ({names}) VALUES ({marks})", list(columns.values())
            )
            return
        columns["active"] = 1
        if import_batch:
            columns["import_batch"] = import_batch
        assignments = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(
            f"UPDATE ss_orders SET {assignments} WHERE order_id = ?",
            [*columns.values(), order["orderId"]],
        )

    def _load_order(self, conn: sqlite3.Connection, account: str, order_id: int) -> dict:
        rows = conn.execute(
            "SELECT data FROM ss_orders WHERE account = ? AND order_id = ? AND active = 1",
            (account, order_id),
        ).fetchall()
        if not rows:
            raise ApiError.message(404, f"Order {order_id} was not found.")
        return json.loads(rows[0]["data"])

    def _change_order(self, conn: sqlite3.Connection, account: str, order: dict) -> None:
        """Persist an action's change to an existing order (status, dates)."""
        order["modifyDate"] = format_timestamp(self._now())
        self._save_order(conn, account, order, None, existing=order)

    def _release_due_holds(self, account: str) -> None:
        """On-hold orders return to awaiting_shipment once their hold date has come."""
        now_key = sort_key(self._now())
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT data FROM ss_orders WHERE account = ? AND status = 'on_hold'"
                " AND hold_until IS NOT NULL AND hold_until <= ?",
                (account, now_key),
            ).fetchall()
            for row in rows:
                order = json.loads(row["data"])
                order["orderStatus"] = "awaiting_shipment"
                order["holdUntilDate"] = None
                self._change_order(conn, account, order)

    def _hold_order(self, req: SandboxRequest, account: Account) -> dict:
        payload = _json_object(req, "holdUntilRequest")
        order_id = _required_int(payload, "orderId", "holdUntilRequest")
        raw_date = payload.get("holdUntilDate")
        try:
            hold_until = parse_api_datetime(raw_date)
        except ValueError:
            raise ApiError.invalid(
                {"holdUntilRequest.holdUntilDate": ["A valid holdUntilDate is required."]}
            ) from None
        with self.db.transaction() as conn:
            order = self._load_order(conn, account.slug, order_id)
            if order["orderStatus"] not in UPDATABLE_STATUSES:
                raise ApiError.message(
                    400, f"Order {order_id} is {order['orderStatus']} and cannot be held."
                )
            order["orderStatus"] = "on_hold"
            order["holdUntilDate"] = format_timestamp(hold_until)
            self._change_order(conn, account.slug, order)
        return {"success": True, "message": "Order held successfully."}

    def _restore_order(self, req: SandboxRequest, account: Account) -> dict:
        payload = _json_object(req, "restoreRequest")
        order_id = _required_int(payload, "orderId", "restoreRequest")
        with self.db.transaction() as conn:
            order = self._load_order(conn, account.slug, order_id)
            if order["orderStatus"] != "on_hold":
                raise ApiError.message(400, f"Order {order_id} is not on hold.")
            order["orderStatus"] = "awaiting_shipment"
            order["holdUntilDate"] = None
            self._change_order(conn, account.slug, order)
        return {"success": True, "message": "Order restored successfully."}

    def _mark_as_shipped(self, req: SandboxRequest, account: Account) -> dict:
        """An external shipment: a fulfillment, never a shipment, and no SHIP_NOTIFY."""
        payload = _json_object(req, "markShippedRequest")
        order_id = _required_int(payload, "orderId", "markShippedRequest")
        carrier = payload.get("carrierCode")
        if not isinstance(carrier, str) or not carrier:
            raise ApiError.invalid({"markShippedRequest.carrierCode": ["carrierCode is required."]})
        now = self._now()
        try:
            shipped_on = parse_api_datetime(payload["shipDate"]) if payload.get("shipDate") else now
        except ValueError:
            raise ApiError.invalid(
                {"markShippedRequest.shipDate": ["shipDate is not a valid date."]}
            ) from None
        with self.db.transaction() as conn:
            order = self._load_order(conn, account.slug, order_id)
            if order["orderStatus"] not in UPDATABLE_STATUSES:
                raise ApiError.message(
                    400, f"Order {order_id} is {order['orderStatus']} and cannot be marked shipped."
                )
            fulfillment = {
                "fulfillmentId": _next_id(conn, "fulfillment"),
                "orderId": order_id,
                "orderNumber": order["orderNumber"],
                "userId": None,
                "customerEmail": order["customerEmail"],
                "trackingNumber": payload.get("trackingNumber"),
                "createDate": format_timestamp(now),
                "shipDate": pacific_day(shipped_on),
                "voidDate": None,
                "deliveryDate": None,
                "carrierCode": carrier,
                "fulfillmentProviderCode": None,
                "fulfillmentServiceCode": None,
                "fulfillmentFee": 0.0,
                "voidRequested": False,
                "voided": False,
                "marketplaceNotified": bool(payload.get("notifySalesChannel")),
                "notifyErrorMessage": None,
                "shipTo": order["shipTo"],
            }
            conn.execute(
                "INSERT INTO ss_fulfillments"
                " (fulfillment_id, account, order_id, create_date, ship_date, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    fulfillment["fulfillmentId"],
                    account.slug,
                    order_id,
                    sort_key(now),
                    fulfillment["shipDate"],
                    json.dumps(fulfillment),
                ),
            )
            order["orderStatus"] = "shipped"
            order["shipDate"] = fulfillment["shipDate"]
            order["carrierCode"] = carrier
            self._change_order(conn, account.slug, order)
        return {"orderId": order_id, "orderNumber": order["orderNumber"]}

    def _create_label_for_order(self, req: SandboxRequest, account: Account) -> dict:
        """Buy a label for one order: a shipment plus SHIP_NOTIFY, like the `ship` control."""
        payload = _json_object(req, "labelRequest")
        order_id = _required_int(payload, "orderId", "labelRequest")
        with self.db.transaction() as conn:
            order = self._load_order(conn, account.slug, order_id)
            if order["orderStatus"] not in UPDATABLE_STATUSES:
                raise ApiError.message(
                    400, f"Order {order_id} is {order['orderStatus']} and cannot get a label."
                )
            shipment, notification = self._ship_orders(conn, account.slug, [order], payload)[0]
        self._send([notification])
        label = base64.b64encode(b"%PDF-1.4\n% ShipStation sandbox label\n").decode()
        return {
            "shipmentId": shipment["shipmentId"],
            "shipmentCost": shipment["shipmentCost"],
            "insuranceCost": shipment["insuranceCost"],
            "trackingNumber": shipment["trackingNumber"],
            "labelData": label,
            "formData": None,
        }

    # -- shipments and fulfillments --------------------------------------------

    def _ship_orders(
        self,
        conn: sqlite3.Connection,
        account: str,
        orders: list[dict],
        label: dict | None = None,
    ) -> list[tuple[dict, Notification]]:
        """Create one label per order in a single batch; one SHIP_NOTIFY per store in the batch."""
        label = label or {}
        batch_id = _next_id(conn, "batch")
        now = self._now()
        shipped = []
        for order in orders:
            shipment = self._new_shipment(conn, order, batch_id, label, now)
            conn.execute(
                "INSERT INTO ss_shipments (shipment_id, account, order_id, store_id, batch_id,"
                " create_date, ship_date, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    shipment["shipmentId"],
                    account,
                    order["orderId"],
                    shipment["advancedOptions"]["storeId"],
                    batch_id,
                    sort_key(now),
                    shipment["shipDate"],
                    json.dumps(shipment),
                ),
            )
            order["orderStatus"] = "shipped"
            order["shipDate"] = shipment["shipDate"]
            order["carrierCode"] = shipment["carrierCode"]
            order["serviceCode"] = shipment["serviceCode"]
            self._change_order(conn, account, order)
            store_id = shipment["advancedOptions"]["storeId"]
            notification = Notification(
                account,
                store_id,
                "SHIP_NOTIFY",
                "shipments",
                {"storeID": str(store_id), "batchId": str(batch_id)},
            )
            shipped.append((shipment, notification))
        return shipped

    def _new_shipment(
        self, conn: sqlite3.Connection, order: dict, batch_id: int, label: dict, now: datetime
    ) -> dict:
        shipment_id = _next_id(conn, "shipment")
        domestic = (order["shipTo"].get("country") or "US") == "US"
        carrier = label.get("carrierCode") or order["carrierCode"] or "stamps_com"
        service = (
            label.get("serviceCode")
            or order["serviceCode"]
            or ("usps_priority_mail" if domestic else "usps_priority_mail_international")
        )
        units = sum(item["quantity"] for item in order["items"])
        options = order["advancedOptions"]
        return {
            "shipmentId": shipment_id,
            "orderId": order["orderId"],
            "orderKey": order["orderKey"],
            "userId": None,
            "customerEmail": order["customerEmail"],
            "orderNumber": order["orderNumber"],
            "createDate": format_timestamp(now),
            "shipDate": _day_field(label.get("shipDate")) or pacific_day(now),
            "shipmentCost": round((7.15 if domestic else 24.5) + 0.85 * units, 2),
            "insuranceCost": 0.0,
            "trackingNumber": f"9400111{shipment_id:015d}",
            "isReturnLabel": False,
            "batchNumber": str(batch_id),
            "carrierCode": carrier,
            "serviceCode": service,
            "packageCode": label.get("packageCode") or order["packageCode"] or "package",
            "confirmation": label.get("confirmation") or order["confirmation"],
            "warehouseId": options["warehouseId"],
            "voided": False,
            "voidDate": None,
            "marketplaceNotified": False,
            "notifyErrorMessage": None,
            "shipTo": order["shipTo"],
            "weight": _weight(label.get("weight")) or order["weight"],
            "dimensions": label.get("dimensions") or order["dimensions"],
            "insuranceOptions": order["insuranceOptions"],
            "advancedOptions": {
                "billToParty": options["billToParty"],
                "billToAccount": options["billToAccount"],
                "billToPostalCode": options["billToPostalCode"],
                "billToCountryCode": options["billToCountryCode"],
                "storeId": options["storeId"],
            },
            "shipmentItems": [dict(item) for item in order["items"]],
            "labelData": None,
            "formData": None,
        }

    def _list_shipments(self, req: SandboxRequest, account: Account) -> dict:
        args = QueryArgs(req)
        where, params = ["account = ?"], [account.slug]
        for name, column in (
            ("orderId", "order_id"),
            ("storeId", "store_id"),
            ("batchId", "batch_id"),
        ):
            if (value := args.integer(name)) is not None:
                where.append(f"{column} = ?")
                params.append(value)
        _date_range(args, where, params, "createDate", "create_date", args.moment)
        _date_range(args, where, params, "shipDate", "ship_date", args.day)
        _date_range(args, where, params, "voidDate", "void_date", args.moment)
        order_by = _order_by(
            args,
            {"ShipDate": "ship_date", "CreateDate": "create_date"},
            default="create_date",
            tiebreak="shipment_id",
        )
        page, page_size = _paging(args)
        matchers = _field_matchers(
            args,
            recipientName=lambda s: (s["shipTo"].get("name") or "").lower(),
            recipientCountryCode=lambda s: (s["shipTo"].get("country") or "").lower(),
            orderNumber=lambda s: (s["orderNumber"] or "").lower(),
            carrierCode=lambda s: (s["carrierCode"] or "").lower(),
            serviceCode=lambda s: (s["serviceCode"] or "").lower(),
            trackingNumber=lambda s: (s["trackingNumber"] or "").lower(),
        )
        include_items = args.flag("includeShipmentItems")
        args.check()
        rows = self.db.query(
            f"SELECT data FROM ss_shipments WHERE {' AND '.join(where)} ORDER BY {order_by}",
            params,
        )
        shipments = [json.loads(row["data"]) for row in rows]
        shipments = [s for s in shipments if all(match(s) for match in matchers)]
        if not include_items:
            for shipment in shipments:
                shipment["shipmentItems"] = None
        return _envelope("shipments", shipments, page, page_size)

    def _list_fulfillments(self, req: SandboxRequest, account: Account) -> dict:
        args = QueryArgs(req)
        where, params = ["account = ?"], [account.slug]
        for name, column in (("fulfillmentId", "fulfillment_id"), ("orderId", "order_id")):
            if (value := args.integer(name)) is not None:
                where.append(f"{column} = ?")
                params.append(value)
        _date_range(args, where, params, "createDate", "create_date", args.moment)
        _date_range(args, where, params, "shipDate", "ship_date", args.day)
        order_by = _order_by(
            args,
            {"ShipDate": "ship_date", "CreateDate": "create_date"},
            default="create_date",
            tiebreak="fulfillment_id",
        )
        page, page_size = _paging(args)
        matchers = _field_matchers(
            args,
            recipientName=lambda f: (f["shipTo"].get("name") or "").lower(),
            orderNumber=lambda f: (f["orderNumber"] or "").lower(),
            trackingNumber=lambda f: (f["trackingNumber"] or "").lower(),
        )
        args.check()
        rows = self.db.query(
            f"SELECT data FROM ss_fulfillments WHERE {' AND '.join(where)} ORDER BY {order_by}",
            params,
        )
        fulfillments = [json.loads(row["data"]) for row in rows]
        fulfillments = [f for f in fulfillments if all(match(f) for match in matchers)]
        return _envelope("fulfillments", fulfillments, page, page_size)

    # -- stores -----------------------------------------------------------------

    def _insert_store(
        self,
        conn: sqlite3.Connection,
        account: str,
        store_id: int,
        name: str,
        marketplace_id: int,
        created: datetime,
    ) -> None:
        marketplace = next(m for m in MARKETPLACES if m["marketplaceId"] == marketplace_id)
        store = {
            "storeId": store_id,
            "storeName": name,
            "marketplaceId": marketplace_id,
            "marketplaceName": marketplace["name"],
            "accountName": None,
            "email": None,
            "integrationUrl": None,
            "active": True,
            "companyName": demo_data.tenant(account).name,
            "phone": "",
            "publicEmail": f"orders@{account}.example",
            "website": "",
            "refreshDate": format_store_timestamp(created),
            "lastRefreshAttempt": format_store_timestamp(created),
            "createDate": format_store_timestamp(created),
            "modifyDate": format_store_timestamp(created),
            "autoRefresh": marketplace_id != 0,
        }
        conn.execute(
            "INSERT INTO ss_stores (store_id, account, marketplace_id, data) VALUES (?, ?, ?, ?)",
            (store_id, account, marketplace_id, json.dumps(store)),
        )

    def _list_stores(self, req: SandboxRequest, account: Account) -> list:
        args = QueryArgs(req)
        where, params = ["account = ?"], [account.slug]
        if not args.flag("showInactive"):
            where.append("active = 1")
        if (marketplace_id := args.integer("marketplaceId")) is not None:
            where.append("marketplace_id = ?")
            params.append(marketplace_id)
        args.check()
        rows = self.db.query(
            f"SELECT data FROM ss_stores WHERE {' AND '.join(where)} ORDER BY store_id", params
        )
        return [json.loads(row["data"]) for row in rows]

    def _get_store(self, req: SandboxRequest, account: Account, store_id: int) -> dict:
        rows = self.db.query(
            "SELECT data FROM ss_stores WHERE account = ? AND store_id = ?",
            (account.slug, store_id),
        )
        if not rows:
            raise ApiError.message(404, f"Store {store_id} was not found.")
        store = json.loads(rows[0]["data"])
        store["statusMappings"] = [
            {"orderStatus": "awaiting_payment", "statusKey": "Pending"},
            {"orderStatus": "awaiting_shipment", "statusKey": "Processing"},
            {"orderStatus": "shipped", "statusKey": "Completed"},
            {"orderStatus": "cancelled", "statusKey": "Cancelled"},
            {"orderStatus": "on_hold", "statusKey": "On-Hold"},
        ]
        return store

    def _list_marketplaces(self, req: SandboxRequest, account: Account) -> list:
        return [
            {
                "name": m["name"],
                "marketplaceId": m["marketplaceId"],
                "canRefresh": m["canRefresh"],
                "supportsCustomMappings": m["canRefresh"],
                "supportsCustomStatuses": m["canRefresh"],
                "canConfirmShipments": m["canRefresh"],
            }
            for m in MARKETPLACES
        ]

    # -- webhooks -----------------------------------------------------------------

    def _subscribe_webhook(self, req: SandboxRequest, account: Account) -> dict:
        payload = _json_object(req, "subscribeRequest")
        errors: dict[str, list[str]] = {}
        target_url = payload.get("target_url")
        if not isinstance(target_url, str) or not target_url.startswith(("http://", "https://")):
            errors["subscribeRequest.target_url"] = ["An absolute target_url is required."]
        event = payload.get("event")
        if event not in WEBHOOK_EVENTS:
            errors["subscribeRequest.event"] = [
                f"event must be one of {', '.join(WEBHOOK_EVENTS)}."
            ]
        store_id = payload.get("store_id")
        if store_id is not None and not self.db.query(
            "SELECT 1 FROM ss_stores WHERE account = ? AND store_id = ?", (account.slug, store_id)
        ):
            errors["subscribeRequest.store_id"] = [f"Store {store_id} was not found."]
        if errors:
            raise ApiError.invalid(errors)
        with self.db.transaction() as conn:
            webhook_id = _next_id(conn, "webhook")
            conn.execute(
                "INSERT INTO ss_webhooks (webhook_id, account, event, target_url, store_id, name)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    webhook_id,
                    account.slug,
                    event,
                    target_url,
                    store_id,
                    payload.get("friendly_name"),
                ),
            )
        return {"id": webhook_id}

    def _list_webhooks(self, req: SandboxRequest, account: Account) -> dict:
        rows = self.db.query(
            "SELECT * FROM ss_webhooks WHERE account = ? ORDER BY webhook_id", (account.slug,)
        )
        return {
            "webhooks": [
                {
                    "IsLabelAPIHook": False,
                    "WebHookID": row["webhook_id"],
                    "SellerID": account.seller_id,
                    "StoreID": row["store_id"],
                    "HookType": row["event"],
                    "MessageFormat": "Json",
                    "Url": row["target_url"],
                    "Name": row["name"],
                    "BulkCopyBatchID": None,
                    "BulkCopyRecordID": None,
                    "Active": True,
                    "WebhookLogs": [],
                    "Seller": None,
                    "Store": None,
                }
                for row in rows
            ]
        }

    def _unsubscribe_webhook(
        self, req: SandboxRequest, account: Account, webhook_id: int
    ) -> SandboxResponse:
        deleted = self.db.execute(
            "DELETE FROM ss_webhooks WHERE account = ? AND webhook_id = ?",
            (account.slug, webhook_id),
        ).rowcount
        if not deleted:
            raise ApiError.message(404, f"Webhook {webhook_id} was not found.")
        return SandboxResponse(200, None)

    # -- control actions ------------------------------------------------------------

    def _control_ship(self, payload: dict) -> dict:
        """Buy labels for awaiting_shipment orders, as a warehouse user would in the UI."""
        wanted = payload.get("order")
        ship_all = bool(payload.get("all"))
        account = payload.get("account")
        if (wanted is not None) == ship_all:
            raise ControlError('ship needs either "order" (number, key or id) or "all": true')
        if account is not None and account not in {t.slug for t in demo_data.TENANTS}:
            raise ControlError(f"Unknown ShipStation account {account!r}")
        for slug in [account] if account else [t.slug for t in demo_data.TENANTS]:
            self._release_due_holds(slug)
        where, params = ["active = 1"], []
        if account:
            where.append("account = ?")
            params.append(account)
        if wanted is not None:
            where.append("(order_number = ? OR order_key = ? OR CAST(order_id AS TEXT) = ?)")
            params += [str(wanted)] * 3
        else:
            where.append("status = 'awaiting_shipment'")
        shipped: list[dict] = []
        notifications: dict[tuple[str, int, str], Notification] = {}
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT account, data FROM ss_orders WHERE {' AND '.join(where)}"
                " ORDER BY order_id",
                params,
            ).fetchall()
            if wanted is not None:
                _check_single_order_to_ship(wanted, rows)
            by_account: dict[str, list[dict]] = {}
            for row in rows:
                by_account.setdefault(row["account"], []).append(json.loads(row["data"]))
            for slug, orders in by_account.items():
                for shipment, notification in self._ship_orders(conn, slug, orders):
                    notifications[(slug, notification.store_id, notification.query["batchId"])] = (
                        notification
                    )
                    shipped.append(
                        {
                            "account": slug,
                            "orderId": shipment["orderId"],
                            "orderNumber": shipment["orderNumber"],
                            "shipmentId": shipment["shipmentId"],
                            "trackingNumber": shipment["trackingNumber"],
                            "batchId": int(shipment["batchNumber"]),
                        }
                    )
        webhooks = self._send(notifications.values())
        return {"shipped": shipped, "webhooks_queued": webhooks}

    def _control_rate_limit(self, payload: dict) -> dict:
        limit = payload.get("limit", DEFAULT_RATE_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ControlError("limit must be a positive integer")
        retry_after = payload.get("retry_after", False)
        if not isinstance(retry_after, bool):
            raise ControlError("retry_after must be true or false")
        self.limiter.configure(limit, retry_after)
        return {"limit": limit, "retry_after": retry_after, "window_seconds": RATE_WINDOW_SECONDS}

    def _control_api_access(self, payload: dict) -> dict:
        """Simulate an account whose plan lacks V1 API access (403 on every call)."""
        account = payload.get("account")
        enabled = payload.get("enabled")
        if not isinstance(enabled, bool):
            raise ControlError("enabled must be true or false")
        changed = self.db.execute(
            "UPDATE ss_accounts SET api_access = ? WHERE slug = ?", (int(enabled), account)
        ).rowcount
        if not changed:
            raise ControlError(f"Unknown ShipStation account {account!r}")
        return {"account": account, "api_access": enabled}


# ---------------------------------------------------------------------------
# Helpers.


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, separator, secret = decoded.partition(":")
    return (key, secret) if separator else None


def _next_id(conn: sqlite3.Connection, counter: str) -> int:
    return conn.execute(
        "UPDATE ss_counters SET value = value + 1 WHERE name = ? RETURNING value", (counter,)
    ).fetchone()[0]


def _json_body(req: SandboxRequest, parameter: str) -> Any:
    try:
        return req.json()
    except ValueError as exc:
        raise ApiError.invalid({parameter: [str(exc)]}) from None


def _json_object(req: SandboxRequest, parameter: str) -> dict:
    payload = _json_body(req, parameter)
    if not isinstance(payload, dict):
        raise ApiError.invalid({parameter: ["A JSON object is required."]})
    return payload


def _required_int(payload: dict, name: str, parameter: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError.invalid({f"{parameter}.{name}": [f"{name} is required."]})
    return value


def _validate_order(payload: dict, prefix: str) -> dict[str, list[str]]:
    """ModelState errors for an order write; empty when the order is acceptable."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, text: str) -> None:
        errors.setdefault(f"{prefix}.{field}", []).append(text)

    number = payload.get("orderNumber")
    if not isinstance(number, str) or not number.strip():
        fail("orderNumber", "The OrderNumber field is required.")
    elif len(number) > 50:
        fail("orderNumber", "The field OrderNumber must be a string with a maximum length of 50.")
    if payload.get("orderStatus") not in ORDER_STATUSES:
        fail("orderStatus", f"orderStatus must be one of {', '.join(ORDER_STATUSES)}.")
    if payload.get("orderDate") is None:
        fail("orderDate", "The OrderDate field is required.")
    for field in ("orderDate", "paymentDate", "shipByDate", "holdUntilDate", "shipDate"):
        if payload.get(field) is not None:
            try:
                parse_api_datetime(payload[field])
            except ValueError as exc:
                fail(field, str(exc))
    for field in ("billTo", "shipTo"):
        if not isinstance(payload.get(field), dict):
            fail(field, f"The {field[0].upper()}{field[1:]} field is required.")
    for field in ("amountPaid", "taxAmount", "shippingAmount"):
        if not _is_number_or_none(payload.get(field)):
            fail(field, f"The value for {field} is not a valid decimal.")
    items = payload.get("items")
    if items is not None and not isinstance(items, list):
        fail("items", "items must be an array.")
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            fail(f"items[{index}]", "Each item must be an object.")
            continue
        if not isinstance(item.get("name"), str) or not item["name"]:
            fail(f"items[{index}].name", "The Name field is required.")
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            fail(f"items[{index}].quantity", "quantity must be a whole number.")
        if not _is_number_or_none(item.get("unitPrice")):
            fail(f"items[{index}].unitPrice", "unitPrice must be a decimal.")
    advanced = payload.get("advancedOptions")
    if advanced is not None and not isinstance(advanced, dict):
        fail("advancedOptions", "advancedOptions must be an object.")
    elif advanced and advanced.get("storeId") is not None:
        store_id = advanced["storeId"]
        if not isinstance(store_id, int) or isinstance(store_id, bool):
            fail("advancedOptions.storeId", "storeId must be a whole number.")
    return errors


def _is_number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _money(value: Any) -> float:
    return round(float(value or 0), 2)


def _timestamp_field(value: Any) -> str | None:
    return format_timestamp(parse_api_datetime(value)) if value is not None else None


def _day_field(value: Any) -> str | None:
    return pacific_day(parse_api_datetime(value)) if value is not None else None


def _sort_key_of(pacific_stamp: str | None) -> str | None:
    return sort_key(parse_api_datetime(pacific_stamp)) if pacific_stamp else None


def _hold_until_key(order: dict) -> str | None:
    if order["orderStatus"] != "on_hold" or not order["holdUntilDate"]:
        return None
    return _sort_key_of(order["holdUntilDate"])


ADDRESS_FIELDS = (
    "name",
    "company",
    "street1",
    "street2",
    "street3",
    "city",
    "state",
    "postalCode",
    "country",
    "phone",
    "residential",
)


def _address(raw: dict | None, verified: str | None) -> dict:
    raw = raw or {}
    address = {name: raw.get(name) for name in ADDRESS_FIELDS}
    address["addressVerified"] = verified
    return address


def _weight(raw: Any) -> dict | None:
    if not isinstance(raw, dict) or raw.get("value") is None:
        return None
    units = raw.get("units") if raw.get("units") in WEIGHT_UNITS else "ounces"
    return {"value": raw["value"], "units": units, "WeightUnits": WEIGHT_UNITS[units]}


def _items_weight(items: list[dict]) -> dict:
    """Without an order weight, ShipStation adds up the line weights (here in ounces)."""
    ounces = sum(
        item["weight"]["value"] * OUNCES_PER_UNIT[item["weight"]["units"]] * item["quantity"]
        for item in items
        if item["weight"]
    )
    return {"value": round(ounces, 2), "units": "ounces", "WeightUnits": WEIGHT_UNITS["ounces"]}


def _order_item(conn: sqlite3.Connection, raw: dict, previous: dict | None, stamp: str) -> dict:
    """One line in read shape; a line re-sent with the same lineItemKey keeps its orderItemId."""
    return {
        "orderItemId": previous["orderItemId"] if previous else _next_id(conn, "order_item"),
        "lineItemKey": raw.get("lineItemKey"),
        "sku": raw.get("sku"),
        "name": raw["name"],
        "imageUrl": raw.get("imageUrl"),
        "weight": _weight(raw.get("weight")),
        "quantity": raw.get("quantity", 1),
        "unitPrice": _money(raw.get("unitPrice")),
        "taxAmount": raw.get("taxAmount"),
        "shippingAmount": raw.get("shippingAmount"),
        "warehouseLocation": raw.get("warehouseLocation"),
        "options": raw.get("options") or [],
        "productId": raw.get("productId"),
        "fulfillmentSku": raw.get("fulfillmentSku"),
        "adjustment": bool(raw.get("adjustment")),
        "upc": raw.get("upc"),
        "createDate": previous["createDate"] if previous else stamp,
        "modifyDate": stamp,
    }


def _order_customer_names(order: dict) -> str:
    return " ".join((order[side].get("name") or "").lower() for side in ("billTo", "shipTo"))


def _order_item_text(order: dict) -> str:
    """What itemKeyword searches: SKU, description (name) and option values."""
    parts = []
    for item in order["items"]:
        parts += [item["sku"] or "", item["name"] or ""]
        parts += [str(option.get("value") or "") for option in item["options"]]
    return " ".join(parts).lower()


def _order_notification(account: str, advanced_options: dict, batch: str) -> Notification:
    store_id = advanced_options["storeId"]
    return Notification(
        account,
        store_id,
        "ORDER_NOTIFY",
        "orders",
        {"storeID": str(store_id), "importBatch": batch},
    )


def _bulk_failure(item: dict, error: ApiError) -> dict:
    messages = [text for texts in error.body.get("ModelState", {}).values() for text in texts]
    return {
        "orderId": 0,
        "orderNumber": item.get("orderNumber"),
        "orderKey": item.get("orderKey"),
        "success": False,
        "errorMessage": " ".join(messages) or error.body.get("Message"),
    }


def _check_single_order_to_ship(wanted: Any, rows: list[sqlite3.Row]) -> None:
    if not rows:
        raise ControlError(f"No ShipStation order matches {wanted!r}")
    if len(rows) > 1:
        raise ControlError(f'{len(rows)} orders match {wanted!r}; pass "account" or the orderKey')
    status = json.loads(rows[0]["data"])["orderStatus"]
    if status != "awaiting_shipment":
        raise ControlError(f"Order {wanted!r} is {status}; only awaiting_shipment orders ship")


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _order_by(args: QueryArgs, columns: dict[str, str], default: str, tiebreak: str) -> str:
    """A whitelisted ORDER BY from sortBy/sortDir (ASC unless told otherwise)."""
    sort_by = args.choice("sortBy", columns)
    direction = "DESC" if args.choice("sortDir", ("ASC", "DESC")) == "DESC" else "ASC"
    column = columns[sort_by] if sort_by else default
    return f"{column} {direction}, {tiebreak} {direction}"


def _paging(args: QueryArgs) -> tuple[int, int]:
    page = args.integer("page", minimum=1, maximum=1_000_000) or 1
    page_size = args.integer("pageSize", minimum=1, maximum=MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    return page, page_size


def _envelope(key: str, items: list[dict], page: int, page_size: int) -> dict:
    start = (page - 1) * page_size
    return {
        key: items[start : start + page_size],
        "total": len(items),
        "page": page,
        "pages": math.ceil(len(items) / page_size),
    }


def _date_range(
    args: QueryArgs,
    where: list[str],
    params: list,
    name: str,
    column: str,
    read: Callable[[str], str | None],
) -> None:
    """`{name}Start` / `{name}End` as inclusive bounds ("on or after", "on or before")."""
    for suffix, operator in (("Start", ">="), ("End", "<=")):
        if (value := read(name + suffix)) is not None:
            where.append(f"{column} {operator} ?")
            params.append(value)


def _field_matchers(
    args: QueryArgs, **fields: Callable[[dict], str]
) -> list[Callable[[dict], bool]]:
    """Case-insensitive equality filters for the query parameters that are present."""
    return [
        _equals(read, wanted.lower())
        for name, read in fields.items()
        if (wanted := args.text(name)) is not None
    ]


def _equals(read: Callable[[dict], str], wanted: str) -> Callable[[dict], bool]:
    return lambda row: read(row) == wanted
