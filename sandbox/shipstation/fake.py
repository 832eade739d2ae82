"""The ShipStation fake itself: accounts, auth, rate limit, routing, control actions.

Each resource lives in its own module (`orders`, `shipments`, `stores`, `webhooks`) as a
mixin providing the `_{handler}` methods that `ROUTES` names.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox import demo_data
from sandbox.core import ControlError, Sandbox, SandboxRequest, SandboxResponse
from sandbox.shipstation.onboarding import add_account
from sandbox.shipstation.orders import OrdersMixin
from sandbox.shipstation.shared import PACIFIC, Account, ApiError, Notification
from sandbox.shipstation.shipments import ShipmentsMixin
from sandbox.shipstation.stores import StoresMixin
from sandbox.shipstation.webhooks import WebhooksMixin

log = logging.getLogger("sandbox.shipstation")

DEFAULT_RATE_LIMIT = 40
RATE_WINDOW_SECONDS = 60

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
CREATE INDEX IF NOT EXISTS ss_orders_order_date ON ss_orders (account, order_date);
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
CREATE TABLE IF NOT EXISTS ss_status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    order_key TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ss_cancel_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    order_key TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    refusal TEXT
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
        with self._lock:
            now = time.monotonic()  # read under the lock: a window never starts after "now"
            started, used = self._windows.get(key_pair, (now, 0))
            if now - started >= RATE_WINDOW_SECONDS:
                started, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key_pair] = (started, used)
            elapsed = now - started  # `started + 60 - now` can round up past 60
            reset = max(1, math.ceil(RATE_WINDOW_SECONDS - elapsed))
            return RateDecision(allowed, self.limit, self.limit - used, reset)

    def untouched(self) -> RateDecision:
        """Headers for answers that cannot be tied to a key pair (bad credentials)."""
        return RateDecision(True, self.limit, self.limit, RATE_WINDOW_SECONDS)


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


class ShipStationFake(OrdersMixin, ShipmentsMixin, StoresMixin, WebhooksMixin):
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
        actions = {
            "ship": self._control_ship,
            "set-rate-limit": self._control_rate_limit,
            "set-api-access": self._control_api_access,
            "order-history": self._control_order_history,
            "delete-order": self._control_delete_order,
            "set-order-total": self._control_set_order_total,
            "add-account": lambda payload: add_account(self, payload),
        }
        if action not in actions:
            raise ControlError(
                f"Unknown ShipStation action {action!r}; known: {', '.join(sorted(actions))}"
            )
        return actions[action](payload)

    def status(self) -> dict[str, Any]:
        with self._stats_lock:
            stats = dict(self._stats)
        return {
            "shipstation_orders": self.db.scalar("SELECT COUNT(*) FROM ss_orders WHERE active = 1"),
            "shipments": self.db.scalar("SELECT COUNT(*) FROM ss_shipments"),
            "fulfillments": self.db.scalar("SELECT COUNT(*) FROM ss_fulfillments"),
            "webhook_subscriptions": self.db.scalar("SELECT COUNT(*) FROM ss_webhooks"),
            **stats,
            "orders_by_status": self._orders_by_status(),
            "cancel_requests": self.db.scalar("SELECT COUNT(*) FROM ss_cancel_requests"),
            "cancel_requests_refused": self.db.scalar(
                "SELECT COUNT(*) FROM ss_cancel_requests WHERE accepted = 0"
            ),
        }

    def _orders_by_status(self) -> dict[str, int]:
        """Active orders per status; the four a warehouse works with are always listed."""
        counts = dict.fromkeys(("awaiting_shipment", "on_hold", "cancelled", "shipped"), 0)
        rows = self.db.query(
            "SELECT status, COUNT(*) AS n FROM ss_orders WHERE active = 1 GROUP BY status"
        )
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

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

    # -- control actions ------------------------------------------------------------

    def _control_ship(self, payload: dict) -> dict:
        """Buy labels for awaiting_shipment orders, as a warehouse user would in the UI."""
        wanted = payload.get("order")
        ship_all = bool(payload.get("all"))
        account = payload.get("account")
        if (wanted is not None) == ship_all:
            raise ControlError('ship needs either "order" (number, key or id) or "all": true')
        accounts = [row["slug"] for row in self.db.query("SELECT slug FROM ss_accounts")]
        if account is not None and account not in accounts:
            raise ControlError(f"Unknown ShipStation account {account!r}")
        for slug in [account] if account else accounts:
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

    def _control_order_history(self, payload: dict) -> dict:
        """One order as GET /orders/{id} shows it, with every status it took and the cancel
        upserts received for its orderKey (taken and refused)."""
        wanted, account = payload.get("order"), payload.get("account")
        if wanted in (None, ""):
            raise ControlError('order-history needs "order" (number, key or id)')
        where = ["(order_number = ? OR order_key = ? OR CAST(order_id AS TEXT) = ?)"]
        params = [str(wanted)] * 3
        if account:
            where.append("account = ?")
            params.append(account)
        rows = self.db.query(
            f"SELECT account, data FROM ss_orders WHERE {' AND '.join(where)} ORDER BY order_id",
            params,
        )
        if not rows:
            raise ControlError(f"No ShipStation order matches {wanted!r}")
        if len(rows) > 1:
            raise ControlError(f'{len(rows)} orders match {wanted!r}; pass "account" or the key')
        slug, order = rows[0]["account"], json.loads(rows[0]["data"])
        history = self.db.query(
            "SELECT from_status, to_status, changed_at FROM ss_status_history"
            " WHERE order_id = ? ORDER BY id",
            (order["orderId"],),
        )
        cancels = self.db.query(
            "SELECT requested_at, accepted, refusal FROM ss_cancel_requests"
            " WHERE account = ? AND order_key = ? ORDER BY id",
            (slug, order["orderKey"]),
        )
        return {
            "account": slug,
            "order": order,
            "status_history": [
                {"from": row["from_status"], "to": row["to_status"], "at": row["changed_at"]}
                for row in history
            ],
            "cancel_requests": len(cancels),
            "cancel_requests_refused": sum(1 for row in cancels if not row["accepted"]),
            "cancel_request_log": [
                {
                    "at": row["requested_at"],
                    "accepted": bool(row["accepted"]),
                    "refusal": row["refusal"],
                }
                for row in cancels
            ],
        }

    def _one_order(self, conn: Any, payload: dict, action: str) -> sqlite3.Row:
        """The one active order a control action names by number, key or id."""
        wanted, account = payload.get("order"), payload.get("account")
        if wanted in (None, ""):
            raise ControlError(f'{action} needs "order" (number, key or id)')
        where = ["active = 1", "(order_number = ? OR order_key = ? OR CAST(order_id AS TEXT) = ?)"]
        params = [str(wanted)] * 3
        if account:
            where.append("account = ?")
            params.append(account)
        rows = conn.execute(
            f"SELECT order_id, account, data FROM ss_orders WHERE {' AND '.join(where)}", params
        ).fetchall()
        if not rows:
            raise ControlError(f"No ShipStation order matches {wanted!r}")
        if len(rows) > 1:
            raise ControlError(f'{len(rows)} orders match {wanted!r}; pass "account" or the key')
        return rows[0]

    def _control_delete_order(self, payload: dict) -> dict:
        """Remove an order and its orderKey, as if it had never been created (a person deleted
        it), so the hub's reconciliation can be shown finding it missing and its retry can
        create it again under the same orderKey."""
        with self.db.transaction() as conn:
            row = self._one_order(conn, payload, "delete-order")
            conn.execute("DELETE FROM ss_orders WHERE order_id = ?", (row["order_id"],))
        order = json.loads(row["data"])
        return {"account": row["account"], "orderId": order["orderId"], "deleted": True}

    def _control_set_order_total(self, payload: dict) -> dict:
        """Change an order's `orderTotal` behind the hub's back (a disagreement to find)."""
        try:
            total = round(float(payload.get("total")), 2)
        except (TypeError, ValueError):
            raise ControlError('set-order-total needs "total" (a number)') from None
        with self.db.transaction() as conn:
            row = self._one_order(conn, payload, "set-order-total")
            order = json.loads(row["data"])
            order["orderTotal"] = total
            conn.execute(
                "UPDATE ss_orders SET data = ? WHERE order_id = ?",
                (json.dumps(order), row["order_id"]),
            )
        return {"account": row["account"], "orderId": order["orderId"], "orderTotal": total}

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


def _check_single_order_to_ship(wanted: Any, rows: list[sqlite3.Row]) -> None:
    if not rows:
        raise ControlError(f"No ShipStation order matches {wanted!r}")
    if len(rows) > 1:
        raise ControlError(f'{len(rows)} orders match {wanted!r}; pass "account" or the orderKey')
    status = json.loads(rows[0]["data"])["orderStatus"]
    if status != "awaiting_shipment":
        raise ControlError(f"Order {wanted!r} is {status}; only awaiting_shipment orders ship")
