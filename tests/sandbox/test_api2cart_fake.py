"""The API2Cart fake over real HTTP, checked against ../shared/contracts/api2cart.md §8."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
import requests

from sandbox import demo_data
from sandbox.testing import SandboxHandle, start_sandbox

API_KEY = demo_data.API2CART_API_KEY
NORTHWIND = demo_data.store("northwind").store_key
OUTLET = demo_data.store("acme-outlet").store_key
NORTHWIND_PRODUCTS = len(demo_data.store_products("northwind"))
A2C_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("api2cart-sandbox"))
    yield handle
    handle.stop()


@pytest.fixture
def fresh(sandbox: SandboxHandle) -> SandboxHandle:
    """Tests that count orders or webhooks start from the seeded demo data."""
    sandbox.reset()
    return sandbox


class Client:
    def __init__(self, sandbox: SandboxHandle, store_key: str = NORTHWIND) -> None:
        self.base = sandbox.api_url("api2cart")
        self.store_key = store_key
        self.session = requests.Session()

    def call(
        self, method: str, verb: str = "GET", body: dict | None = None, **params: object
    ) -> dict:
        headers = {"x-api-key": API_KEY}
        if self.store_key:
            headers["x-store-key"] = self.store_key
        answer = self.session.request(
            verb, f"{self.base}/{method}.json", params=params, json=body, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def ok(
        self, method: str, verb: str = "GET", body: dict | None = None, **params: object
    ) -> dict:
        envelope = self.call(method, verb, body, **params)
        assert envelope["return_code"] == 0, envelope
        return envelope["result"]


@pytest.fixture
def a2c(sandbox: SandboxHandle) -> Client:
    return Client(sandbox)


def place(sandbox: SandboxHandle, count: int = 1, **payload: object) -> list[dict]:
    return sandbox.control("api2cart", "place-orders", store="northwind", count=count, **payload)[
        "orders"
    ]


class Receiver:
    """A tiny webhook endpoint recording (headers, raw body); answers with `self.status`."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.put((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/a2c"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 5) -> tuple[dict[str, str], bytes]:
        return self.received.get(timeout=timeout)

    def nothing_within(self, seconds: float) -> bool:
        try:
            self.received.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


# --- transport, auth, envelope -----------------------------------------------------------


def test_success_envelope_and_default_params(a2c: Client) -> None:
    envelope = a2c.call("cart.info")
    assert envelope == {
        "return_code": 0,
        "return_message": "",
        "result": {
            "name": "Northwind Market",
            "url": "https://northwind-market.myshopify.com",
            "db_prefix": "",
        },
    }
    full = a2c.ok("cart.info", params="force_all")
    assert full["stores_info"][0]["default_warehouse_id"] == "1"
    assert {c["id"] for c in full["stores_info"][0]["carrier_info"]} >= {"ups", "usps"}


def test_errors_come_with_http_200(sandbox: SandboxHandle) -> None:
    url = f"{sandbox.api_url('api2cart')}/cart.info.json"
    answer = requests.get(url, headers={"x-api-key": "wrong", "x-store-key": NORTHWIND})
    assert answer.status_code == 200
    assert answer.json() == {"return_code": 2, "return_message": "Incorrect API Key", "result": {}}


def test_query_string_auth_is_accepted(sandbox: SandboxHandle) -> None:
    url = f"{sandbox.api_url('api2cart')}/cart.info.json"
    answer = requests.get(url, params={"api_key": API_KEY, "store_key": OUTLET}).json()
    assert answer["result"]["name"] == "Acme Outlet"


def test_unknown_store_and_unknown_method(sandbox: SandboxHandle, a2c: Client) -> None:
    assert Client(sandbox, "nope").call("order.list")["return_code"] == 101
    sandbox.control("api2cart", "configure", unknown_store_code=4)
    try:
        assert Client(sandbox, "nope").call("order.list")["return_code"] == 4
    finally:
        sandbox.control("api2cart", "configure", unknown_store_code=101)
    assert a2c.call("order.teleport")["return_code"] == 3


