"""Local fake of the API2Cart v1.1 REST API, following ../shared/contracts/api2cart.md §8.

Served at `/api2cart/v1.1/{method}.json`. Behaviour the hub must cope with is reproduced on
purpose: errors with HTTP 200 and a non-zero `return_code`, default `params` that hide fields,
A2CDateTime objects, URL-encoded opaque page cursors, page-size `*_count` fields, concurrency
caps (5 per store, 10 per account) and the 15-minute idempotency cache.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from integration_hub.sandbox import demo_data
from integration_hub.sandbox.core import ControlError, Sandbox, SandboxRequest, SandboxResponse

A2C_FORMAT = "Y-m-d\\TH:i:sO"
STORAGE_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"
MAX_COUNT = 250
CURSOR_PREFIX = "a2c/v1/"  # the "/" makes the URL-encoding of pagination.next visible
DEFAULT_COUNT = 10
IDEMPOTENCY_TTL = timedelta(minutes=15)
FAILED_WEBHOOK_TTL = timedelta(hours=24)
WEBHOOK_MAX_FAILURES = 5

MESSAGES = {
    1: "Service not available",
    2: "Incorrect API Key",
    3: "Method not specified",
    4: "Store access denied",
    7: "Store request limit exceeded. Please wait until the previous requests are processed",
    8: "Store already exists",
    9: "Internal service error",
    10: "Account request limit exceeded. Please wait until the previous requests are processed",
    100: "Store API access error. Please check the store URL and credentials",
    101: "Store not found",
    109: "Incorrect parameters",
    111: "Too many items requested",
    112: "Item not found",
    113: "Entity already exists",
    114: "Required parameter is not specified",
}

ORDER_STATUSES = (
    "Pending",
    "Processing",
    "Shipped",
    "Completed",
    "Canceled",
    "Refunded",
    "On Hold",
)
FINANCIAL_STATUSES = (
    "pending",
    "authorized",
    "paid",
    "partially_paid",
    "partially_refunded",
    "refunded",
    "voided",
)
FULFILLMENT_STATUSES = ("unfulfilled", "partially_fulfilled", "fulfilled")
WEBHOOK_ENTITIES = ("order", "product", "customer", "category")
WEBHOOK_ACTIONS = ("add", "update", "delete")

# Arguments that steer the response rather than select rows; they may accompany a page_cursor.
PRESENTATION_ARGS = {
    "page_cursor",
    "count",
    "params",
    "response_fields",
    "exclude",
    "api_key",
    "store_key",
    "rounding_precision",
    "lang_id",
    "currency_id",
    "use_latest_api_version",
    "enable_cache",
    "disable_cache",
}
NOT_FILTERS = PRESENTATION_ARGS | {"start", "idempotency_key"}


class A2CError(Exception):
    """An API2Cart error: answered with HTTP 200 and this return code."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "Error"))
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")


def required(name: str) -> A2CError:
    return A2CError(114, f"Required parameter '{name}' is not specified")


def not_found(entity: str, value: Any) -> A2CError:
    return A2CError(112, f"{entity} with id {value} not found")


def invalid(name: str, detail: str = "") -> A2CError:
    return A2CError(109, f"Parameter '{name}' is not valid. {detail}".strip())


# --- dates ---------------------------------------------------------------------------------


def stored(moment: datetime) -> str:
    """UTC timestamps in one fixed format, so SQL string comparison orders them correctly."""
    return moment.astimezone(UTC).strftime(STORAGE_FORMAT)


def a2c_date(value: str | None) -> dict[str, str] | None:
    return None if value is None else {"value": value, "format": A2C_FORMAT}


