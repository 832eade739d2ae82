"""The API2Cart fake itself: storage, seeding, dispatch of `{method}.json`, paging.

Each API area lives in its own module (`account`, `orders`, `shipments`, `customers`,
`products`, `webhooks`) whose `@method` handlers register on import; the instance methods an
area needs come in as a mixin, so no module grows past a readable size.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox import demo_data

# Importing a module registers its @method handlers in METHODS.
from sandbox.api2cart import account, customers, profiles, shipments  # noqa: F401
from sandbox.api2cart.changes import StoreChangesMixin
from sandbox.api2cart.control import ControlMixin
from sandbox.api2cart.orders import OrdersMixin
from sandbox.api2cart.products import ProductsMixin
from sandbox.api2cart.shared import (
    COUNTRIES,
    DEFAULT_COUNT,
    IDEMPOTENCY_TTL,
    LIST_METHODS,
    MAX_COUNT,
    METHODS,
    NOT_FILTERS,
    A2CError,
    Call,
    ConcurrencyGate,
    RawItems,
    a2c_date,
    decode_cursor,
    dumps,
    encode_cursor,
    encode_envelope,
    invalid,
    money,
    not_found,
    parse_response_fields,
    project,
    required,
    stored,
    text,
    uint,
    wants_stored_docs,
)
from sandbox.api2cart.webhooks import WebhooksMixin
from sandbox.core import Sandbox, SandboxRequest, SandboxResponse

SCHEMA = """
CREATE TABLE IF NOT EXISTS a2c_stores (
    store_key TEXT PRIMARY KEY, id INTEGER NOT NULL, name TEXT NOT NULL, display_name TEXT,
    cart_id TEXT NOT NULL, url TEXT NOT NULL, custom_label TEXT, connected INTEGER DEFAULT 1,
    sign_webhooks INTEGER DEFAULT 0, latency_ms INTEGER DEFAULT 0, supports_webhooks INTEGER,
    created_at TEXT NOT NULL, profile TEXT NOT NULL DEFAULT 'clean');
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
CREATE INDEX IF NOT EXISTS a2c_orders_created ON a2c_orders (store_key, created_at);
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
CREATE TABLE IF NOT EXISTS a2c_store_setup (
    store_key TEXT PRIMARY KEY, credentials TEXT NOT NULL, currency TEXT NOT NULL);
"""


class Api2CartFake(ControlMixin, StoreChangesMixin, OrdersMixin, ProductsMixin, WebhooksMixin):
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
            columns = {row[1] for row in conn.execute("PRAGMA table_info(a2c_stores)")}
            if "profile" not in columns:  # a state directory from before platform profiles
                conn.execute(
                    "ALTER TABLE a2c_stores ADD COLUMN profile TEXT NOT NULL DEFAULT 'clean'"
                )

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
            " supports_webhooks, created_at, profile) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
                demo_store.profile,
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
        status["concurrency_refusals"] = self.gate.refused
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
            result: dict | list = {}
            if self._profile_of_request(req).errors_result_list:
                result = []
            body = {"return_code": exc.code, "return_message": exc.message, "result": result}
        return SandboxResponse(body=encode_envelope(body))

    def _profile_of_request(self, req: SandboxRequest) -> profiles.Profile:
        key = req.headers.get("x-store-key") or (req.query.get("store_key") or [""])[-1]
        rows = self.db.query("SELECT profile FROM a2c_stores WHERE store_key = ?", (key,))
        return profiles.profile(rows[0]["profile"] if rows else None)

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
        rules = profiles.profile(store["profile"] if store else None)
        profiles.check_rules(rules, name, args, self.sandbox.now())
        with self.gate.slot(store["store_key"] if store else None):
            if store and store["latency_ms"]:
                time.sleep(store["latency_ms"] / 1000)
            result = profiles.shape_result(
                rules, name, handler(self, Call(name, args, store)), args
            )
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