def test_account_methods_need_only_the_api_key(sandbox: SandboxHandle) -> None:
    account = Client(sandbox, store_key="")
    carts = account.ok("account.cart.list")
    assert carts["carts_count"] == 2
    assert {c["store_key"] for c in carts["carts"]} == {NORTHWIND, OUTLET}
    platforms = account.ok("account.supported_platforms")
    assert platforms["supported_platforms_count"] == len(platforms["supported_platforms"])
    assert account.ok("account.failed_webhooks")["all_failed_webhook"] >= 0


def test_store_connection(fresh: SandboxHandle) -> None:
    account = Client(fresh, store_key="")
    added = account.ok(
        "account.cart.add", "POST", {"cart_id": "Shopify", "store_url": "https://new.example"}
    )
    assert re.fullmatch(r"[0-9a-f]{32}", added["store_key"])
    again = account.call(
        "account.cart.add", "POST", {"cart_id": "Shopify", "store_url": "https://new.example"}
    )
    assert again["return_code"] == 8
    assert account.call("account.cart.add", "POST", {"store_url": "x"})["return_code"] == 114
    new_store = Client(fresh, added["store_key"])
    assert new_store.ok("cart.validate") == {"status": "OK"}
    assert "order.list" in new_store.ok("cart.methods")["method"]


# --- paging, cursors, dates, field selection -----------------------------------------------


def test_count_limits_and_integer_validation(a2c: Client) -> None:
    assert len(a2c.ok("product.list", count=250)["product"]) == NORTHWIND_PRODUCTS
    too_many = a2c.call("product.list", count=251)
    assert too_many["return_code"] == 109
    assert too_many["result"] == {}
    bad_start = a2c.call("order.list", start="abc")
    assert bad_start["return_code"] == 109
    assert bad_start["return_message"] == (
        "Parameter 'start' is not valid. The required type of parameter is unsigned integer."
    )


def test_default_page_and_page_size_counts(a2c: Client) -> None:
    envelope = a2c.call("product.list")
    assert envelope["result"]["products_count"] == 10 == len(envelope["result"]["product"])
    assert a2c.ok("product.count")["products_count"] == NORTHWIND_PRODUCTS
    offset = a2c.call("product.list", start=5, count=3)
    assert offset["result"]["products_count"] == 3
    assert offset["pagination"]["next"] is None


def test_cursor_paging_walks_every_row(a2c: Client) -> None:
    seen: list[str] = []
    envelope = a2c.call("product.list", count=50, params="id,u_sku")
    while True:
        seen.extend(p["id"] for p in envelope["result"]["product"])
        next_cursor = envelope["pagination"]["next"]
        if next_cursor is None:
            break
        assert "%2F" in next_cursor
        envelope = a2c.call("product.list", page_cursor=unquote(next_cursor))
    assert len(seen) == len(set(seen)) == a2c.ok("product.count")["products_count"]


def test_cursor_keeps_filters_and_rejects_new_ones(a2c: Client) -> None:
    first = a2c.call("product.child_item.list", count=2, sku="AC-1001-XL")
    cursor = first["pagination"]["next"]
    assert first["result"]["total_count"] <= 1 and cursor is None
    page = a2c.call("customer.list", count=5, created_from="2000-01-01 00:00:00")
    cursor = unquote(page["pagination"]["next"])
    mixed = a2c.call("customer.list", page_cursor=cursor, created_from="2000-01-01 00:00:00")
    assert mixed["return_code"] == 109
    double_encoded = a2c.call("customer.list", page_cursor=page["pagination"]["next"])
    assert double_encoded["return_code"] == 109
    assert a2c.call("customer.list", page_cursor="garbage")["return_code"] == 109
    following = a2c.call("customer.list", page_cursor=cursor, count=5)
    assert following["return_code"] == 0
    assert following["pagination"]["previous"] is not None