def parse_input_date(name: str, raw: str) -> str:
    """Accept `Y-m-d H:i:s` (read as UTC) and `Y-m-d\\TH:i:sO`; anything else is code 109."""
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = datetime.strptime(raw.strip(), pattern)
        except ValueError:
            continue
        return stored(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    raise invalid(
        name,
        "The required type of parameter is a date string in 'Y-m-d\\TH:i:sO' ISO_8601 format.",
    )


def money(value: Decimal | float) -> float:
    return float(round(Decimal(str(value)), 2))


# --- argument helpers ---------------------------------------------------------------------


def uint(args: dict, name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise invalid(name, "The required type of parameter is unsigned integer.")


def number(args: dict, name: str) -> float | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise invalid(name, "The required type of parameter is number.") from None


def boolean(args: dict, name: str, default: bool | None = None) -> bool | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise invalid(name, "The required type of parameter is boolean.")


def csv(args: dict, name: str) -> list[str]:
    raw = args.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def text(args: dict, name: str) -> str | None:
    raw = args.get(name)
    return None if raw is None or raw == "" else str(raw)


def need(args: dict, name: str) -> str:
    value = text(args, name)
    if value is None:
        raise required(name)
    return value


# --- params / exclude / response_fields ----------------------------------------------------


def select_fields(
    doc: dict, args: dict, default: str, groups: dict[str, tuple[str, ...]] | None = None
) -> dict:
    """Apply `params` (field groups or force_all) and `exclude` (force_all only)."""
    if args.get("response_fields"):
        return doc
    requested = csv(args, "params") or default.split(",")
    if "force_all" in requested:
        excluded = set(csv(args, "exclude"))
        return {key: value for key, value in doc.items() if key not in excluded}
    wanted: list[str] = []
    for name in requested:
        wanted.extend((groups or {}).get(name, (name,)))
    return {key: doc[key] for key in wanted if key in doc}


def parse_response_fields(spec: str) -> dict | None:
    """Parse the brace syntax `{a,b{c,d}}` into {name: subtree or None}; `*` means everything."""
    tokens = re.findall(r"[{},]|[^{},\s]+", spec)
    position = 0

    def group() -> dict | None:
        nonlocal position
        if position >= len(tokens) or tokens[position] != "{":
            raise invalid("response_fields")
        position += 1
        fields: dict[str, dict | None] = {}
        wildcard = False
        while position < len(tokens) and tokens[position] != "}":
            name = tokens[position]
            if name == ",":
                position += 1
                continue
            position += 1
            subtree = group() if position < len(tokens) and tokens[position] == "{" else None
            if name == "*":
                wildcard = True
            else:
                fields[name] = subtree
        if position >= len(tokens):
            raise invalid("response_fields")
        position += 1
        return None if wildcard else fields

    tree = group()
    if position != len(tokens):
        raise invalid("response_fields")
    return tree


def project(value: Any, tree: dict | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [project(item, tree) for item in value]
    if isinstance(value, dict):
        return {key: project(value[key], sub) for key, sub in tree.items() if key in value}
    return value


# --- cursors ------------------------------------------------------------------------------


def encode_cursor(method: str, filters: dict, offset: int, count: int) -> str:
    """Opaque, and URL-encoded in the JSON as API2Cart does (the client decodes it once)."""
    raw = json.dumps({"m": method, "f": filters, "o": offset, "c": count}, separators=(",", ":"))
    return quote(CURSOR_PREFIX + base64.b64encode(raw.encode()).decode(), safe="")


def decode_cursor(method: str, cursor: str) -> tuple[dict, int, int]:
    try:
        if not cursor.startswith(CURSOR_PREFIX):
            raise ValueError
        data = json.loads(base64.b64decode(cursor[len(CURSOR_PREFIX) :].encode(), validate=True))
        if data["m"] != method:
            raise ValueError
        return dict(data["f"]), int(data["o"]), int(data["c"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid(
            "page_cursor", "The cursor is not valid or belongs to another method."
        ) from None


# --- webhook filtering_conditions ---------------------------------------------------------


def matches(condition: dict | None, entity: dict, depth: int = 1) -> bool:
    """Evaluate a filtering_conditions tree against the delivered entity."""
    if not condition:
        return True
    if depth > 5:
        return False
    if "and" in condition:
        return all(matches(c, entity, depth + 1) for c in condition["and"])
    if "or" in condition:
        return any(matches(c, entity, depth + 1) for c in condition["or"])
    if "not" in condition:
        return not matches(condition["not"], entity, depth + 1)
    actual: Any = entity
    for part in str(condition.get("field", "")).split("."):
        actual = actual.get(part) if isinstance(actual, dict) else None
    if isinstance(actual, dict) and "value" in actual:
        actual = actual["value"]
    if isinstance(actual, dict) and "id" in actual:
        actual = actual["id"]
    expected = condition.get("value")
    operator = condition.get("operator")
    try:
        if operator == "eq":
            return actual == expected or str(actual) == str(expected)
        if operator == "neq":
            return not (actual == expected or str(actual) == str(expected))
        if operator in ("in", "not_in"):
            found = str(actual) in {str(v) for v in (expected or [])}
            return found if operator == "in" else not found
        if operator in ("like", "not_like"):
            pattern = re.escape(str(expected)).replace("%", ".*").replace("_", ".")
            found = re.fullmatch(pattern, str(actual), re.IGNORECASE) is not None
            return found if operator == "like" else not found
        compare = {"gt": float.__gt__, "gte": float.__ge__, "lt": float.__lt__, "lte": float.__le__}
        if operator in compare:
            return compare[operator](float(actual), float(expected))
    except (TypeError, ValueError):
        return False
    return False


def webhook_signature(headers: dict[str, str], body: bytes, key: str) -> str:
    """The contract's best guess (§6.3): HMAC-SHA256 over PHP json_encode(sorted headers) + body."""
    signed = {name: headers[name] for name in sorted(headers) if name != "X-Webhook-Signature"}
    encoded = json.dumps(signed, separators=(",", ":")).replace("/", "\\/")
    digest = hmac.new(key.encode(), encoded.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- schema -------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS a2c_stores (
    store_key TEXT PRIMARY KEY, id INTEGER NOT NULL, name TEXT NOT NULL, display_name TEXT,
    cart_id TEXT NOT NULL, url TEXT NOT NULL, custom_label TEXT, connected INTEGER DEFAULT 1,
    sign_webhooks INTEGER DEFAULT 0, latency_ms INTEGER DEFAULT 0, supports_webhooks INTEGER,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS a2c_products (
    store_key TEXT, id INTEGER, sku TEXT, name TEXT, created_at TEXT, modified_at TEXT,
    doc TEXT NOT NULL, PRIMARY KEY (store_key, id));
CREATE TABLE IF NOT EXISTS a2c_children (
    store_key TEXT, id INTEGER, parent_id INTEGER, sku TEXT, created_at TEXT, modified_at TEXT,
    doc TEXT NOT NULL, PRIMARY KEY (store_key, id));
CREATE TABLE IF NOT EXISTS a2c_customers (
    store_key TEXT, id INTEGER, email TEXT, created_at TEXT, modified_at TEXT,
    doc TEXT NOT NULL, PRIMARY KEY (store_key, id));
CREATE TABLE IF NOT EXISTS a2c_orders (
    store_key TEXT, id INTEGER, order_id TEXT, status TEXT, financial_status TEXT,
    fulfillment_status TEXT, customer_id TEXT, customer_email TEXT, created_at TEXT,
    modified_at TEXT, doc TEXT NOT NULL, PRIMARY KEY (store_key, id));
CREATE INDEX IF NOT EXISTS a2c_orders_modified ON a2c_orders (store_key, modified_at);
CREATE TABLE IF NOT EXISTS a2c_shipments (
    store_key TEXT, id INTEGER, order_id TEXT, created_at TEXT, modified_at TEXT,
    doc TEXT NOT NULL, PRIMARY KEY (store_key, id));
CREATE TABLE IF NOT EXISTS a2c_webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, store_key TEXT, entity TEXT, action TEXT,
    callback TEXT, label TEXT, fields TEXT, response_fields TEXT, active INTEGER,
    lang_id TEXT, store_id TEXT, filtering_conditions TEXT, created_at TEXT, updated_at TEXT,
    failures INTEGER DEFAULT 0, error_tries INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS a2c_failed_webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id INTEGER, store_key TEXT, entity_id TEXT,
    time TEXT, reason TEXT);
CREATE TABLE IF NOT EXISTS a2c_received (method TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS a2c_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, store_key TEXT, method TEXT, status TEXT,
    created_at TEXT, processed_at TEXT, payload TEXT, result TEXT, doc TEXT, ready_at REAL);
CREATE TABLE IF NOT EXISTS a2c_idempotency (
    scope TEXT, key TEXT, method TEXT, response TEXT, created_at REAL,
    PRIMARY KEY (scope, key));
"""

ORDER_DEFAULT_PARAMS = "order_id,customer,totals,address,items,bundles,status"
ORDER_GROUPS = {"address": ("billing_address", "shipping_address"), "items": ("order_products",)}
CART_GROUPS = {"store_name": ("name",), "store_url": ("url",)}


@dataclass
class Call:
    """One API call: the merged arguments and the store it addresses (None for account calls)."""

    method: str
    args: dict[str, Any]
    store: dict | None


class ConcurrencyGate:
    """The account (10) and per-store (5) limits on calls in flight."""

    def __init__(self, per_store: int = 5, per_account: int = 10) -> None:
        self.per_store = per_store
        self.per_account = per_account
        self._lock = threading.Lock()
        self._stores: Counter[str] = Counter()
        self._account = 0

    @contextmanager
    def slot(self, store_key: str | None) -> Iterator[None]:
        with self._lock:
            if store_key and self._stores[store_key] >= self.per_store:
                raise A2CError(7)
            if self._account >= self.per_account:
                raise A2CError(10)
            self._account += 1
            if store_key:
                self._stores[store_key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._account -= 1
                if store_key:
                    self._stores[store_key] -= 1


Handler = Callable[["Api2CartFake", Call], dict]
METHODS: dict[str, tuple[str, Handler]] = {}
LIST_METHODS: set[str] = set()


def method(name: str, scope: str = "store", paginated: bool = False) -> Callable:
    """Register an API method; scope "account" needs only the API key."""

    def register(func: Handler) -> Handler:
        METHODS[name] = (scope, func)
        if paginated:
            LIST_METHODS.add(name)
        return func

    return register


class Api2CartFake:
    """The API2Cart account `demo_data.API2CART_API_KEY` with the demo stores connected."""

    name = "api2cart"
    prefix = "/api2cart/"
    base_path = "/api2cart/v1.1/"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.db = sandbox.db
        self.gate = ConcurrencyGate()
        self.unknown_store_code = 101
        self.batch_delay = timedelta(milliseconds=500)
        self.calls: Counter[str] = Counter()
        self._random = random.Random("api2cart-orders")
        self._jobs_lock = threading.Lock()

    # --- Fake protocol -----------------------------------------------------------------

    def create_schema(self) -> None:
        with self.db.transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def seed(self) -> None:
        if self.db.scalar("SELECT COUNT(*) FROM a2c_stores"):
            return
        now = self.sandbox.now()
        with self.db.transaction() as conn:
            for number_, demo_store in enumerate(demo_data.STORES, start=1):
                self._seed_store(conn, number_, demo_store, now)

    def _seed_store(self, conn: Any, number_: int, demo_store: Any, now: datetime) -> None:
        key = demo_store.store_key
        conn.execute(
            "INSERT INTO a2c_stores (store_key, id, name, display_name, cart_id, url, custom_label,"
            " supports_webhooks, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                key,
                number_,
                demo_store.name,
                demo_store.display_name,
                demo_store.cart_id,
                demo_store.url,
                demo_store.name,
                int(demo_store.supports_webhooks),
                stored(now - timedelta(days=400)),
            ),
        )
        rng = random.Random(f"a2c-stock-{demo_store.name}")
        product_id = number_ * 100000
        child_id = number_ * 100000 + 50000
        for age, product in enumerate(demo_data.store_products(demo_store.name)):
            product_id += 1
            created = stored(now - timedelta(days=300 - age))
            children = []
            for variant in product.variants:
                child_id += 1
                children.append(
                    self._child_doc(child_id, product_id, product, variant, rng.randint(0, 80))
                )
                children[-1]["created_time"] = a2c_date(created)
                children[-1]["modified_time"] = a2c_date(created)
            quantity = sum(c["quantity"] for c in children) if children else rng.randint(0, 120)
            doc = self._product_doc(product_id, product, quantity, created, bool(children))
            conn.execute(
                "INSERT INTO a2c_products VALUES (?,?,?,?,?,?,?)",
                (key, product_id, product.sku, product.name, created, created, json.dumps(doc)),
            )
            for child in children:
                conn.execute(
                    "INSERT INTO a2c_children VALUES (?,?,?,?,?,?,?)",
                    (
                        key,
                        int(child["id"]),
                        product_id,
                        child["sku"],
                        created,
                        created,
                        dumps(child),
                    ),
                )
        for n, person in enumerate(demo_data.store_customers(demo_store.name), start=1):
            customer_id = number_ * 10000 + n
            created = stored(now - timedelta(days=200 - n))
            doc = self._customer_doc(customer_id, person, created)
            conn.execute(
                "INSERT INTO a2c_customers VALUES (?,?,?,?,?,?)",
                (key, customer_id, person.email, created, created, dumps(doc)),
            )

    def _product_doc(
        self, product_id: int, product: Any, quantity: int, created: str, has_children: bool
    ) -> dict:
        return {
            "id": str(product_id),
            "type": "configurable" if has_children else "simple",
            "u_model": product.sku,
            "u_sku": product.sku,
            "name": product.name,
            "description": f"{product.name} from the demo catalogue.",
            "short_description": product.name,
            "price": money(product.price),
            "cost_price": money(product.price * Decimal("0.55")),
            "special_price": {
                "value": 0,
                "avail": False,
                "created_at": None,
                "modified_at": None,
                "expired_at": None,
            },
            "quantity": quantity,
            "inventory": [
                {"warehouse_id": "1", "quantity": quantity, "in_stock": quantity > 0, "priority": 0}
            ],
            "in_stock": quantity > 0,
            "backorders": "no",
            "manage_stock": "True",
            "is_stock_managed": True,
            "avail_sale": True,
            "avail_view": True,
            "is_virtual": False,
            "weight": float(product.weight_kg),
            "weight_unit": "kg",
            "categories_ids": ["1"],
            "stores_ids": ["1"],
            "images": [],
            "product_options": [],
            "create_at": a2c_date(created),
            "modified_at": a2c_date(created),
            "additional_fields": {"owner": product.owner},
            "custom_fields": {},
        }

    def _child_doc(
        self, child_id: int, parent_id: int, product: Any, variant: Any, quantity: int
    ) -> dict:
        label = " / ".join(value for _, value in variant.options)
        return {
            "id": str(child_id),
            "parent_id": str(parent_id),
            "sku": variant.sku,
            "upc": "",
            "ean": "",
            "mpn": "",
            "gtin": "",
            "isbn": "",
            "name": f"{product.name} - {label}",
            "combination": [
                {"option_id": name, "option_value_id": value} for name, value in variant.options
            ],
            "options": [{"name": name, "value": value} for name, value in variant.options],
            "default_price": money(variant.price),
            "price": money(variant.price),
            "cost_price": money(variant.price * Decimal("0.55")),
            "list_price": money(variant.price),
            "wholesale_price": money(variant.price * Decimal("0.7")),
            "advanced_price": [],
            "avail_for_sale": True,
            "allow_backorders": False,
            "in_stock": quantity > 0,
            "on_sale": False,
            "manage_stock": True,
            "quantity": quantity,
            "inventory_level": quantity,
            "inventory": [
                {"warehouse_id": "1", "quantity": quantity, "in_stock": quantity > 0, "priority": 0}
            ],
            "min_quantity": 1,
            "low_stock_threshold": 2,
            "weight": float(product.weight_kg),
            "weight_unit": "kg",
        }

    def _address(self, person: Any, kind: str) -> dict:
        country = COUNTRIES.get(person.country, (person.country, person.country))
        return {
            "id": "",
            "type": kind,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "company": person.company,
            "address1": person.address1,
            "address2": "",
            "city": person.city,
            "postcode": person.postcode,
            "region": "",
            "state": {"code": "", "name": ""},
            "country": {"code2": person.country, "code3": country[0], "name": country[1]},
            "phone": person.phone,
            "phone_mobile": "",
            "fax": "",
            "website": "",
            "gender": "",
            "default": True,
            "tax_id": "",
            "identification_number": "",
            "alias": "",
        }

    def _customer_doc(self, customer_id: int, person: Any, created: str) -> dict:
        address = self._address(person, "billing")
        address["id"] = str(customer_id)
        return {
            "id": str(customer_id),
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "phone": person.phone,
            "created_time": a2c_date(created),
            "modified_time": a2c_date(created),
            "group": [{"id": "1", "name": "General"}],
            "login": person.email,
            "last_login": None,
            "birth_day": None,
            "status": "enabled",
            "is_guest": False,
            "news_letter_subscription": False,
            "consents": [],
            "gender": "",
            "stores_ids": ["1"],
            "website": "",
            "fax": "",
            "company": person.company,
            "ip_address": "",
            "address_book": [address],
            "lang_id": "1",
            "orders_count": 0,
            "last_order_id": None,
        }

    def status(self) -> dict[str, int]:
        counts = {
            "stores": "SELECT COUNT(*) FROM a2c_stores",
            "products": "SELECT COUNT(*) FROM a2c_products",
            "variants": "SELECT COUNT(*) FROM a2c_children",
            "customers": "SELECT COUNT(*) FROM a2c_customers",
            "orders": "SELECT COUNT(*) FROM a2c_orders",
            "shipments": "SELECT COUNT(*) FROM a2c_shipments",
            "webhooks": "SELECT COUNT(*) FROM a2c_webhooks",
            "active_webhooks": "SELECT COUNT(*) FROM a2c_webhooks WHERE active = 1",
            "failed_webhooks": "SELECT COUNT(*) FROM a2c_failed_webhooks",
            "jobs_in_progress": "SELECT COUNT(*) FROM a2c_jobs WHERE status = 'in_progress'",
        }
        status = {name: int(self.db.scalar(sql) or 0) for name, sql in counts.items()}
        received = dict(self.db.query("SELECT method, count FROM a2c_received"))
        status["order_status_updates"] = received.get("order.update", 0)
        status["product_updates"] = sum(
            received.get(method, 0) for method in ("product.update", "product.variant.update")
        )
        status["product_batch_updates"] = sum(
            received.get(method, 0)
            for method in ("product.update.batch", "product.variant.update.batch")
        )
        status["calls"] = sum(received.values())
        return status

    def handle(self, req: SandboxRequest) -> SandboxResponse:
        if not (req.path.startswith(self.base_path) and req.path.endswith(".json")):
            return SandboxResponse(404, {"error": f"Not an API2Cart v1.1 path: {req.path}"})
        name = req.path[len(self.base_path) : -len(".json")]
        self.calls[name] += 1
        self.db.execute(
            "INSERT INTO a2c_received (method, count) VALUES (?, 1)"
            " ON CONFLICT(method) DO UPDATE SET count = count + 1",
            (name,),
        )
        try:
            args = self._merged_args(req)
            body = self._call(name, args, req)
        except A2CError as exc:
            body = {"return_code": exc.code, "return_message": exc.message, "result": {}}
        return SandboxResponse(body=encode_envelope(body))

    # --- dispatch ----------------------------------------------------------------------

    def _merged_args(self, req: SandboxRequest) -> dict[str, Any]:
        """Query string merged with a JSON or form body: the sandbox is lenient on transport."""
        args: dict[str, Any] = {}
        for key, values in req.query.items():
            name = key.removesuffix("[]")
            args[name] = values if key.endswith("[]") or len(values) > 1 else values[-1]
        if req.body:
            if "form-urlencoded" in req.headers.get("content-type", ""):
                args.update(req.form())
            else:
                try:
                    body = req.json()
                except ValueError:
                    raise A2CError(109, "Request body is not valid JSON") from None
                if isinstance(body, dict):
                    args.update(body)
        return args

    def _call(self, name: str, args: dict, req: SandboxRequest) -> dict:
        api_key = req.headers.get("x-api-key") or text(args, "api_key")
        if api_key != demo_data.API2CART_API_KEY:
            raise A2CError(2)
        if name not in METHODS:
            raise A2CError(3, f"Method '{name}' is not supported")
        scope, handler = METHODS[name]
        store = None
        if scope == "store":
            store = self._store_for(req.headers.get("x-store-key") or text(args, "store_key"))
        tree = None
        if args.get("response_fields"):
            tree = parse_response_fields(str(args["response_fields"]))
        idempotency_key = text(args, "idempotency_key")
        scope_key = store["store_key"] if store else "account"
        if idempotency_key and (cached := self._replay(scope_key, idempotency_key)):
            return project(cached, tree)
        with self.gate.slot(store["store_key"] if store else None):
            if store and store["latency_ms"]:
                time.sleep(store["latency_ms"] / 1000)
            result = handler(self, Call(name, args, store))
        envelope: dict[str, Any] = {"return_code": 0, "return_message": ""}
        if name in LIST_METHODS:
            envelope.update(pagination=result["pagination"], result=result["result"])
        else:
            envelope["result"] = result
        if idempotency_key:
            self._remember(scope_key, idempotency_key, name, envelope)
        return project(envelope, tree)

    def _store_for(self, store_key: str | None) -> dict:
        if not store_key:
            raise A2CError(self.unknown_store_code)
        rows = self.db.query("SELECT * FROM a2c_stores WHERE store_key = ?", (store_key,))
        if not rows:
            raise A2CError(self.unknown_store_code)
        store = dict(rows[0])
        if not store["connected"]:
            raise A2CError(100)
        return store

    def _replay(self, scope: str, key: str) -> dict | None:
        cutoff = time.time() - IDEMPOTENCY_TTL.total_seconds()
        rows = self.db.query(
            "SELECT response FROM a2c_idempotency WHERE scope = ? AND key = ? AND created_at > ?",
            (scope, key, cutoff),
        )
        return json.loads(rows[0]["response"]) if rows else None

    def _remember(self, scope: str, key: str, name: str, envelope: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO a2c_idempotency VALUES (?,?,?,?,?)",
            (scope, key, name, dumps(envelope), time.time()),
        )

    # --- paging ------------------------------------------------------------------------

    def paged(
        self,
        call: Call,
        table: str,
        where: Callable[[dict], tuple[list[str], list[Any]]],
        sort_columns: dict[str, str],
        default_sort: str,
        items_key: str,
        count_key: str,
        render: Callable[[dict, dict], dict],
    ) -> dict:
        """Offset or cursor paging over one store's rows, with A2C's quirks.

        `pagination.next` is a cursor only on the first page of an offset query or in cursor
        mode (eBay left it null after `start=5`); `*_count` is the size of this page.
        """
        args = call.args
        cursor_raw = text(args, "page_cursor")
        if cursor_raw:
            if "%" in cursor_raw:
                raise invalid("page_cursor", "The cursor must be URL-decoded once before use.")
            stray = sorted(k for k in args if k not in NOT_FILTERS)
            if stray:
                raise invalid(
                    "page_cursor", f"It cannot be combined with filters: {', '.join(stray)}"
                )
            filters, offset, count = decode_cursor(call.method, cursor_raw)
            count = uint(args, "count", count)
        else:
            filters = {k: v for k, v in args.items() if k not in NOT_FILTERS}
            offset = uint(args, "start", 0)
            count = uint(args, "count", DEFAULT_COUNT)
        if count > MAX_COUNT:
            raise invalid("count", f"The maximum value is {MAX_COUNT}.")
        clauses, params = where(filters)
        sort_by = text(filters, "sort_by") or default_sort
        if sort_by not in sort_columns:
            raise invalid("sort_by", f"Supported values: {', '.join(sorted(sort_columns))}.")
        direction = (text(filters, "sort_direction") or "asc").lower()
        if direction not in ("asc", "desc"):
            raise invalid("sort_direction", "Supported values: asc, desc.")
        sql_where = " AND ".join(["store_key = ?", *clauses])
        all_params = [call.store["store_key"] if call.store else "", *params]
        total = self.db.scalar(f"SELECT COUNT(*) FROM {table} WHERE {sql_where}", all_params)
        rows = self.db.query(
            f"SELECT doc FROM {table} WHERE {sql_where} "
            f"ORDER BY {sort_columns[sort_by]} {direction}, id {direction} LIMIT ? OFFSET ?",
            [*all_params, count, offset],
        )
        items: list | RawItems = (
            RawItems(row["doc"] for row in rows)
            if wants_stored_docs(args)
            else [render(json.loads(row["doc"]), args) for row in rows]
        )
        cursor_mode = cursor_raw is not None or offset == 0
        following = offset + count
        return {
            "pagination": {
                "previous": (
                    encode_cursor(call.method, filters, max(offset - count, 0), count)
                    if cursor_raw and offset > 0
                    else None
                ),
                "next": (
                    encode_cursor(call.method, filters, following, count)
                    if cursor_mode and following < total
                    else None
                ),
            },
            "result": {count_key: len(items), items_key: items},
        }

    # --- shared lookups ------------------------------------------------------------------

    def load(self, table: str, store_key: str, id_: Any, entity: str) -> dict:
        try:
            key = int(str(id_))
        except ValueError:
            raise not_found(entity, id_) from None
        rows = self.db.query(
            f"SELECT doc FROM {table} WHERE store_key = ? AND id = ?", (store_key, key)
        )
        if not rows:
            raise not_found(entity, id_)
        return json.loads(rows[0]["doc"])

    def find_order(self, store_key: str, args: dict, required_name: str = "order_id") -> dict:
        """Orders are addressed by `order_id` (number) or the internal `id`."""
        order_id, internal = text(args, "order_id"), text(args, "id")
        if order_id is None and internal is None:
            raise required(required_name)
        column, value = ("order_id", order_id) if order_id is not None else ("id", internal)
        rows = self.db.query(
            f"SELECT doc FROM a2c_orders WHERE store_key = ? AND {column} = ?", (store_key, value)
        )
        if not rows:
            raise not_found("Order", value)
        return json.loads(rows[0]["doc"])

    def save_order(self, conn: Any, store_key: str, order: dict) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO a2c_orders VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                store_key,
                int(order["id"]),
                order["order_id"],
                order["status"]["id"],
                order["financial_status"],
                order["fulfillment_status"],
                order["customer"]["id"],
                order["customer"]["email"],
                order["create_at"]["value"],
                order["modified_at"]["value"],
                dumps(order),
            ),
        )

    def save_product(self, conn: Any, store_key: str, product: dict) -> None:
        conn.execute(
            "UPDATE a2c_products SET sku = ?, name = ?, modified_at = ?, doc = ? "
            "WHERE store_key = ? AND id = ?",
            (
                product["u_sku"],
                product["name"],
                product["modified_at"]["value"],
                dumps(product),
                store_key,
                int(product["id"]),
            ),
        )

    def save_child(self, conn: Any, store_key: str, child: dict) -> None:
        conn.execute(
            "UPDATE a2c_children SET sku = ?, modified_at = ?, doc = ? "
            "WHERE store_key = ? AND id = ?",
            (
                child["sku"],
                child["modified_time"]["value"],
                dumps(child),
                store_key,
                int(child["id"]),
            ),
        )

    def next_id(self, conn: Any, table: str, store_key: str, floor: int) -> int:
        row = conn.execute(f"SELECT MAX(id) FROM {table} WHERE store_key = ?", (store_key,))
        return max(row.fetchone()[0] or 0, floor) + 1

    def store_number(self, store_key: str) -> int:
        return int(self.db.scalar("SELECT id FROM a2c_stores WHERE store_key = ?", (store_key,)))

    # --- webhooks ------------------------------------------------------------------------

    def fire(self, store: dict, entity: str, action: str, doc: dict, entity_id: str) -> int:
        """Deliver `entity.action` to every active matching subscription of the store."""
        hooks = self.db.query(
            "SELECT * FROM a2c_webhooks WHERE store_key = ? AND entity = ? AND action = ? "
            "AND active = 1 ORDER BY id",
            (store["store_key"], entity, action),
        )
        sent = 0
        for hook in hooks:
            conditions = json.loads(hook["filtering_conditions"] or "null")
            if not matches(conditions, doc):
                continue
            fields = {"params": hook["fields"] or "force_all"}
            groups = ORDER_GROUPS if entity == "order" else None
            body = select_fields(doc, fields, "force_all", groups)
            if hook["response_fields"]:
                body = project(body, parse_response_fields(hook["response_fields"]))
            headers = {
                "X-Webhook-Store-Id": hook["store_id"] or "1",
                "X-Webhook-Action": action,
                "X-Webhook-Entity": entity,
                "X-Webhook-Error-Code": "0",
            }
            self._send_hook(store, hook, headers, dumps(body).encode(), entity_id)
            sent += 1
        return sent

    def _send_hook(
        self, store: dict, hook: Any, headers: dict[str, str], body: bytes, entity_id: str
    ) -> None:
        if store["sign_webhooks"]:
            headers["X-Webhook-Signature"] = webhook_signature(
                headers, body, demo_data.API2CART_API_KEY
            )
        webhook_id = hook["id"]
        self.sandbox.emit_webhook(
            self.name,
            hook["callback"],
            headers,
            body,
            on_failure=lambda reason: self._delivery_failed(webhook_id, entity_id, reason),
            on_success=lambda: self._delivery_succeeded(webhook_id),
        )

    def _delivery_failed(self, webhook_id: int, entity_id: str, reason: str) -> None:
        """Recorded for account.failed_webhooks; five failures in a row disable the webhook."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO a2c_failed_webhooks (webhook_id, store_key, entity_id, time, reason) "
                "SELECT id, store_key, ?, ?, ? FROM a2c_webhooks WHERE id = ?",
                (entity_id, stored(self.sandbox.now()), reason, webhook_id),
            )
            conn.execute(
                "UPDATE a2c_webhooks SET failures = failures + 1, "
                "active = CASE WHEN failures + 1 >= ? THEN 0 ELSE active END WHERE id = ?",
                (WEBHOOK_MAX_FAILURES, webhook_id),
            )

    def _delivery_succeeded(self, webhook_id: int) -> None:
        self.db.execute("UPDATE a2c_webhooks SET failures = 0 WHERE id = ?", (webhook_id,))

    # --- control -------------------------------------------------------------------------

    def control(self, action: str, payload: dict) -> dict:
        actions: dict[str, Callable[[dict], dict]] = {
            "place-orders": self._control_place_orders,
            "update-order": self._control_update_order,
            "disconnect-store": self._control_disconnect,
            "reconnect-store": self._control_reconnect,
            "store-settings": self._control_store_settings,
            "configure": self._control_configure,
            "process-jobs": lambda _: {"processed": self.process_jobs(force=True)},
        }
        if action not in actions:
            raise ControlError(
                f"Unknown api2cart action {action!r}; known: {', '.join(sorted(actions))}"
            )
        return actions[action](payload)

    def _control_store(self, payload: dict) -> dict:
        wanted = payload.get("store")
        if not wanted:
            raise ControlError("Missing 'store' (store name or store key)")
        rows = self.db.query(
            "SELECT * FROM a2c_stores WHERE name = ? OR store_key = ?", (wanted, wanted)
        )
        if not rows:
            names = [r["name"] for r in self.db.query("SELECT name FROM a2c_stores")]
            raise ControlError(f"Unknown store {wanted!r}; stores: {', '.join(names)}")
        return dict(rows[0])

    def _control_place_orders(self, payload: dict) -> dict:
        store = self._control_store(payload)
        try:
            count = int(payload.get("count", 1))
        except (TypeError, ValueError):
            raise ControlError("'count' must be an integer") from None
        if not 1 <= count <= 1000:
            raise ControlError("'count' must be between 1 and 1000")
        status = payload.get("status", "Pending")
        financial = payload.get("financial_status", "paid")
        if status not in ORDER_STATUSES:
            raise ControlError(f"Unknown order status {status!r}")
        if financial not in FINANCIAL_STATUSES:
            raise ControlError(f"Unknown financial status {financial!r}")
        lines = payload.get("items")
        placed = []
        for _ in range(count):
            customer = self._pick_customer(store, payload.get("customer_email"))
            chosen = (
                self._order_lines_from_skus(store, lines) if lines else self._random_lines(store)
            )
            order = self.create_order(store, customer, chosen, status, financial)
            webhooks = self.fire(store, "order", "add", order, order["id"])
            placed.append({"order_id": order["order_id"], "id": order["id"], "webhooks": webhooks})
        return {"store": store["name"], "orders": placed}

    def _pick_customer(self, store: dict, email: str | None) -> dict:
        if email:
            rows = self.db.query(
                "SELECT doc FROM a2c_customers WHERE store_key = ? AND email = ?",
                (store["store_key"], email),
            )
            if not rows:
                raise ControlError(f"No customer {email!r} in store {store['name']}")
            return json.loads(rows[0]["doc"])
        rows = self.db.query(
            "SELECT doc FROM a2c_customers WHERE store_key = ? ORDER BY id", (store["store_key"],)
        )
        return json.loads(self._random.choice(rows)["doc"])

    def _random_lines(self, store: dict) -> list[tuple[dict, dict | None, int]]:
        products = self.db.query(
            "SELECT id FROM a2c_products WHERE store_key = ? ORDER BY id", (store["store_key"],)
        )
        picked = self._random.sample(products, self._random.randint(1, 4))
        lines = []
        for row in picked:
            product = self.load("a2c_products", store["store_key"], row["id"], "Product")
            children = self.db.query(
                "SELECT doc FROM a2c_children WHERE store_key = ? AND parent_id = ? ORDER BY id",
                (store["store_key"], row["id"]),
            )
            child = json.loads(self._random.choice(children)["doc"]) if children else None
            lines.append((product, child, self._random.randint(1, 3)))
        return lines

    def _order_lines_from_skus(
        self, store: dict, items: list[dict]
    ) -> list[tuple[dict, dict | None, int]]:
        lines = []
        for item in items:
            sku, quantity = item.get("sku"), int(item.get("quantity", 1))
            found = self.db.query(
                "SELECT parent_id FROM a2c_children WHERE store_key = ? AND sku = ?",
                (store["store_key"], sku),
            )
            if found:
                product = self.load("a2c_products", store["store_key"], found[0][0], "Product")
                child = self._child_by_sku(store["store_key"], sku)
                lines.append((product, child, quantity))
                continue
            found = self.db.query(
                "SELECT id FROM a2c_products WHERE store_key = ? AND sku = ?",
                (store["store_key"], sku),
            )
            if not found:
                raise ControlError(f"Unknown SKU {sku!r} in store {store['name']}")
            product = self.load("a2c_products", store["store_key"], found[0][0], "Product")
            lines.append((product, None, quantity))
        return lines

    def _child_by_sku(self, store_key: str, sku: str) -> dict:
        rows = self.db.query(
            "SELECT doc FROM a2c_children WHERE store_key = ? AND sku = ?", (store_key, sku)
        )
        return json.loads(rows[0]["doc"])

    def _control_update_order(self, payload: dict) -> dict:
        store = self._control_store(payload)
        if not payload.get("order_id"):
            raise ControlError("Missing 'order_id'")
        changes = {
            "order_status": payload.get("status"),
            "financial_status": payload.get("financial_status"),
            "fulfillment_status": payload.get("fulfillment_status"),
            "comment": payload.get("comment"),
        }
        try:
            order = self.update_order(store, str(payload["order_id"]), changes)
        except A2CError as exc:
            raise ControlError(exc.message) from None
        return {"order_id": order["order_id"], "status": order["status"]["id"]}

    def _control_disconnect(self, payload: dict) -> dict:
        """API2Cart lost the store: empty-body notices with X-Webhook-Error-* headers."""
        store = self._control_store(payload)
        attempts = int(payload.get("attempts", 1))
        reason = payload.get("reason", "incorrect store key")
        self.db.execute(
            "UPDATE a2c_stores SET connected = 0 WHERE store_key = ?", (store["store_key"],)
        )
        notices = 0
        for _ in range(attempts):
            hooks = self.db.query(
                "SELECT * FROM a2c_webhooks WHERE store_key = ? AND active = 1 ORDER BY id",
                (store["store_key"],),
            )
            for hook in hooks:
                tries = hook["error_tries"] + 1
                remaining = max(WEBHOOK_MAX_FAILURES - tries, 0)
                self.db.execute(
                    "UPDATE a2c_webhooks SET error_tries = ?, active = ? WHERE id = ?",
                    (tries, int(remaining > 0), hook["id"]),
                )
                headers = {
                    "X-Webhook-Store-Id": hook["store_id"] or "1",
                    "X-Webhook-Action": hook["action"],
                    "X-Webhook-Entity": hook["entity"],
                    "X-Webhook-Error-Code": "100",
                    "X-Webhook-Error-Reason": reason,
                    "X-Webhook-Error-Message": (
                        "API2Cart lost the connection to the store. Reconnect it with "
                        "account.config.update, then re-enable the webhook with webhook.update "
                        "and active=true."
                    ),
                    "X-Webhook-Error-Try-Count": str(remaining),
                }
                self.sandbox.emit_webhook(self.name, hook["callback"], headers, b"")
                notices += 1
        return {"store": store["name"], "connected": False, "notices": notices}

    def _control_reconnect(self, payload: dict) -> dict:
        store = self._control_store(payload)
        self.db.execute(
            "UPDATE a2c_stores SET connected = 1 WHERE store_key = ?", (store["store_key"],)
        )
        self.db.execute(
            "UPDATE a2c_webhooks SET error_tries = 0 WHERE store_key = ?", (store["store_key"],)
        )
        return {"store": store["name"], "connected": True}

    def _control_store_settings(self, payload: dict) -> dict:
        store = self._control_store(payload)
        if "sign_webhooks" in payload:
            self.db.execute(
                "UPDATE a2c_stores SET sign_webhooks = ? WHERE store_key = ?",
                (int(bool(payload["sign_webhooks"])), store["store_key"]),
            )
        if "latency_ms" in payload:
            self.db.execute(
                "UPDATE a2c_stores SET latency_ms = ? WHERE store_key = ?",
                (int(payload["latency_ms"]), store["store_key"]),
            )
        if "supports_webhooks" in payload:
            self.db.execute(
                "UPDATE a2c_stores SET supports_webhooks = ? WHERE store_key = ?",
                (int(bool(payload["supports_webhooks"])), store["store_key"]),
            )
        store = self._control_store(payload)
        return {
            "store": store["name"],
            "sign_webhooks": bool(store["sign_webhooks"]),
            "latency_ms": store["latency_ms"],
            "connected": bool(store["connected"]),
            "supports_webhooks": store["supports_webhooks"] != 0,
        }

    def _control_configure(self, payload: dict) -> dict:
        if "unknown_store_code" in payload:
            code = int(payload["unknown_store_code"])
            if code not in (4, 101):
                raise ControlError("unknown_store_code must be 4 or 101")
            self.unknown_store_code = code
        if "batch_delay_ms" in payload:
            self.batch_delay = timedelta(milliseconds=int(payload["batch_delay_ms"]))
        if "store_concurrency" in payload:
            self.gate.per_store = int(payload["store_concurrency"])
        if "account_concurrency" in payload:
            self.gate.per_account = int(payload["account_concurrency"])
        return {
            "unknown_store_code": self.unknown_store_code,
            "batch_delay_ms": int(self.batch_delay.total_seconds() * 1000),
            "store_concurrency": self.gate.per_store,
            "account_concurrency": self.gate.per_account,
        }

    # --- orders ----------------------------------------------------------------------------

    def create_order(
        self,
        store: dict,
        customer: dict,
        lines: list[tuple[dict, dict | None, int]],
        status: str,
        financial_status: str,
        shipping_address: dict | None = None,
    ) -> dict:
        now = stored(self.sandbox.now())
        store_key = store["store_key"]
        with self.db.transaction() as conn:
            number_ = self.store_number(store_key)
            internal = self.next_id(conn, "a2c_orders", store_key, number_ * 1000000 + 5000)
            order_number = str(internal - number_ * 1000000 - 5000 + 1000)
            items = []
            subtotal = Decimal(0)
            weight = Decimal(0)
            for line_no, (product, child, quantity) in enumerate(lines, start=1):
                source = child or product
                price = Decimal(str(source["price"]))
                subtotal += price * quantity
                weight += Decimal(str(source["weight"])) * quantity
                items.append(
                    {
                        "product_id": product["id"],
                        "order_product_id": str(internal * 100 + line_no),
                        "model": child["sku"] if child else product["u_sku"],
                        "name": child["name"] if child else product["name"],
                        "price": money(price),
                        "price_inc_tax": money(price),
                        "quantity": quantity,
                        "discount_amount": 0.0,
                        "total_price": money(price * quantity),
                        "tax_percent": 0.0,
                        "tax_value": 0.0,
                        "tax_value_after_discount": 0.0,
                        "options": [
                            {
                                "option_id": option["name"],
                                "name": option["name"],
                                "value": option["value"],
                                "price": 0.0,
                                "weight": 0.0,
                                "type": "select",
                                "product_option_value_id": option["value"],
                            }
                            for option in (child or {}).get("options", [])
                        ],
                        "variant_id": child["id"] if child else "",
                        "weight_unit": "kg",
                        "weight": float(source["weight"]),
                        "barcode": "",
                        "parent_order_product_id": None,
                    }
                )
            shipping = Decimal("0") if subtotal >= 100 else Decimal("4.95")
            total = subtotal + shipping
            paid = total if financial_status == "paid" else Decimal(0)
            billing = dict(customer["address_book"][0], type="billing")
            order = {
                "id": str(internal),
                "order_id": order_number,
                "basket_id": None,
                "channel_id": None,
                "store_id": "1",
                "customer": {
                    "id": customer["id"],
                    "email": customer["email"],
                    "first_name": customer["first_name"],
                    "last_name": customer["last_name"],
                    "phone": customer["phone"],
                },
                "create_at": a2c_date(now),
                "modified_at": a2c_date(now),
                "finished_time": None,
                "currency": CURRENCY,
                "billing_address": billing,
                "shipping_address": dict(shipping_address or billing, type="shipping"),
                "payment_method": {"name": "Credit Card"},
                "shipping_method": {"name": "Standard Shipping"},
                "shipping_methods": [{"name": "Standard Shipping"}],
                "status": {
                    "id": status,
                    "name": status,
                    "history": [
                        {
                            "id": status,
                            "name": status,
                            "modified_time": a2c_date(now),
                            "notify": False,
                            "comment": "",
                        }
                    ],
                    "refund_info": None,
                },
                "financial_status": financial_status,
                "fulfillment_status": "unfulfilled",
                "totals": {
                    "total": money(total),
                    "subtotal": money(subtotal),
                    "shipping": money(shipping),
                    "tax": 0.0,
                    "discount": 0.0,
                },
                "total": {
                    "subtotal_ex_tax": money(subtotal),
                    "wrapping_ex_tax": 0.0,
                    "shipping_ex_tax": money(shipping),
                    "total_discount": 0.0,
                    "total_tax": 0.0,
                    "total": money(total),
                    "total_paid": money(paid),
                },
                "discounts": [],
                "order_products": items,
                "bundles": [],
                "comment": None,
                "gift_message": None,
                "order_details_url": f"{store['url']}/admin/orders/{internal}",
                "warehouses_ids": ["1"],
                "refunds": [],
                "total_weight": float(weight),
                "additional_fields": {},
                "custom_fields": {},
            }
            self.save_order(conn, store_key, order)
            customer_doc = self.load("a2c_customers", store_key, customer["id"], "Customer")
            customer_doc["orders_count"] += 1
            customer_doc["last_order_id"] = order_number
            conn.execute(
                "UPDATE a2c_customers SET doc = ? WHERE store_key = ? AND id = ?",
                (dumps(customer_doc), store_key, int(customer["id"])),
            )
        return order

    def update_order(self, store: dict, order_id: str, changes: dict) -> dict:
        """Apply order.update fields and fire order.update webhooks."""
        checks = (
            ("order_status", ORDER_STATUSES),
            ("financial_status", FINANCIAL_STATUSES),
            ("fulfillment_status", FULFILLMENT_STATUSES),
        )
        for field_name, allowed in checks:
            value = changes.get(field_name)
            if value is not None and value not in allowed:
                raise invalid(field_name, f"Supported values: {', '.join(allowed)}.")
        now = stored(self.sandbox.now())
        with self.db.transaction() as conn:
            order = self.find_order(store["store_key"], {"order_id": order_id})
            status = changes.get("order_status")
            if status and status != order["status"]["id"]:
                order["status"]["id"] = order["status"]["name"] = status
                order["status"]["history"].append(
                    {
                        "id": status,
                        "name": status,
                        "modified_time": a2c_date(now),
                        "notify": bool(boolean(changes, "send_notifications", False)),
                        "comment": changes.get("comment") or "",
                    }
                )
                if status == "Completed":
                    order["finished_time"] = a2c_date(now)
            for name in ("financial_status", "fulfillment_status"):
                if changes.get(name):
                    order[name] = changes[name]
            if changes.get("financial_status") == "paid":
                order["total"]["total_paid"] = order["total"]["total"]
            if changes.get("comment"):
                order["comment"] = changes["comment"]
            order["modified_at"] = a2c_date(now)
            self.save_order(conn, store["store_key"], order)
        self.fire(store, "order", "update", order, order["id"])
        return order

    def refresh_fulfillment(self, conn: Any, store_key: str, order: dict) -> None:
        shipped: Counter[str] = Counter()
        rows = conn.execute(
            "SELECT doc FROM a2c_shipments WHERE store_key = ? AND order_id = ?",
            (store_key, order["order_id"]),
        ).fetchall()
        for row in rows:
            for item in json.loads(row["doc"])["items"]:
                shipped[item["order_product_id"]] += item["quantity"]
        ordered = {item["order_product_id"]: item["quantity"] for item in order["order_products"]}
        if not shipped:
            order["fulfillment_status"] = "unfulfilled"
        elif all(shipped[key] >= qty for key, qty in ordered.items()):
            order["fulfillment_status"] = "fulfilled"
        else:
            order["fulfillment_status"] = "partially_fulfilled"
        order["modified_at"] = a2c_date(stored(self.sandbox.now()))
        self.save_order(conn, store_key, order)

    # --- batch jobs -----------------------------------------------------------------------

    def process_jobs(self, force: bool = False) -> int:
        """Run queued batch jobs; they stay in_progress for `batch_delay` unless forced."""
        sql = "SELECT * FROM a2c_jobs WHERE status = 'in_progress'"
        params: tuple = ()
        if not force:
            sql += " AND ready_at <= ?"
            params = (time.time(),)
        processed = 0
        with self._jobs_lock:
            jobs = self.db.query(sql, params)
            for job in jobs:
                self._run_job(job)
                processed += 1
        return processed

    def _run_job(self, job: Any) -> None:
        store = dict(
            self.db.query("SELECT * FROM a2c_stores WHERE store_key = ?", (job["store_key"],))[0]
        )
        items = []
        for index, item in enumerate(json.loads(job["payload"])):
            try:
                if job["method"] == "product.update.batch":
                    entity_id = self.update_product(store, item)
                else:
                    entity_id = self.update_variant(store, item)
                items.append(
                    {
                        "id": str(index),
                        "status": "success",
                        "entity_id": entity_id,
                        "errors": [],
                        "warnings": [],
                    }
                )
            except A2CError as exc:
                items.append(
                    {
                        "id": str(index),
                        "status": "failed",
                        "entity_id": str(item.get("id", "")),
                        "errors": [exc.message],
                        "warnings": [],
                    }
                )
        result = {
            "job_id": job["id"],
            "job_name": job["method"],
            "items_processed": len(items),
            "items_succeed": sum(1 for i in items if i["status"] == "success"),
            "items": items,
        }
        processed_at = stored(self.sandbox.now())
        self.db.execute(
            "UPDATE a2c_jobs SET status = 'processed', processed_at = ?, result = ?, doc = ? "
            "WHERE id = ?",
            (
                processed_at,
                dumps(result),
                dumps(job_doc(job["id"], job["method"], job["created_at"], processed_at)),
                job["id"],
            ),
        )

    # --- products --------------------------------------------------------------------------

    def update_product(self, store: dict, args: dict) -> str:
        product_id = need(args, "id")
        with self.db.transaction() as conn:
            product = self.load("a2c_products", store["store_key"], product_id, "Product")
            apply_stock_and_price(product, args, self.sandbox.now())
            for field_name, target in (("sku", "u_sku"), ("model", "u_model"), ("name", "name")):
                if text(args, field_name):
                    product[target] = args[field_name]
            self.save_product(conn, store["store_key"], product)
        self.fire(store, "product", "update", product, product["id"])
        return product["id"]

    def update_variant(self, store: dict, args: dict) -> str:
        variant_id, product_id = need(args, "id"), need(args, "product_id")
        with self.db.transaction() as conn:
            child = self.load("a2c_children", store["store_key"], variant_id, "Variant")
            if child["parent_id"] != str(product_id):
                raise not_found("Product", product_id)
            apply_stock_and_price(child, args, self.sandbox.now())
            if text(args, "sku"):
                child["sku"] = args["sku"]
            child["default_price"] = child["price"]
            child["inventory_level"] = child["quantity"]
            self.save_child(conn, store["store_key"], child)
            self._roll_up_parent(conn, store["store_key"], child["parent_id"])
        return child["id"]

    def _roll_up_parent(self, conn: Any, store_key: str, parent_id: str) -> None:
        """A configurable product's quantity is the sum of its children's."""
        parent = self.load("a2c_products", store_key, parent_id, "Product")
        rows = conn.execute(
            "SELECT doc FROM a2c_children WHERE store_key = ? AND parent_id = ?",
            (store_key, int(parent_id)),
        ).fetchall()
        quantity = sum(json.loads(row["doc"])["quantity"] for row in rows)
        parent["quantity"] = quantity
        parent["inventory"][0]["quantity"] = quantity
        parent["in_stock"] = quantity > 0
        self.save_product(conn, store_key, parent)


COUNTRIES = {
    "GB": ("GBR", "United Kingdom"),
    "FR": ("FRA", "France"),
    "SE": ("SWE", "Sweden"),
    "US": ("USA", "United States"),
    "PT": ("PRT", "Portugal"),
}

CURRENCY = {
    "id": "USD",
    "name": "US Dollar",
    "iso3": "USD",
    "symbol_left": "$",
    "symbol_right": "",
    "rate": 1.0,
    "avail": True,
    "default": True,
}


class RawItems:
    """A page of stored JSON documents spliced into the answer without decoding them.

    `params=force_all` asks for the whole stored document, so decoding and re-encoding every
    order would only burn CPU; this keeps large order pages cheap.
    """

    def __init__(self, docs: Iterable[str]) -> None:
        self.docs = list(docs)

    def __len__(self) -> int:
        return len(self.docs)


RAW_MARKER = "\x00a2c-raw-items\x00"


def wants_stored_docs(args: dict) -> bool:
    return (
        csv(args, "params") == ["force_all"]
        and not args.get("exclude")
        and not args.get("response_fields")
        and not args.get("idempotency_key")
    )


def encode_envelope(envelope: dict) -> bytes:
    raw: list[RawItems] = []

    def mark(value: Any) -> str:
        if isinstance(value, RawItems):
            raw.append(value)
            return RAW_MARKER
        return str(value)

    encoded = json.dumps(envelope, default=mark, separators=(",", ":"))
    for items in raw:
        encoded = encoded.replace(json.dumps(RAW_MARKER), "[" + ",".join(items.docs) + "]", 1)
    return encoded.encode()


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


def apply_stock_and_price(doc: dict, args: dict, now: datetime) -> None:
    """Shared by product.update and product.variant.update: absolute or relative stock, prices."""
    absolute = number(args, "quantity")
    increase, reduce = number(args, "increase_quantity"), number(args, "reduce_quantity")
    if absolute is not None and (increase is not None or reduce is not None):
        raise invalid("quantity", "It cannot be combined with increase_quantity/reduce_quantity.")
    warehouse = text(args, "warehouse_id") or "1"
    inventory = doc.setdefault("inventory", [])
    entry = next((row for row in inventory if row["warehouse_id"] == warehouse), None)
    if entry is None and (absolute is not None or increase is not None or reduce is not None):
        entry = {"warehouse_id": warehouse, "quantity": 0, "in_stock": False, "priority": 0}
        inventory.append(entry)
    if entry is not None:
        if absolute is not None:
            entry["quantity"] = int(absolute)
        entry["quantity"] += int(increase or 0) - int(reduce or 0)
        entry["in_stock"] = entry["quantity"] > 0
        doc["quantity"] = sum(row["quantity"] for row in inventory)
        doc["in_stock"] = doc["quantity"] > 0
    for price_field in ("price", "cost_price"):
        value = number(args, price_field)
        if value is not None:
            if value < 0:
                raise invalid(price_field, "The price cannot be negative.")
            doc[price_field] = money(value)
    special = number(args, "special_price")
    if special is not None and "special_price" in doc and isinstance(doc["special_price"], dict):
        doc["special_price"]["value"] = money(special)
        doc["special_price"]["avail"] = special > 0
    manage = boolean(args, "manage_stock")
    if manage is not None:
        if isinstance(doc.get("manage_stock"), bool):
            doc["manage_stock"] = manage
        else:
            doc["manage_stock"] = "True" if manage else "False"
            doc["is_stock_managed"] = manage
    in_stock = boolean(args, "in_stock")
    if in_stock is not None:
        doc["in_stock"] = in_stock
    moment = a2c_date(stored(now))
    doc["modified_at" if "modified_at" in doc else "modified_time"] = moment


def date_clauses(filters: dict, mapping: dict[str, str]) -> tuple[list[str], list[Any]]:
    """created_from/created_to/modified_from/modified_to on the storage columns."""
    clauses, params = [], []
    for prefix, column in mapping.items():
        for suffix, operator in (("from", ">="), ("to", "<=")):
            name = f"{prefix}_{suffix}"
            if (raw := text(filters, name)) is not None:
                clauses.append(f"{column} {operator} ?")
                params.append(parse_input_date(name, raw))
    return clauses, params


def in_clause(column: str, values: list[str]) -> tuple[str, list[str]]:
    return f"{column} IN ({','.join('?' * len(values))})", values


# --- account & store methods --------------------------------------------------------------

SUPPORTED_PLATFORMS = (
    ("Shopify", "Shopify", "shopify_access_token", "Admin API access token"),
    ("Woocommerce", "WooCommerce", "store_key", "Bridge store key"),
    ("WoocommerceApi", "WooCommerce (API)", "wc_consumer_key", "REST consumer key"),
    ("Magento2Api", "Magento 2 (API)", "magento_access_token", "Integration access token"),
    ("BigcommerceApi", "BigCommerce", "bigcommerceapi_access_token", "API access token"),
    ("PrestashopApi", "PrestaShop (API)", "prestashop_webservice_key", "Webservice key"),
)


@method("account.cart.add", scope="account")
def account_cart_add(fake: Api2CartFake, call: Call) -> dict:
    cart_id = need(call.args, "cart_id")
    if cart_id not in {p[0] for p in SUPPORTED_PLATFORMS}:
        raise invalid("cart_id", "Unsupported cart.")
    url = need(call.args, "store_url")
    if fake.db.query("SELECT 1 FROM a2c_stores WHERE url = ?", (url,)):
        raise A2CError(8)
    store_key = text(call.args, "store_key") or secrets.token_hex(16)
    with fake.db.transaction() as conn:
        number_ = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM a2c_stores").fetchone()[0]
        conn.execute(
            "INSERT INTO a2c_stores (store_key, id, name, display_name, cart_id, url, custom_label,"
            " supports_webhooks, created_at) VALUES (?,?,?,?,?,?,?,1,?)",
            (
                store_key,
                number_,
                text(call.args, "custom_label") or url,
                text(call.args, "custom_label") or url,
                cart_id,
                url,
                text(call.args, "custom_label"),
                stored(fake.sandbox.now()),
            ),
        )
    return {"store_key": store_key}


@method("account.cart.list", scope="account")
def account_cart_list(fake: Api2CartFake, call: Call) -> dict:
    clauses, params = ["1 = 1"], []
    for name, column in (
        ("store_url", "url"),
        ("store_key", "store_key"),
        ("custom_label", "custom_label"),
    ):
        if (value := text(call.args, name)) is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    rows = fake.db.query(
        f"SELECT * FROM a2c_stores WHERE {' AND '.join(clauses)} ORDER BY id", params
    )
    with_calls = text(call.args, "request_from_date") is not None
    carts = []
    for row in rows:
        cart = {
            "id": str(row["id"]),
            "url": row["url"],
            "store_key": row["store_key"],
            "cart_id": row["cart_id"],
            "custom_label": row["custom_label"],
            "bridge_version": "",
        }
        if with_calls:
            cart["total_calls"] = sum(fake.calls.values())
        carts.append(select_fields(cart, call.args, "force_all"))
    return {"carts_count": len(carts), "carts": carts}


@method("account.supported_platforms", scope="account")
def account_supported_platforms(fake: Api2CartFake, call: Call) -> dict:
    platforms = [
        {
            "cart_id": cart_id,
            "cart_name": cart_name,
            "cart_versions": "",
            "cart_method": "api",
            "params": {
                "required": [
                    [
                        {"name": "store_url", "description": "Store URL"},
                        {"name": credential, "description": description},
                    ]
                ],
                "additional": [{"name": "custom_label", "description": "Label"}],
            },
        }
        for cart_id, cart_name, credential, description in SUPPORTED_PLATFORMS
    ]
    return {"supported_platforms_count": len(platforms), "supported_platforms": platforms}


@method("account.config.update")
def account_config_update(fake: Api2CartFake, call: Call) -> dict:
    updates = {
        "url": text(call.args, "new_store_url"),
        "store_key": text(call.args, "new_store_key"),
        "custom_label": text(call.args, "custom_label"),
    }
    changed = {column: value for column, value in updates.items() if value is not None}
    if changed:
        assignments = ", ".join(f"{column} = ?" for column in changed)
        fake.db.execute(
            f"UPDATE a2c_stores SET {assignments} WHERE store_key = ?",
            [*changed.values(), call.store["store_key"]],
        )
    return {"updated_items": len(changed)}


@method("account.failed_webhooks", scope="account")
def account_failed_webhooks(fake: Api2CartFake, call: Call) -> dict:
    start, count = uint(call.args, "start", 0), uint(call.args, "count", DEFAULT_COUNT)
    if count > MAX_COUNT:
        raise invalid("count", f"The maximum value is {MAX_COUNT}.")
    clauses, params = ["time >= ?"], [stored(fake.sandbox.now() - FAILED_WEBHOOK_TTL)]
    if ids := csv(call.args, "ids"):
        clause, values = in_clause("webhook_id", ids)
        clauses.append(clause)
        params.extend(values)
    where = " AND ".join(clauses)
    total = fake.db.scalar(f"SELECT COUNT(*) FROM a2c_failed_webhooks WHERE {where}", params)
    rows = fake.db.query(
        f"SELECT * FROM a2c_failed_webhooks WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
        [*params, count, start],
    )
    return {
        "all_failed_webhook": total,
        "webhook": [
            {
                "webhook_id": row["webhook_id"],
                "entity_id": row["entity_id"],
                "time": a2c_date(row["time"]),
            }
            for row in rows
        ],
    }


@method("cart.info")
def cart_info(fake: Api2CartFake, call: Call) -> dict:
    store = call.store
    cart = {
        "name": store["display_name"],
        "url": store["url"],
        "version": "2024-10",
        "bridge_version": "",
        "default_rounding_precision": 2,
        "db_prefix": "",
        "stores_info": [
            {
                "store_id": "1",
                "name": store["display_name"],
                "language": "en",
                "store_languages": [{"id": "1", "iso_code": "en", "name": "English"}],
                "currency": CURRENCY,
                "store_currencies": [CURRENCY],
                "timezone": "UTC",
                "country": "US",
                "root_category_id": "1",
                "multi_store_url": store["url"],
                "active": True,
                "weight_unit": "kg",
                "dimension_unit": "cm",
                "prices_include_tax": False,
                "carrier_info": [
                    {
                        "id": carrier,
                        "name": carrier.upper(),
                        "active": True,
                        "shipping_methods": [{"name": "Ground"}],
                    }
                    for carrier in ("ups", "usps", "fedex", "dhl")
                ],
                "store_owner_info": {
                    "owner": store["display_name"],
                    "email": "owner@example.com",
                    "phone": "",
                },
                "default_warehouse_id": "1",
                "channels": [],
                "pickup_locations": [],
            }
        ],
        "warehouses": [
            {
                "id": "1",
                "name": "Main warehouse",
                "description": "",
                "avail": True,
                "address": {},
                "carriers_ids": ["ups", "usps", "fedex", "dhl"],
                "stores_ids": ["1"],
            }
        ],
        "shipping_zones": [],
    }
    return select_fields(cart, call.args, "store_name,store_url,db_prefix", CART_GROUPS)


@method("cart.validate")
def cart_validate(fake: Api2CartFake, call: Call) -> dict:
    return {"status": "OK"}


@method("cart.methods")
def cart_methods(fake: Api2CartFake, call: Call) -> dict:
    return {"method": sorted(name for name, (scope, _) in METHODS.items() if scope == "store")}


# --- orders -----------------------------------------------------------------------------

ORDER_SORT = {
    "order_id": "CAST(order_id AS INTEGER)",
    "id": "id",
    "create_at": "created_at",
    "created_at": "created_at",
    "modified_at": "modified_at",
}


def order_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = date_clauses(filters, {"created": "created_at", "modified": "modified_at"})
    for name, column in (("ids", "id"), ("order_ids", "order_id")):
        if values := csv(filters, name):
            clause, values = in_clause(column, values)
            clauses.append(clause)
            params.extend(values)
    if values := csv(filters, "skip_order_ids"):
        clause, values = in_clause("order_id", values)
        clauses.append(f"NOT {clause}")
        params.extend(values)
    if text(filters, "since_id") is not None:
        clauses.append("id > ?")
        params.append(uint(filters, "since_id", 0))
    for name, column in (
        ("customer_id", "customer_id"),
        ("customer_email", "customer_email"),
        ("order_status", "status"),
        ("financial_status", "financial_status"),
        ("fulfillment_status", "fulfillment_status"),
    ):
        if (value := text(filters, name)) is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    for name, column in (
        ("order_status_ids", "status"),
        ("financial_status_ids", "financial_status"),
    ):
        if values := csv(filters, name):
            clause, values = in_clause(column, values)
            clauses.append(clause)
            params.extend(values)
    return clauses, params


def render_order(order: dict, args: dict) -> dict:
    return select_fields(order, args, ORDER_DEFAULT_PARAMS, ORDER_GROUPS)


def common_clauses(filters: dict, *, ids_param: str) -> tuple[list[str], list[Any]]:
    """The created/modified date range, an id list and `since_id`, shared by list methods."""
    clauses, params = date_clauses(filters, {"created": "created_at", "modified": "modified_at"})
    if values := csv(filters, ids_param):
        clause, values = in_clause("id", values)
        clauses.append(clause)
        params.extend(values)
    if text(filters, "since_id") is not None:
        clauses.append("id > ?")
        params.append(uint(filters, "since_id", 0))
    return clauses, params


def count_in_store(fake: Api2CartFake, call: Call, table: str, filters: Any) -> int:
    """`*.count` methods: the list method's filters, counted in the addressed store."""
    clauses, params = filters(call.args)
    where = " AND ".join(["store_key = ?", *clauses])
    sql = f"SELECT COUNT(*) FROM {table} WHERE {where}"
    return int(fake.db.scalar(sql, [call.store["store_key"], *params]) or 0)


@method("order.list", paginated=True)
def order_list(fake: Api2CartFake, call: Call) -> dict:
    return fake.paged(
        call,
        "a2c_orders",
        order_where,
        ORDER_SORT,
        "order_id",
        "order",
        "orders_count",
        render_order,
    )


@method("order.count")
def order_count(fake: Api2CartFake, call: Call) -> dict:
    return {"orders_count": count_in_store(fake, call, "a2c_orders", order_where)}


@method("order.info")
def order_info(fake: Api2CartFake, call: Call) -> dict:
    order = fake.find_order(call.store["store_key"], call.args, "order_id")
    return render_order(order, call.args)


@method("order.status.list")
def order_status_list(fake: Api2CartFake, call: Call) -> dict:
    return {"cart_order_statuses": [{"id": s, "name": s} for s in ORDER_STATUSES]}


@method("order.financial_status.list")
def order_financial_status_list(fake: Api2CartFake, call: Call) -> dict:
    statuses = [{"id": s, "name": s.replace("_", " ").title()} for s in FINANCIAL_STATUSES]
    return {"order_financial_statuses": statuses}


@method("order.fulfillment_status.list")
def order_fulfillment_status_list(fake: Api2CartFake, call: Call) -> dict:
    statuses = [{"id": s, "name": s.replace("_", " ").title()} for s in FULFILLMENT_STATUSES]
    return {"order_fulfillment_statuses": statuses}


@method("order.update")
def order_update(fake: Api2CartFake, call: Call) -> dict:
    order_id = need(call.args, "order_id")
    fake.update_order(call.store, order_id, call.args)
    return {"updated_items": 1}


@method("order.add")
def order_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    for name in (
        "order_status",
        "customer_email",
        "bill_first_name",
        "bill_last_name",
        "bill_address_1",
        "bill_city",
        "bill_postcode",
        "bill_state",
        "bill_country",
    ):
        need(args, name)
    if args["order_status"] not in ORDER_STATUSES:
        raise invalid("order_status", f"Supported values: {', '.join(ORDER_STATUSES)}.")
    items = args.get("order_item")
    if not items or not isinstance(items, list):
        raise required("order_item")
    store_key = call.store["store_key"]
    lines = []
    for item in items:
        sku = item.get("order_item_model") or ""
        child_rows = fake.db.query(
            "SELECT doc FROM a2c_children WHERE store_key = ? AND (sku = ? OR id = ?)",
            (store_key, sku, str(item.get("order_item_variant_id") or "-")),
        )
        product_rows = fake.db.query(
            "SELECT doc FROM a2c_products WHERE store_key = ? AND (sku = ? OR id = ?)",
            (store_key, sku, str(item.get("order_item_id") or "-")),
        )
        child = json.loads(child_rows[0]["doc"]) if child_rows else None
        if child:
            product = fake.load("a2c_products", store_key, child["parent_id"], "Product")
        elif product_rows:
            product = json.loads(product_rows[0]["doc"])
        else:
            raise not_found("Product", sku or item.get("order_item_id"))
        if item.get("order_item_price") is not None:
            target = dict(child or product, price=money(float(item["order_item_price"])))
            child, product = (target, product) if child else (None, target)
        lines.append((product, child, int(item.get("order_item_quantity", 1))))
    email = args["customer_email"]
    rows = fake.db.query(
        "SELECT doc FROM a2c_customers WHERE store_key = ? AND email = ?", (store_key, email)
    )
    customer = json.loads(rows[0]["doc"]) if rows else fake_customer(fake, call.store, args)
    address = {
        "id": "",
        "type": "billing",
        "first_name": args["bill_first_name"],
        "last_name": args["bill_last_name"],
        "company": text(args, "bill_company") or "",
        "address1": args["bill_address_1"],
        "address2": text(args, "bill_address_2") or "",
        "city": args["bill_city"],
        "postcode": args["bill_postcode"],
        "region": args["bill_state"],
        "state": {"code": args["bill_state"], "name": args["bill_state"]},
        "country": {
            "code2": args["bill_country"],
            "code3": args["bill_country"],
            "name": args["bill_country"],
        },
        "phone": text(args, "bill_phone") or "",
        "phone_mobile": "",
        "fax": "",
        "website": "",
        "gender": "",
        "default": True,
        "tax_id": "",
        "identification_number": "",
        "alias": "",
    }
    customer = dict(customer, address_book=[address])
    financial = text(args, "financial_status") or "pending"
    order = fake.create_order(call.store, customer, lines, args["order_status"], financial)
    fake.fire(call.store, "order", "add", order, order["id"])
    return {"order_id": order["order_id"], "id": order["id"], "customer_id": customer["id"]}


def fake_customer(fake: Api2CartFake, store: dict, args: dict) -> dict:
    """order.add for an unknown e-mail registers a guest customer, as carts do."""
    now = stored(fake.sandbox.now())
    person = demo_data.DemoPerson(
        first_name=args["bill_first_name"],
        last_name=args["bill_last_name"],
        email=args["customer_email"],
        company=text(args, "bill_company") or "",
        address1=args["bill_address_1"],
        city=args["bill_city"],
        postcode=args["bill_postcode"],
        country=args["bill_country"],
        phone=text(args, "bill_phone") or "",
    )
    with fake.db.transaction() as conn:
        customer_id = fake.next_id(conn, "a2c_customers", store["store_key"], 0)
        doc = fake._customer_doc(customer_id, person, now)
        doc["is_guest"] = True
        conn.execute(
            "INSERT INTO a2c_customers VALUES (?,?,?,?,?,?)",
            (store["store_key"], customer_id, person.email, now, now, dumps(doc)),
        )
    return doc


@method("order.refund.add")
def order_refund_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        order = fake.find_order(store_key, args)
        lines = {item["order_product_id"]: item for item in order["order_products"]}
        refunded_items = []
        amount = Decimal(0)
        for item in args.get("items") or []:
            line = lines.get(str(item.get("order_product_id")))
            if line is None:
                raise not_found("Order product", item.get("order_product_id"))
            quantity = int(item.get("quantity", line["quantity"]))
            price = Decimal(str(item.get("price", line["price"])))
            amount += price * quantity
            refunded_items.append(
                {
                    "product_id": line["product_id"],
                    "variant_id": line["variant_id"],
                    "order_product_id": line["order_product_id"],
                    "qty": quantity,
                    "refund": money(price * quantity),
                }
            )
        shipping = Decimal(str(args.get("shipping_price") or 0))
        fee = Decimal(str(args.get("fee_price") or 0))
        total = (
            Decimal(str(args["total_price"]))
            if args.get("total_price")
            else amount + shipping + fee
        )
        if total <= 0:
            raise required("total_price")
        when = (
            parse_input_date("date", args["date"])
            if args.get("date")
            else stored(fake.sandbox.now())
        )
        refund_id = str(int(order["id"]) * 10 + len(order["refunds"]) + 1)
        order["refunds"].append(
            {
                "id": refund_id,
                "shipping": money(shipping),
                "fee": money(fee),
                "tax": 0.0,
                "total": money(total),
                "modified_time": a2c_date(when),
                "comment": text(args, "message") or "",
                "items": refunded_items,
            }
        )
        already = sum(Decimal(str(r["total"])) for r in order["refunds"])
        order["status"]["refund_info"] = {
            "shipping": money(shipping),
            "fee": money(fee),
            "tax": 0.0,
            "total_refunded": money(already),
            "time": a2c_date(when),
            "comment": text(args, "message") or "",
            "refunded_items": refunded_items,
        }
        full = already >= Decimal(str(order["totals"]["total"]))
        order["financial_status"] = "refunded" if full else "partially_refunded"
        order["modified_at"] = a2c_date(stored(fake.sandbox.now()))
        fake.save_order(conn, store_key, order)
    return {"refund_id": refund_id, "additional_refund_ids": []}


# --- shipments ----------------------------------------------------------------------------

SHIPMENT_SORT = {"id": "id", "created_at": "created_at", "modified_time": "modified_at"}


@method("order.shipment.add")
def order_shipment_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        order = fake.find_order(store_key, {"order_id": need(args, "order_id")})
        lines = {item["order_product_id"]: item for item in order["order_products"]}
        already: Counter[str] = Counter()
        for row in conn.execute(
            "SELECT doc FROM a2c_shipments WHERE store_key = ? AND order_id = ?",
            (store_key, order["order_id"]),
        ):
            for item in json.loads(row["doc"])["items"]:
                already[item["order_product_id"]] += item["quantity"]
        requested = args.get("items") or [
            {"order_product_id": key, "quantity": line["quantity"] - already[key]}
            for key, line in lines.items()
            if line["quantity"] > already[key]
        ]
        if not isinstance(requested, list) or not requested:
            raise invalid("items", "Nothing left to ship on this order.")
        items = []
        for item in requested:
            key = str(item.get("order_product_id"))
            if key not in lines:
                raise not_found("Order product", key)
            line = lines[key]
            quantity = uint(item, "quantity", line["quantity"])
            if quantity < 1 or already[key] + quantity > line["quantity"]:
                raise invalid(
                    "items", f"Quantity for order product {key} exceeds the ordered quantity."
                )
            already[key] += quantity
            items.append(
                {
                    "order_product_id": key,
                    "product_id": line["product_id"],
                    "variant_id": line["variant_id"],
                    "model": line["model"],
                    "name": line["name"],
                    "price": line["price"],
                    "quantity": quantity,
                }
            )
        tracking = [
            {
                "carrier_id": str(t.get("carrier_id") or ""),
                "tracking_number": str(t.get("tracking_number") or ""),
            }
            for t in args.get("tracking_numbers") or []
        ]
        now = stored(fake.sandbox.now())
        shipment_id = fake.next_id(
            conn, "a2c_shipments", store_key, fake.store_number(store_key) * 1000000
        )
        shipment = {
            "id": str(shipment_id),
            "order_id": order["order_id"],
            "name": f"#{order['order_id']}-F{shipment_id % 1000}",
            "warehouse_id": text(args, "warehouse_id") or "1",
            "shipment_provider": text(args, "shipment_provider") or "",
            "tracking_numbers": tracking,
            "tracking_link": text(args, "tracking_link") or "",
            "created_at": a2c_date(now),
            "modified_time": a2c_date(now),
            "items": items,
            "is_shipped": boolean(args, "is_shipped", True),
            "delivered_at": None,
        }
        conn.execute(
            "INSERT INTO a2c_shipments VALUES (?,?,?,?,?,?)",
            (store_key, shipment_id, order["order_id"], now, now, dumps(shipment)),
        )
        fake.refresh_fulfillment(conn, store_key, order)
    return {"shipment_id": str(shipment_id)}


def load_shipment(
    fake: Api2CartFake, store_key: str, shipment_id: str, order_id: str | None
) -> dict:
    shipment = fake.load("a2c_shipments", store_key, shipment_id, "Shipment")
    if order_id is not None and shipment["order_id"] != order_id:
        raise not_found("Shipment", shipment_id)
    return shipment


def save_shipment(conn: Any, store_key: str, shipment: dict) -> None:
    conn.execute(
        "UPDATE a2c_shipments SET modified_at = ?, doc = ? WHERE store_key = ? AND id = ?",
        (shipment["modified_time"]["value"], dumps(shipment), store_key, int(shipment["id"])),
    )


@method("order.shipment.list", paginated=True)
def order_shipment_list(fake: Api2CartFake, call: Call) -> dict:
    if not text(call.args, "page_cursor"):
        need(call.args, "order_id")

    def where(filters: dict) -> tuple[list[str], list[Any]]:
        clauses, params = date_clauses(
            filters, {"created": "created_at", "modified": "modified_at"}
        )
        clauses.append("order_id = ?")
        params.append(need(filters, "order_id"))
        return clauses, params

    def render(shipment: dict, args: dict) -> dict:
        return select_fields(shipment, args, "id,order_id,items,tracking_numbers")

    return fake.paged(
        call, "a2c_shipments", where, SHIPMENT_SORT, "id", "shipment", "shipment_count", render
    )


@method("order.shipment.info")
def order_shipment_info(fake: Api2CartFake, call: Call) -> dict:
    shipment = load_shipment(
        fake, call.store["store_key"], need(call.args, "id"), need(call.args, "order_id")
    )
    return select_fields(shipment, call.args, "force_all")


@method("order.shipment.update")
def order_shipment_update(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        shipment = load_shipment(fake, store_key, need(args, "shipment_id"), text(args, "order_id"))
        if isinstance(args.get("tracking_numbers"), list):
            numbers = [
                {
                    "carrier_id": str(t.get("carrier_id") or ""),
                    "tracking_number": str(t.get("tracking_number") or ""),
                }
                for t in args["tracking_numbers"]
            ]
            replace = boolean(args, "replace", True)
            shipment["tracking_numbers"] = (
                numbers if replace else shipment["tracking_numbers"] + numbers
            )
        if (shipped := boolean(args, "is_shipped")) is not None:
            shipment["is_shipped"] = shipped
        if text(args, "delivered_at"):
            shipment["delivered_at"] = a2c_date(
                parse_input_date("delivered_at", args["delivered_at"])
            )
        if text(args, "tracking_link"):
            shipment["tracking_link"] = args["tracking_link"]
        shipment["modified_time"] = a2c_date(stored(fake.sandbox.now()))
        save_shipment(conn, store_key, shipment)
    return {"updated_items": 1}


@method("order.shipment.tracking.add")
def order_shipment_tracking_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        shipment = load_shipment(fake, store_key, need(args, "shipment_id"), text(args, "order_id"))
        shipment["tracking_numbers"].append(
            {
                "carrier_id": text(args, "carrier_id") or "",
                "tracking_number": need(args, "tracking_number"),
            }
        )
        if text(args, "tracking_link"):
            shipment["tracking_link"] = args["tracking_link"]
        shipment["modified_time"] = a2c_date(stored(fake.sandbox.now()))
        save_shipment(conn, store_key, shipment)
    return {"shipment_tracking_id": f"{shipment['id']}-{len(shipment['tracking_numbers'])}"}


@method("order.shipment.delete")
def order_shipment_delete(fake: Api2CartFake, call: Call) -> dict:
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        shipment = load_shipment(
            fake, store_key, need(call.args, "shipment_id"), text(call.args, "order_id")
        )
        conn.execute(
            "DELETE FROM a2c_shipments WHERE store_key = ? AND id = ?",
            (store_key, int(shipment["id"])),
        )
        order = fake.find_order(store_key, {"order_id": shipment["order_id"]})
        fake.refresh_fulfillment(conn, store_key, order)
    return {"deleted_items": 1}


# --- customers ----------------------------------------------------------------------------

CUSTOMER_SORT = {
    "created_time": "created_at",
    "modified_time": "modified_at",
    "id": "id",
    "email": "email",
}


def customer_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = common_clauses(filters, ids_param="ids")
    if (value := text(filters, "find_value")) is not None:
        where = text(filters, "find_where") or "email"
        if where != "email":
            raise invalid("find_where", "Supported values: email.")
        clauses.append("email = ?")
        params.append(value)
    if not boolean(filters, "include_guests", False):
        clauses.append("json_extract(doc, '$.is_guest') = 0")
    return clauses, params


def render_customer(customer: dict, args: dict) -> dict:
    return select_fields(customer, args, "id,email,first_name,last_name")


@method("customer.list", paginated=True)
def customer_list(fake: Api2CartFake, call: Call) -> dict:
    return fake.paged(
        call,
        "a2c_customers",
        customer_where,
        CUSTOMER_SORT,
        "created_time",
        "customer",
        "customers_count",
        render_customer,
    )


@method("customer.count")
def customer_count(fake: Api2CartFake, call: Call) -> dict:
    return {"customers_count": count_in_store(fake, call, "a2c_customers", customer_where)}


@method("customer.info")
def customer_info(fake: Api2CartFake, call: Call) -> dict:
    customer = fake.load(
        "a2c_customers", call.store["store_key"], need(call.args, "id"), "Customer"
    )
    return render_customer(customer, call.args)


@method("customer.find")
def customer_find(fake: Api2CartFake, call: Call) -> dict:
    value = need(call.args, "find_value")
    fields = csv(call.args, "find_where") or ["email"]
    for field_name in fields:
        if field_name not in ("email", "id", "first_name", "last_name", "phone"):
            raise invalid(
                "find_where", "Supported values: email, id, first_name, last_name, phone."
            )
    rows = fake.db.query(
        "SELECT doc FROM a2c_customers WHERE store_key = ? ORDER BY id", (call.store["store_key"],)
    )
    regex = text(call.args, "find_params") == "regex"
    for row in rows:
        customer = json.loads(row["doc"])
        for field_name in fields:
            candidate = str(customer.get(field_name) or "")
            hit = re.search(value, candidate) if regex else candidate.lower() == value.lower()
            if hit:
                return {key: customer[key] for key in ("id", "email", "first_name", "last_name")}
    raise A2CError(112, f"Customer with {fields[0]} {value} not found")


# --- products -----------------------------------------------------------------------------

PRODUCT_SORT = {
    "id": "id",
    "name": "name",
    "create_at": "created_at",
    "modified_at": "modified_at",
    "sku": "sku",
}


def product_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = common_clauses(filters, ids_param="product_ids")
    if (sku := text(filters, "sku")) is not None:
        clauses.append("sku = ?")
        params.append(sku)
    if (value := text(filters, "find_value")) is not None:
        column = {"name": "name", "model": "sku", "sku": "sku"}.get(
            text(filters, "find_where") or "name"
        )
        if column is None:
            raise invalid("find_where", "Supported values: name, model, sku.")
        clauses.append(f"{column} = ?")
        params.append(value)
    return clauses, params


def render_product(product: dict, args: dict) -> dict:
    return select_fields(product, args, "id,name,description,price,categories_ids")


@method("product.list", paginated=True)
def product_list(fake: Api2CartFake, call: Call) -> dict:
    return fake.paged(
        call,
        "a2c_products",
        product_where,
        PRODUCT_SORT,
        "id",
        "product",
        "products_count",
        render_product,
    )


@method("product.count")
def product_count(fake: Api2CartFake, call: Call) -> dict:
    return {"products_count": count_in_store(fake, call, "a2c_products", product_where)}


@method("product.info")
def product_info(fake: Api2CartFake, call: Call) -> dict:
    product = fake.load("a2c_products", call.store["store_key"], need(call.args, "id"), "Product")
    return render_product(product, call.args)


def find_matches(value: str, candidate: str, find_params: str) -> bool:
    if find_params == "regex":
        return re.search(value, candidate) is not None
    return (
        value.lower() in re.findall(r"[\w-]+", candidate.lower())
        or value.lower() == candidate.lower()
    )


@method("product.find")
def product_find(fake: Api2CartFake, call: Call) -> dict:
    value = need(call.args, "find_value")
    where = text(call.args, "find_where") or "name"
    field_name = {
        "name": "name",
        "model": "u_model",
        "sku": "u_sku",
        "description": "description",
    }.get(where)
    if field_name is None:
        raise invalid("find_where", "Supported values: name, model, sku, description.")
    find_params = text(call.args, "find_params") or "whole_words"
    rows = fake.db.query(
        "SELECT doc FROM a2c_products WHERE store_key = ? ORDER BY id", (call.store["store_key"],)
    )
    found = []
    for row in rows:
        product = json.loads(row["doc"])
        if find_matches(value, str(product.get(field_name) or ""), find_params):
            found.append({key: product[key] for key in ("id", "name", "description", "price")})
    return {"product": found}


@method("product.update")
def product_update(fake: Api2CartFake, call: Call) -> dict:
    fake.update_product(call.store, call.args)
    return {"updated_items": 1}


@method("product.variant.update")
def product_variant_update(fake: Api2CartFake, call: Call) -> dict:
    fake.update_variant(call.store, call.args)
    return {"updated_items": 1}


CHILD_SORT = {
    "id": "id",
    "created_time": "created_at",
    "modified_time": "modified_at",
    "sku": "sku",
}


def child_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = date_clauses(filters, {"created": "created_at", "modified": "modified_at"})
    parents = csv(filters, "product_ids") or csv(filters, "product_id")
    if parents:
        clause, values = in_clause("parent_id", parents)
        clauses.append(clause)
        params.extend(values)
    if (sku := text(filters, "sku")) is not None:
        clauses.append("sku = ?")
        params.append(sku)
    if (value := text(filters, "find_value")) is not None:
        if (text(filters, "find_where") or "sku") != "sku":
            raise invalid("find_where", "Supported values: sku.")
        clauses.append("sku = ?")
        params.append(value)
    return clauses, params


@method("product.child_item.list", paginated=True)
def product_child_item_list(fake: Api2CartFake, call: Call) -> dict:
    page = fake.paged(
        call,
        "a2c_children",
        child_where,
        CHILD_SORT,
        "id",
        "children",
        "total_count",
        lambda child, args: select_fields(child, args, "force_all"),
    )
    filters = call.args
    if text(call.args, "page_cursor"):
        filters, _, _ = decode_cursor(call.method, call.args["page_cursor"])
    clauses, params = child_where(filters)
    where = " AND ".join(["store_key = ?", *clauses])
    total = fake.db.scalar(
        f"SELECT COUNT(*) FROM a2c_children WHERE {where}", [call.store["store_key"], *params]
    )
    page["result"]["total_count"] = total
    return page


@method("product.child_item.info")
def product_child_item_info(fake: Api2CartFake, call: Call) -> dict:
    child = fake.load("a2c_children", call.store["store_key"], need(call.args, "id"), "Child item")
    if text(call.args, "product_id") and child["parent_id"] != call.args["product_id"]:
        raise not_found("Child item", call.args["id"])
    return select_fields(child, call.args, "force_all")


@method("product.child_item.find")
def product_child_item_find(fake: Api2CartFake, call: Call) -> dict:
    value = need(call.args, "find_value")
    where = text(call.args, "find_where") or "sku"
    if where not in ("sku", "name"):
        raise invalid("find_where", "Supported values: sku, name.")
    find_params = text(call.args, "find_params") or "whole_words"
    rows = fake.db.query(
        "SELECT doc FROM a2c_children WHERE store_key = ? ORDER BY id", (call.store["store_key"],)
    )
    children = []
    for row in rows:
        child = json.loads(row["doc"])
        candidate = str(child.get(where) or "")
        hit = (
            candidate.lower() == value.lower()
            if where == "sku"
            else find_matches(value, candidate, find_params)
        )
        if hit:
            children.append(child)
    return {"children": children}


def create_job(fake: Api2CartFake, call: Call, required_keys: tuple[str, ...]) -> dict:
    payload = call.args.get("payload")
    if not isinstance(payload, list) or not payload:
        raise required("payload")
    if len(payload) > MAX_COUNT:
        raise A2CError(111, f"Too many items requested. The maximum is {MAX_COUNT} per batch.")
    for index, item in enumerate(payload):
        for key in required_keys:
            if not isinstance(item, dict) or item.get(key) in (None, ""):
                raise required(f"payload[{index}].{key}")
    created = stored(fake.sandbox.now())
    with fake.db.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO a2c_jobs (store_key, method, status, created_at, payload, ready_at)"
            " VALUES (?,?,?,?,?,?)",
            (
                call.store["store_key"],
                call.method,
                "in_progress",
                created,
                dumps(payload),
                time.time() + fake.batch_delay.total_seconds(),
            ),
        )
        job_id = cursor.lastrowid
        conn.execute(
            "UPDATE a2c_jobs SET doc = ? WHERE id = ?",
            (dumps(job_doc(job_id, call.method, created, None)), job_id),
        )
    return {"job_id": str(job_id)}


def job_doc(job_id: int, method_name: str, created: str, processed: str | None) -> dict:
    return {
        "id": str(job_id),
        "method": method_name,
        "status": "processed" if processed else "in_progress",
        "created_time": a2c_date(created),
        "processed_time": a2c_date(processed),
    }


@method("product.update.batch")
def product_update_batch(fake: Api2CartFake, call: Call) -> dict:
    return create_job(fake, call, ("id",))


@method("product.variant.update.batch")
def product_variant_update_batch(fake: Api2CartFake, call: Call) -> dict:
    return create_job(fake, call, ("id", "product_id"))


JOB_SORT = {"id": "id"}


@method("batch.job.list", paginated=True)
def batch_job_list(fake: Api2CartFake, call: Call) -> dict:
    fake.process_jobs()

    def where(filters: dict) -> tuple[list[str], list[Any]]:
        clauses, params = date_clauses(
            filters, {"created": "created_at", "processed": "processed_at"}
        )
        if ids := csv(filters, "ids"):
            clause, values = in_clause("id", ids)
            clauses.append(clause)
            params.extend(values)
        return clauses, params

    def render(job: dict, args: dict) -> dict:
        return job

    page = fake.paged(call, "a2c_jobs", where, JOB_SORT, "id", "jobs", "jobs_count", render)
    page["result"].pop("jobs_count")
    return page


@method("batch.job.result")
def batch_job_result(fake: Api2CartFake, call: Call) -> dict:
    fake.process_jobs()
    job_id = need(call.args, "id")
    rows = fake.db.query(
        "SELECT * FROM a2c_jobs WHERE store_key = ? AND CAST(id AS TEXT) = ?",
        (call.store["store_key"], job_id),
    )
    if not rows:
        raise A2CError(112, f"Job with id {job_id} not found")
    job = rows[0]
    if job["status"] != "processed":
        return {
            "job_id": job["id"],
            "job_name": job["method"],
            "status": job["status"],
            "items_processed": 0,
            "items_succeed": 0,
            "items": [],
        }
    return json.loads(job["result"])


# --- webhooks ------------------------------------------------------------------------------

WEBHOOK_DEFAULT_PARAMS = "id,entity,action,callback"


def plain_time(value: str | None) -> str | None:
    return None if value is None else value[:19].replace("T", " ")


def webhook_doc(row: Any) -> dict:
    return {
        "id": row["id"],
        "label": row["label"],
        "store_id": row["store_id"],
        "lang_id": row["lang_id"],
        "active": bool(row["active"]),
        "callback": row["callback"],
        "fields": row["fields"],
        "response_fields": row["response_fields"],
        "created_at": plain_time(row["created_at"]),
        "updated_at": plain_time(row["updated_at"]),
        "entity": row["entity"],
        "action": row["action"],
        "filtering_conditions": json.loads(row["filtering_conditions"] or "null"),
    }


def check_conditions(conditions: Any, depth: int = 1) -> None:
    if conditions is None:
        return
    if depth > 5 or not isinstance(conditions, dict):
        raise invalid("filtering_conditions", "Conditions nest at most 5 levels of objects.")
    keys = set(conditions) & {"and", "or", "not"}
    if keys:
        key = keys.pop()
        children = conditions[key] if key != "not" else [conditions[key]]
        if not isinstance(children, list):
            raise invalid("filtering_conditions")
        for child in children:
            check_conditions(child, depth + 1)
        return
    operators = {"eq", "neq", "in", "not_in", "like", "not_like", "gt", "gte", "lt", "lte"}
    if not conditions.get("field") or conditions.get("operator") not in operators:
        raise invalid("filtering_conditions", "Each rule needs field, operator and value.")


@method("webhook.events")
def webhook_events(fake: Api2CartFake, call: Call) -> dict:
    filterable = {
        "order": {
            "id": "string",
            "order_id": "string",
            "status.id": "string",
            "financial_status": "string",
            "totals.total": "number",
            "customer.email": "string",
        },
        "product": {"id": "string", "u_sku": "string", "price": "number", "quantity": "number"},
        "customer": {"id": "string", "email": "string"},
        "category": {"id": "string", "name": "string"},
    }
    events = [
        {
            "webhook_name": f"{entity}.{action}",
            "entity": entity,
            "action": action,
            "filterable_fields": filterable[entity],
        }
        for entity in WEBHOOK_ENTITIES
        for action in WEBHOOK_ACTIONS
    ]
    if call.store is not None and call.store.get("supports_webhooks") == 0:
        events = []  # a platform without native webhooks (contract §6.2)
    return {"events": events}


@method("webhook.create")
def webhook_create(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    entity, action = need(args, "entity"), need(args, "action")
    if entity not in WEBHOOK_ENTITIES:
        raise invalid("entity", f"Supported values: {', '.join(WEBHOOK_ENTITIES)}.")
    if action not in WEBHOOK_ACTIONS:
        raise invalid("action", f"Supported values: {', '.join(WEBHOOK_ACTIONS)}.")
    callback = need(args, "callback")
    if not callback.startswith(("http://", "https://")):
        raise invalid("callback", "The callback must be an http(s) URL.")
    conditions = args.get("filtering_conditions")
    if isinstance(conditions, str):
        try:
            conditions = json.loads(conditions)
        except ValueError:
            raise invalid("filtering_conditions") from None
    check_conditions(conditions)
    now = stored(fake.sandbox.now())
    cursor = fake.db.execute(
        "INSERT INTO a2c_webhooks (store_key, entity, action, callback, label, fields,"
        " response_fields, active, lang_id, store_id, filtering_conditions, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            call.store["store_key"],
            entity,
            action,
            callback,
            text(args, "label"),
            text(args, "fields") or "force_all",
            text(args, "response_fields"),
            int(boolean(args, "active", True)),
            text(args, "lang_id"),
            text(args, "store_id") or "1",
            None if conditions is None else dumps(conditions),
            now,
            now,
        ),
    )
    return {"id": cursor.lastrowid}


def webhook_filters(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = [], []
    for name in ("entity", "action"):
        if (value := text(filters, name)) is not None:
            clauses.append(f"{name} = ?")
            params.append(value)
    if (active := boolean(filters, "active")) is not None:
        clauses.append("active = ?")
        params.append(int(active))
    if ids := csv(filters, "ids"):
        clause, values = in_clause("id", ids)
        clauses.append(clause)
        params.extend(values)
    return clauses, params


@method("webhook.list")
def webhook_list(fake: Api2CartFake, call: Call) -> dict:
    start, count = uint(call.args, "start", 0), uint(call.args, "count", DEFAULT_COUNT)
    if count > MAX_COUNT:
        raise invalid("count", f"The maximum value is {MAX_COUNT}.")
    clauses, params = webhook_filters(call.args)
    where = " AND ".join(["store_key = ?", *clauses])
    rows = fake.db.query(
        f"SELECT * FROM a2c_webhooks WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
        [call.store["store_key"], *params, count, start],
    )
    hooks = [select_fields(webhook_doc(row), call.args, WEBHOOK_DEFAULT_PARAMS) for row in rows]
    return {"webhook": hooks}


@method("webhook.count")
def webhook_count(fake: Api2CartFake, call: Call) -> dict:
    return {"webhook_count": count_in_store(fake, call, "a2c_webhooks", webhook_filters)}


@method("webhook.update")
def webhook_update(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    webhook_id = need(args, "id")
    rows = fake.db.query(
        "SELECT * FROM a2c_webhooks WHERE store_key = ? AND CAST(id AS TEXT) = ?",
        (call.store["store_key"], webhook_id),
    )
    if not rows:
        raise A2CError(112, f"Webhook with id {webhook_id} not found")
    changes: dict[str, Any] = {}
    for name in ("callback", "label", "fields", "response_fields", "lang_id"):
        if name in args:
            changes[name] = text(args, name)
    if "active" in args:
        changes["active"] = int(bool(boolean(args, "active")))
        if changes["active"]:
            changes["failures"] = 0
            changes["error_tries"] = 0
    if "filtering_conditions" in args:
        conditions = args["filtering_conditions"]
        if isinstance(conditions, str) and conditions:
            try:
                conditions = json.loads(conditions)
            except ValueError:
                raise invalid("filtering_conditions") from None
        check_conditions(conditions or None)
        changes["filtering_conditions"] = dumps(conditions) if conditions else None
    changes["updated_at"] = stored(fake.sandbox.now())
    assignments = ", ".join(f"{column} = ?" for column in changes)
    fake.db.execute(
        f"UPDATE a2c_webhooks SET {assignments} WHERE id = ?", [*changes.values(), rows[0]["id"]]
    )
    return {"updated": True}


@method("webhook.delete")
def webhook_delete(fake: Api2CartFake, call: Call) -> dict:
    webhook_id = need(call.args, "id")
    cursor = fake.db.execute(
        "DELETE FROM a2c_webhooks WHERE store_key = ? AND CAST(id AS TEXT) = ?",
        (call.store["store_key"], webhook_id),
    )
    if not cursor.rowcount:
        raise A2CError(112, f"Webhook with id {webhook_id} not found")
    return {"deleted": True}