def test_date_filters_accept_both_formats(a2c: Client, fresh: SandboxHandle) -> None:
    place(fresh, 2)
    for value in ("2000-01-01 00:00:00", "2000-01-01T00:00:00+0000"):
        assert a2c.ok("order.count", created_from=value)["orders_count"] == 2
    assert a2c.ok("order.count", modified_from="2999-01-01T00:00:00+0000")["orders_count"] == 0
    bad = a2c.call("order.list", created_from="01/02/2026")
    assert bad["return_code"] == 109
    assert bad["return_message"] == (
        "Parameter 'created_from' is not valid. The required type of parameter is a date "
        "string in 'Y-m-d\\TH:i:sO' ISO_8601 format."
    )


def test_params_force_all_exclude_and_response_fields(a2c: Client, fresh: SandboxHandle) -> None:
    place(fresh)
    default = a2c.ok("order.list")["order"][0]
    assert set(default) == {
        "order_id",
        "customer",
        "totals",
        "billing_address",
        "shipping_address",
        "order_products",
        "bundles",
        "status",
    }
    full = a2c.ok("order.list", params="force_all")["order"][0]
    assert {"id", "create_at", "modified_at", "currency", "payment_method"} <= set(full)
    assert full["create_at"]["format"] == "Y-m-d\\TH:i:sO"
    assert A2C_VALUE.match(full["create_at"]["value"])
    trimmed = a2c.ok("order.list", params="force_all", exclude="order_products,currency")
    assert "order_products" not in trimmed["order"][0] and "id" in trimmed["order"][0]
    projected = a2c.call(
        "order.list", response_fields="{return_code,result{order{order_id,totals{total}}}}"
    )
    assert projected == {
        "return_code": 0,
        "result": {
            "order": [{"order_id": full["order_id"], "totals": {"total": full["totals"]["total"]}}]
        },
    }


# --- orders --------------------------------------------------------------------------------


def test_placed_orders_are_realistic(a2c: Client, fresh: SandboxHandle) -> None:
    placed = place(fresh, 5)
    orders = a2c.ok("order.list", params="force_all", count=10)["order"]
    assert [o["order_id"] for o in orders] == [p["order_id"] for p in placed]
    emails = {c.email for c in demo_data.store_customers("northwind")}
    skus = {s for p in demo_data.store_products("northwind") for s in p.sellable_skus}
    for order in orders:
        assert order["status"]["id"] == "Pending" and order["financial_status"] == "paid"
        assert order["customer"]["email"] in emails
        assert 1 <= len(order["order_products"]) <= 4
        assert all(line["model"] in skus for line in order["order_products"])
        subtotal = round(sum(line["total_price"] for line in order["order_products"]), 2)
        assert order["totals"]["subtotal"] == subtotal
        totals = {name: Decimal(str(value)) for name, value in order["totals"].items()}
        assert totals["total"] == (
            totals["subtotal"] - totals["discount"] + totals["shipping"] + totals["tax"]
        )
        assert order["shipping_address"]["type"] == "shipping"
        assert order["shipping_address"]["address1"]


def test_order_reads_and_status_lists(a2c: Client, fresh: SandboxHandle) -> None:
    order_id = place(fresh, items=[{"sku": "AC-1001", "quantity": 2}])[0]["order_id"]
    info = a2c.ok("order.info", order_id=order_id, params="force_all")
    assert info["order_products"][0]["quantity"] == 2
    missing = a2c.call("order.info", order_id="999999")
    assert missing["return_code"] == 112
    assert a2c.call("order.info")["return_code"] == 114
    statuses = a2c.ok("order.status.list")["cart_order_statuses"]
    assert {"id": "Pending", "name": "Pending"} in statuses
    assert a2c.ok("order.financial_status.list")["order_financial_statuses"]
    assert a2c.ok("order.fulfillment_status.list")["order_fulfillment_statuses"]
    assert a2c.ok("order.count", order_status="Pending")["orders_count"] == 1
    assert a2c.ok("order.count", order_status="Completed")["orders_count"] == 0


def test_order_update_reads_the_query_string(a2c: Client, fresh: SandboxHandle) -> None:
    order_id = place(fresh)[0]["order_id"]
    result = a2c.ok("order.update", "PUT", order_id=order_id, order_status="Processing")
    assert result == {"updated_items": 1}
    info = a2c.ok("order.info", order_id=order_id, params="status")
    assert info["status"]["id"] == "Processing"
    assert [h["id"] for h in info["status"]["history"]] == ["Pending", "Processing"]
    bad = a2c.call("order.update", "PUT", order_id=order_id, order_status="Teleported")
    assert bad["return_code"] == 109
    assert a2c.call("order.update", "PUT", order_status="Processing")["return_code"] == 114


def test_order_add(a2c: Client, fresh: SandboxHandle) -> None:
    body = {
        "order_status": "Pending",
        "customer_email": "new.buyer@example.com",
        "bill_first_name": "New",
        "bill_last_name": "Buyer",
        "bill_address_1": "1 Test Road",
        "bill_city": "Leeds",
        "bill_postcode": "LS1 1AA",
        "bill_state": "WYK",
        "bill_country": "GB",
        "order_item": [{"order_item_model": "GX-1001", "order_item_quantity": 1}],
    }
    created = a2c.ok("order.add", "POST", body)
    assert set(created) == {"order_id", "id", "customer_id"}
    assert a2c.call("order.add", "POST", {"order_status": "Pending"})["return_code"] == 114


def test_shipments_and_fulfilment(a2c: Client, fresh: SandboxHandle) -> None:
    order_id = place(fresh, items=[{"sku": "AC-1001", "quantity": 2}])[0]["order_id"]
    line = a2c.ok("order.info", order_id=order_id, params="items")["order_products"][0]
    body = {
        "order_id": order_id,
        "items": [{"order_product_id": line["order_product_id"], "quantity": 1}],
        "tracking_numbers": [{"carrier_id": "usps", "tracking_number": "TRK1"}],
    }
    shipment_id = a2c.ok("order.shipment.add", "POST", body)["shipment_id"]
    assert isinstance(shipment_id, str)
    info = a2c.ok("order.info", order_id=order_id, params="fulfillment_status")
    assert info["fulfillment_status"] == "partially_fulfilled"
    over = dict(body, items=[{"order_product_id": line["order_product_id"], "quantity": 5}])
    assert a2c.call("order.shipment.add", "POST", over)["return_code"] == 109
    listed = a2c.call("order.shipment.list", order_id=order_id)
    assert listed["result"]["shipment_count"] == 1
    assert set(listed["result"]["shipment"][0]) == {"id", "order_id", "items", "tracking_numbers"}
    assert "pagination" in listed
    tracking = a2c.ok(
        "order.shipment.tracking.add",
        "POST",
        {"shipment_id": shipment_id, "order_id": order_id, "tracking_number": "TRK2"},
    )
    assert tracking["shipment_tracking_id"]
    update = {"shipment_id": shipment_id, "order_id": order_id, "is_shipped": True}
    update["delivered_at"] = "2026-01-02 03:04:05"
    assert a2c.ok("order.shipment.update", "PUT", update) == {"updated_items": 1}
    shipment = a2c.ok("order.shipment.info", id=shipment_id, order_id=order_id)
    assert [t["tracking_number"] for t in shipment["tracking_numbers"]] == ["TRK1", "TRK2"]
    assert shipment["delivered_at"]["value"] == "2026-01-02T03:04:05+0000"
    rest = a2c.ok("order.shipment.add", "POST", {"order_id": order_id})
    assert rest["shipment_id"] != shipment_id
    info = a2c.ok("order.info", order_id=order_id, params="fulfillment_status")
    assert info["fulfillment_status"] == "fulfilled"
    deleted = a2c.ok(
        "order.shipment.delete", "DELETE", shipment_id=rest["shipment_id"], order_id=order_id
    )
    assert deleted == {"deleted_items": 1}
    assert a2c.call("order.shipment.info", id="1", order_id=order_id)["return_code"] == 112


def test_idempotency_key_replays_the_first_answer(a2c: Client, fresh: SandboxHandle) -> None:
    order_id = place(fresh)[0]["order_id"]
    body = {"order_id": order_id, "idempotency_key": "ship-once"}
    first = a2c.call("order.shipment.add", "POST", body)
    second = a2c.call("order.shipment.add", "POST", body)
    assert first == second and first["return_code"] == 0
    assert a2c.ok("order.shipment.list", order_id=order_id)["shipment_count"] == 1


def test_refund(a2c: Client, fresh: SandboxHandle) -> None:
    order_id = place(fresh)[0]["order_id"]
    order = a2c.ok("order.info", order_id=order_id, params="force_all")
    line = order["order_products"][0]
    refund = a2c.ok(
        "order.refund.add",
        "POST",
        {
            "order_id": order_id,
            "items": [{"order_product_id": line["order_product_id"], "quantity": 1}],
        },
    )
    assert refund["refund_id"] and refund["additional_refund_ids"] == []
    after = a2c.ok("order.info", order_id=order_id, params="force_all")
    assert after["financial_status"] in ("partially_refunded", "refunded")
    assert after["refunds"][0]["total"] == line["price"]


# --- customers and products --------------------------------------------------------------


def test_customers(a2c: Client) -> None:
    page = a2c.ok("customer.list", count=3)
    assert page["customers_count"] == 3
    assert set(page["customer"][0]) == {"id", "email", "first_name", "last_name"}
    assert a2c.ok("customer.count")["customers_count"] == len(
        demo_data.store_customers("northwind")
    )
    person = demo_data.store_customers("northwind")[7]
    found = a2c.ok("customer.find", find_value=person.email)
    assert found["email"] == person.email
    full = a2c.ok("customer.info", id=found["id"], params="force_all")
    assert full["created_time"]["format"] == "Y-m-d\\TH:i:sO"
    assert a2c.call("customer.find", find_value="nobody@example.com")["return_code"] == 112


def test_products_variants_and_stock(a2c: Client, fresh: SandboxHandle) -> None:
    found = a2c.ok("product.find", find_value="AC-1002", find_where="model")["product"]
    assert len(found) == 1
    product_id = found[0]["id"]
    result = a2c.ok("product.update", "PUT", {"id": product_id, "quantity": 7, "price": 12.5})
    assert result == {"updated_items": 1}
    product = a2c.ok("product.info", id=product_id, params="force_all")
    assert product["quantity"] == 7 and product["price"] == 12.5
    assert product["u_sku"] == "AC-1002" and product["inventory"][0]["quantity"] == 7
    a2c.ok("product.update", "PUT", {"id": product_id, "increase_quantity": 3})
    assert a2c.ok("product.info", id=product_id, params="quantity")["quantity"] == 10
    conflict = a2c.call(
        "product.update", "PUT", {"id": product_id, "quantity": 1, "increase_quantity": 1}
    )
    assert conflict["return_code"] == 109
    assert a2c.call("product.update", "PUT", {"id": "1"})["return_code"] == 112

    parent = next(p for p in demo_data.store_products("northwind") if p.variants)
    sku = parent.variants[0].sku
    child = a2c.ok("product.child_item.find", find_value=sku)["children"][0]
    assert child["sku"] == sku and child["created_time"]["format"] == "Y-m-d\\TH:i:sO"
    listed = a2c.ok("product.child_item.list", product_id=child["parent_id"])
    assert listed["total_count"] == len(parent.variants)
    a2c.ok(
        "product.variant.update",
        "PUT",
        {"id": child["id"], "product_id": child["parent_id"], "quantity": 4},
    )
    again = a2c.ok("product.child_item.find", find_value=sku)["children"][0]
    assert again["quantity"] == 4
    wrong_parent = {"id": child["id"], "product_id": "1", "quantity": 4}
    assert a2c.call("product.variant.update", "PUT", wrong_parent)["return_code"] == 112


def test_batch_jobs(a2c: Client, fresh: SandboxHandle) -> None:
    product = a2c.ok("product.list", count=1)["product"][0]
    body = {"payload": [{"id": product["id"], "price": 9.99}, {"id": "1", "price": 1}]}
    job_id = a2c.ok("product.update.batch", "POST", body)["job_id"]
    assert isinstance(job_id, str)
    jobs = a2c.ok("batch.job.list", ids=job_id)["jobs"]
    assert jobs[0]["status"] == "in_progress"
    fresh.control("api2cart", "process-jobs")
    jobs = a2c.ok("batch.job.list", ids=job_id)["jobs"]
    assert jobs[0]["status"] == "processed"
    assert jobs[0]["processed_time"]["format"] == "Y-m-d\\TH:i:sO"
    result = a2c.ok("batch.job.result", id=job_id)
    assert result["job_id"] == int(job_id)
    assert result["items_processed"] == 2 and result["items_succeed"] == 1
    assert [i["status"] for i in result["items"]] == ["success", "failed"]
    assert a2c.ok("product.info", id=product["id"])["price"] == 9.99
    missing = a2c.call("batch.job.result", id="999999999")
    assert missing == {
        "return_code": 112,
        "return_message": "Job with id 999999999 not found",
        "result": {},
    }
    too_big = {"payload": [{"id": product["id"]}] * 251}
    assert a2c.call("product.update.batch", "POST", too_big)["return_code"] == 111
    no_parent = {"payload": [{"id": "1"}]}
    assert a2c.call("product.variant.update.batch", "POST", no_parent)["return_code"] == 114


# --- concurrency ---------------------------------------------------------------------------


def test_concurrency_limits_per_store_and_account(sandbox: SandboxHandle) -> None:
    for store in ("northwind", "acme-outlet"):
        sandbox.control("api2cart", "store-settings", store=store, latency_ms=400)
    try:
        with ThreadPoolExecutor(max_workers=7) as pool:
            codes = list(
                pool.map(lambda _: Client(sandbox).call("cart.info")["return_code"], range(7))
            )
        assert codes.count(0) == 5 and codes.count(7) == 2

        def mixed(n: int) -> int:
            return Client(sandbox, NORTHWIND if n % 2 else OUTLET).call("cart.info")["return_code"]

        sandbox.control("api2cart", "configure", store_concurrency=10)
        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(pool.map(mixed, range(12)))
        assert codes.count(0) == 10 and codes.count(10) == 2
    finally:
        sandbox.control("api2cart", "configure", store_concurrency=5)
        for store in ("northwind", "acme-outlet"):
            sandbox.control("api2cart", "store-settings", store=store, latency_ms=0)


# --- webhooks ------------------------------------------------------------------------------


def subscribe(a2c: Client, callback: str, entity: str = "order", action: str = "add") -> int:
    body = {"entity": entity, "action": action, "callback": callback}
    return a2c.ok("webhook.create", "POST", body)["id"]


def test_webhook_management(a2c: Client, fresh: SandboxHandle) -> None:
    events = a2c.ok("webhook.events")["events"]
    assert {"order.add", "order.update"} <= {e["webhook_name"] for e in events}
    hook_id = subscribe(a2c, "https://hub.example/hooks")
    assert isinstance(hook_id, int)
    listed = a2c.ok("webhook.list")["webhook"]
    assert listed == [
        {"id": hook_id, "entity": "order", "action": "add", "callback": "https://hub.example/hooks"}
    ]
    full = a2c.ok("webhook.list", params="force_all")["webhook"][0]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", full["created_at"])
    assert a2c.ok("webhook.count", entity="order")["webhook_count"] == 1
    assert a2c.ok("webhook.update", "PUT", {"id": hook_id, "active": False}) == {"updated": True}
    assert a2c.ok("webhook.count", active="true")["webhook_count"] == 0
    assert a2c.call("webhook.create", "POST", {"entity": "order"})["return_code"] == 114
    bad_entity = {"entity": "basket", "action": "add", "callback": "https://x"}
    assert a2c.call("webhook.create", "POST", bad_entity)["return_code"] == 109
    assert a2c.ok("webhook.delete", "DELETE", id=hook_id) == {"deleted": True}
    assert a2c.call("webhook.delete", "DELETE", id=hook_id)["return_code"] == 112


def test_place_orders_fires_order_add(
    a2c: Client, fresh: SandboxHandle, receiver: Receiver
) -> None:
    subscribe(a2c, receiver.url)
    Client(fresh, OUTLET).ok(
        "webhook.create",
        "POST",
        {"entity": "order", "action": "add", "callback": receiver.url + "/outlet"},
    )
    placed = place(fresh, 2)
    got = [receiver.next() for _ in placed]
    for headers, _ in got:
        assert headers["X-Webhook-Entity"] == "order"
        assert headers["X-Webhook-Action"] == "add"
        assert headers["X-Webhook-Store-Id"] == "1"
        assert headers["X-Webhook-Error-Code"] == "0"
        assert "X-Webhook-Signature" not in headers
    delivered = {json.loads(body)["order_id"] for _, body in got}
    assert delivered == {p["order_id"] for p in placed}
    assert receiver.nothing_within(0.3)


def test_order_update_fires_order_update(
    a2c: Client, fresh: SandboxHandle, receiver: Receiver
) -> None:
    subscribe(a2c, receiver.url, action="update")
    order_id = place(fresh)[0]["order_id"]
    a2c.ok("order.update", "PUT", order_id=order_id, order_status="Processing")
    headers, body = receiver.next()
    assert headers["X-Webhook-Action"] == "update"
    assert json.loads(body)["status"]["id"] == "Processing"
    fresh.control(
        "api2cart", "update-order", store="northwind", order_id=order_id, status="Canceled"
    )
    assert json.loads(receiver.next()[1])["status"]["id"] == "Canceled"


def test_signed_webhooks(a2c: Client, fresh: SandboxHandle, receiver: Receiver) -> None:
    fresh.control("api2cart", "store-settings", store="northwind", sign_webhooks=True)
    subscribe(a2c, receiver.url)
    place(fresh)
    headers, body = receiver.next()
    signed = {
        k: v
        for k, v in headers.items()
        if k.startswith("X-Webhook-") and k != "X-Webhook-Signature"
    }
    message = json.dumps(dict(sorted(signed.items())), separators=(",", ":")).replace("/", "\\/")
    expected = hmac.new(API_KEY.encode(), message.encode() + body, hashlib.sha256).digest()
    assert headers["X-Webhook-Signature"] == base64.b64encode(expected).decode()


def test_failed_deliveries_are_listed_and_disable_after_five(
    a2c: Client, fresh: SandboxHandle, receiver: Receiver
) -> None:
    hook_id = subscribe(a2c, receiver.url)
    receiver.status = 500
    placed = place(fresh, 5)
    for _ in placed:
        receiver.next()
    deadline = time.monotonic() + 5
    while a2c.ok("webhook.list", params="force_all")["webhook"][0]["active"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    failed = Client(fresh, "").ok("account.failed_webhooks", count=250)
    assert failed["all_failed_webhook"] == 5
    assert {f["entity_id"] for f in failed["webhook"]} == {p["id"] for p in placed}
    assert all(f["webhook_id"] == hook_id for f in failed["webhook"])
    assert A2C_VALUE.match(failed["webhook"][0]["time"]["value"])
    place(fresh)
    assert receiver.nothing_within(0.3)
    a2c.ok("webhook.update", "PUT", {"id": hook_id, "active": True})
    receiver.status = 200
    place(fresh)
    assert receiver.next()[0]["X-Webhook-Action"] == "add"


def test_disconnect_notice(a2c: Client, fresh: SandboxHandle, receiver: Receiver) -> None:
    subscribe(a2c, receiver.url)
    answer = fresh.control("api2cart", "disconnect-store", store="northwind")
    assert answer["notices"] == 1
    headers, body = receiver.next()
    assert body == b""
    assert headers["X-Webhook-Error-Code"] != "0"
    assert headers["X-Webhook-Error-Reason"] == "incorrect store key"
    assert headers["X-Webhook-Error-Message"]
    assert headers["X-Webhook-Error-Try-Count"] == "4"
    assert a2c.call("order.list")["return_code"] == 100
    fresh.control("api2cart", "disconnect-store", store="northwind", attempts=4)
    tries = [receiver.next()[0]["X-Webhook-Error-Try-Count"] for _ in range(4)]
    assert sorted(tries, reverse=True) == ["3", "2", "1", "0"]
    fresh.control("api2cart", "reconnect-store", store="northwind")
    hooks = a2c.ok("webhook.list", params="force_all")["webhook"]
    assert hooks[0]["active"] is False
