"""The ShipStation V1 fake over real HTTP, checked against ../shared/contracts/shipstation.md §9.

One sandbox process serves the whole module; tests keep apart by using their own order numbers,
and by raising the rate limit so only the rate-limit tests ever hit it.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from sandbox import demo_data
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox

ACME = demo_data.tenant("acme")
GLOBEX = demo_data.tenant("globex")
ACME_AUTH = (ACME.shipstation_key, ACME.shipstation_secret)
GLOBEX_AUTH = (GLOBEX.shipstation_key, GLOBEX.shipstation_secret)
ACME_MANUAL_STORE = 2100002
ACME_WOO_STORE = 2100001
ORDER_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNLIMITED = 1_000_000


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("shipstation-sandbox"))
    handle.control("shipstation", "set-rate-limit", limit=UNLIMITED)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def api(sandbox: SandboxHandle) -> str:
    return sandbox.api_url("shipstation")


@pytest.fixture
def unlimited(sandbox: SandboxHandle) -> Iterator[None]:
    """Rate-limit tests lower the limit; put it back so the rest of the module never waits."""
    yield
    sandbox.control("shipstation", "set-rate-limit", limit=UNLIMITED)


class Receiver:
    """A tiny local webhook endpoint that records every POST body."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[dict] = queue.Queue()
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shipstation"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 5.0) -> dict:
        return self.bodies.get(timeout=timeout)

    def assert_silent(self, wait: float = 0.5) -> None:
        with pytest.raises(queue.Empty):
            self.bodies.get(timeout=wait)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture
def subscribe(api: str) -> Iterator:
    """Subscribe webhooks for a test and unsubscribe them afterwards."""
    created: list[tuple[int, tuple[str, str]]] = []

    def make(target_url: str, event: str, auth: tuple[str, str] = ACME_AUTH, **extra) -> int:
        body = {"target_url": target_url, "event": event, **extra}
        answer = requests.post(f"{api}/webhooks/subscribe", json=body, auth=auth)
        assert answer.status_code == 200, answer.text
        created.append((answer.json()["id"], auth))
        return answer.json()["id"]

    yield make
    for webhook_id, auth in created:
        requests.delete(f"{api}/webhooks/{webhook_id}", auth=auth)


def new_order(number: str, **changes) -> dict:
    order = {
        "orderNumber": number,
        "orderKey": f"test:{number}",
        "orderDate": "2024-07-01 09:15:00",
        "orderStatus": "awaiting_shipment",
        "customerUsername": "ada@example.com",
        "customerEmail": "ada@example.com",
        "billTo": {"name": "Ada Lovelace"},
        "shipTo": {
            "name": "Ada Lovelace",
            "street1": "1 High St",
            "city": "Austin",
            "state": "TX",
            "postalCode": "78701",
            "country": "US",
        },
        "items": [
            {
                "lineItemKey": "line-1",
                "sku": "AC-1001",
                "name": "Classic Anvil 1001",
                "quantity": 2,
                "unitPrice": 12.5,
                "options": [{"name": "Colour", "value": "Red"}],
            }
        ],
        "amountPaid": 30.0,
        "taxAmount": 2.0,
        "shippingAmount": 3.0,
        "customerNotes": "Leave at the door",
    }
    order.update(changes)
    return order


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def create(api: str, order: dict, auth: tuple[str, str] = ACME_AUTH) -> dict:
    answer = requests.post(f"{api}/orders/createorder", json=order, auth=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- auth and rate limit ----------------------------------------------------------


def test_requests_without_valid_credentials_are_unauthorized(api: str) -> None:
    for auth in (None, (ACME.shipstation_key, "wrong-secret"), ("unknown", "pair")):
        answer = requests.get(f"{api}/stores", auth=auth)
        assert answer.status_code == 401
        assert "Message" in answer.json()
        assert "X-Rate-Limit-Limit" in answer.headers


def test_each_tenant_is_a_separate_account(api: str) -> None:
    order = create(api, new_order(unique("ISO")))
    assert requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).status_code == 200
    assert requests.get(f"{api}/orders/{order['orderId']}", auth=GLOBEX_AUTH).status_code == 404
    globex_stores = requests.get(f"{api}/stores", auth=GLOBEX_AUTH).json()
    assert ACME_MANUAL_STORE not in [store["storeId"] for store in globex_stores]


def test_forty_first_call_in_a_window_is_rejected(sandbox: SandboxHandle, api: str, unlimited):
    sandbox.control("shipstation", "set-rate-limit", limit=40)
    for expected_remaining in range(39, -1, -1):
        answer = requests.get(f"{api}/stores", auth=GLOBEX_AUTH)
        assert answer.status_code == 200
        assert answer.headers["X-Rate-Limit-Limit"] == "40"
        assert answer.headers["X-Rate-Limit-Remaining"] == str(expected_remaining)
        assert 1 <= int(answer.headers["X-Rate-Limit-Reset"]) <= 60

    rejected = requests.get(f"{api}/stores", auth=GLOBEX_AUTH)

    assert rejected.status_code == 429
    assert rejected.json() == {"message": "Too Many Requests"}
    assert rejected.headers["X-Rate-Limit-Remaining"] == "0"
    assert 1 <= int(rejected.headers["X-Rate-Limit-Reset"]) <= 60
    assert "Retry-After" not in rejected.headers
    assert requests.get(f"{api}/stores", auth=ACME_AUTH).status_code == 200, "per key pair"
    assert sandbox.status()["shipstation"]["rate_limited"] >= 1


def test_retry_after_is_an_opt_in_flag(sandbox: SandboxHandle, api: str, unlimited) -> None:
    sandbox.control("shipstation", "set-rate-limit", limit=2, retry_after=True)
    for _ in range(2):
        assert requests.get(f"{api}/stores", auth=ACME_AUTH).status_code == 200
    rejected = requests.get(f"{api}/stores", auth=ACME_AUTH)
    assert rejected.status_code == 429
    assert rejected.headers["Retry-After"] == rejected.headers["X-Rate-Limit-Reset"]


def test_set_rate_limit_rejects_bad_input(sandbox: SandboxHandle) -> None:
    with pytest.raises(SandboxError):
        sandbox.control("shipstation", "set-rate-limit", limit=0)


def test_plan_without_api_access_is_forbidden(sandbox: SandboxHandle, api: str) -> None:
    sandbox.control("shipstation", "set-api-access", account="globex", enabled=False)
    try:
        answer = requests.get(f"{api}/stores", auth=GLOBEX_AUTH)
        assert answer.status_code == 403
        assert "X-Rate-Limit-Limit" in answer.headers
    finally:
        sandbox.control("shipstation", "set-api-access", account="globex", enabled=True)
    assert requests.get(f"{api}/stores", auth=GLOBEX_AUTH).status_code == 200


def test_error_bodies_follow_asp_net_style(api: str) -> None:
    missing = requests.get(f"{api}/carriers/nothing", auth=ACME_AUTH)
    assert missing.status_code == 404
    assert missing.json()["Message"].startswith("No HTTP resource was found")
    wrong_method = requests.get(f"{api}/orders/createorder", auth=ACME_AUTH)
    assert wrong_method.status_code == 405
    assert "X-Rate-Limit-Remaining" in wrong_method.headers


# -- createorder / createorders -----------------------------------------------------


def test_createorder_creates_in_first_manual_store_with_pacific_dates(api: str) -> None:
    number = unique("NEW")
    order = create(api, new_order(number, orderDate="2024-07-01T16:15:00.000Z"))

    assert order["orderId"] > 0
    assert order["orderKey"] == f"test:{number}"
    assert order["orderDate"] == "2024-07-01T09:15:00.0000000", "UTC input shown in PDT"
    assert ORDER_TIMESTAMP.match(order["createDate"])
    assert order["modifyDate"] == order["createDate"]
    assert order["advancedOptions"]["storeId"] == ACME_MANUAL_STORE
    assert order["orderTotal"] == 30.0
    assert order["items"][0]["orderItemId"] > 0
    assert order["customerId"] is not None
    assert order["weight"]["WeightUnits"] == 1
    fetched = requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).json()
    assert fetched == order


def test_createorder_without_order_key_always_creates(api: str) -> None:
    body = new_order(unique("NOKEY"))
    del body["orderKey"]
    first, second = create(api, body), create(api, body)
    assert first["orderId"] != second["orderId"]
    assert first["orderKey"] and first["orderKey"] != second["orderKey"]


def test_createorder_upserts_by_order_key_with_full_replace(api: str) -> None:
    number = unique("UPS")
    created = create(api, new_order(number, advancedOptions={"storeId": ACME_WOO_STORE}))
    changed = new_order(
        number,
        orderStatus="on_hold",
        advancedOptions={"storeId": ACME_MANUAL_STORE, "customField1": "SO-1"},
    )
    del changed["customerNotes"]

    updated = create(api, changed)

    assert updated["orderId"] == created["orderId"]
    assert updated["createDate"] == created["createDate"]
    assert updated["modifyDate"] >= created["modifyDate"]
    assert updated["orderStatus"] == "on_hold"
    assert updated["customerNotes"] is None, "omitted fields are cleared"
    assert updated["advancedOptions"]["storeId"] == ACME_WOO_STORE, "storeId is create-only"
    assert updated["advancedOptions"]["customField1"] == "SO-1"
    assert updated["items"][0]["orderItemId"] == created["items"][0]["orderItemId"]


@pytest.mark.parametrize("final_status", ["shipped", "cancelled"])
def test_createorder_refuses_to_update_closed_orders(api: str, final_status: str) -> None:
    number = unique("CLOSED")
    create(api, new_order(number, orderStatus=final_status))

    answer = requests.post(f"{api}/orders/createorder", json=new_order(number), auth=ACME_AUTH)

    refusal = f"The order is {final_status} and cannot be updated."
    assert answer.status_code == 400
    assert answer.json() == {
        "Message": refusal,
        "ModelState": {"apiOrder.orderStatus": [refusal]},
    }


def test_createorder_reports_bad_input_as_model_state(api: str) -> None:
    as_array = requests.post(f"{api}/orders/createorder", json=[new_order("X")], auth=ACME_AUTH)
    assert as_array.status_code == 400
    assert "apiOrder" in as_array.json()["ModelState"]

    incomplete = new_order(unique("BAD"), orderDate="yesterday")
    del incomplete["shipTo"]
    answer = requests.post(f"{api}/orders/createorder", json=incomplete, auth=ACME_AUTH)
    assert answer.status_code == 400
    assert {"apiOrder.orderDate", "apiOrder.shipTo"} <= set(answer.json()["ModelState"])


def test_createorders_reports_each_order(api: str) -> None:
    good, bad = unique("BULK"), unique("BULK")
    invalid = new_order(bad, orderStatus="lost_in_space")

    answer = requests.post(
        f"{api}/orders/createorders", json=[new_order(good), invalid], auth=ACME_AUTH
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["hasErrors"] is True
    ok, failed = body["results"]
    assert ok["success"] is True and ok["orderId"] > 0 and ok["errorMessage"] is None
    assert ok["orderNumber"] == good and ok["orderKey"] == f"test:{good}"
    assert failed["success"] is False and failed["orderId"] == 0 and failed["errorMessage"]
    listed = requests.get(f"{api}/orders", params={"orderNumber": bad}, auth=ACME_AUTH).json()
    assert listed["total"] == 0


def test_createorders_accepts_only_arrays_of_at_most_100(api: str) -> None:
    as_object = requests.post(f"{api}/orders/createorders", json=new_order("X"), auth=ACME_AUTH)
    assert as_object.status_code == 400
    assert "apiOrders" in as_object.json()["ModelState"]

    too_many = [new_order(f"MANY-{n}") for n in range(101)]
    answer = requests.post(f"{api}/orders/createorders", json=too_many, auth=ACME_AUTH)
    assert answer.status_code == 400
    assert "ModelState" in answer.json()


# -- listing --------------------------------------------------------------------------


def test_list_orders_filters_and_pages(api: str) -> None:
    prefix = unique("LIST")
    for n in range(5):
        create(
            api,
            new_order(
                f"{prefix}-{n}",
                orderStatus="awaiting_payment" if n == 4 else "awaiting_shipment",
                orderDate=f"2024-08-0{n + 1} 10:00:00",
                shipTo={"name": "Grace Hopper" if n == 2 else "Ada Lovelace", "country": "US"},
            ),
        )

    def orders(**params) -> dict:
        answer = requests.get(f"{api}/orders", params=params, auth=ACME_AUTH)
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = orders(orderNumber=prefix, pageSize=2)
    assert (first["total"], first["page"], first["pages"]) == (5, 1, 3)
    ids = [o["orderId"] for o in first["orders"]]
    assert ids == sorted(ids), "default sort is orderId ascending"
    last = orders(orderNumber=prefix, pageSize=2, page=3)
    assert [o["orderNumber"] for o in last["orders"]] == [f"{prefix}-4"]

    assert orders(orderNumber=f"{prefix}-1")["total"] == 1, "orderNumber is a prefix match"
    assert orders(orderNumber=prefix, orderStatus="awaiting_payment")["total"] == 1
    assert orders(orderNumber=prefix, customerName="hopper")["total"] == 1
    assert orders(orderNumber=prefix, storeID=ACME_MANUAL_STORE)["total"] == 5
    assert orders(orderNumber=prefix, storeId=ACME_WOO_STORE)["total"] == 0
    ranged = orders(
        orderNumber=prefix,
        orderDateStart="2024-08-02 00:00:00",
        orderDateEnd="2024-08-03T23:59:59.0000000",
    )
    assert [o["orderNumber"] for o in ranged["orders"]] == [f"{prefix}-1", f"{prefix}-2"]
    newest_first = orders(orderNumber=prefix, sortBy="OrderDate", sortDir="DESC")
    assert newest_first["orders"][0]["orderNumber"] == f"{prefix}-4"
    assert orders(orderNumber=prefix, itemKeyword="anvil")["total"] == 5
    assert orders(orderNumber=prefix, itemKeyword="nothing-like-this")["total"] == 0
    assert orders(orderNumber=prefix, modifyDateStart="2000-01-01 00:00:00")["total"] == 5


def test_list_orders_rejects_page_size_over_500(api: str) -> None:
    answer = requests.get(f"{api}/orders", params={"pageSize": 501}, auth=ACME_AUTH)
    assert answer.status_code == 400
    assert "pageSize" in answer.json()["ModelState"]
    assert requests.get(f"{api}/orders", params={"pageSize": 500}, auth=ACME_AUTH).ok


def test_stores_and_marketplaces_are_bare_arrays(api: str) -> None:
    stores = requests.get(f"{api}/stores", auth=ACME_AUTH).json()
    manual = next(s for s in stores if s["storeId"] == ACME_MANUAL_STORE)
    assert (manual["marketplaceId"], manual["marketplaceName"]) == (0, "ShipStation")
    one = requests.get(f"{api}/stores/{ACME_MANUAL_STORE}", auth=ACME_AUTH).json()
    assert one["statusMappings"]
    marketplaces = requests.get(f"{api}/stores/marketplaces", auth=ACME_AUTH).json()
    assert (marketplaces[0]["name"], marketplaces[0]["marketplaceId"]) == ("ShipStation", 0)


# -- order actions ------------------------------------------------------------------


def test_hold_restore_and_delete_answer_with_success_bodies(api: str) -> None:
    order = create(api, new_order(unique("HOLD")))
    held = requests.post(
        f"{api}/orders/holduntil",
        json={"orderId": order["orderId"], "holdUntilDate": "2099-12-01"},
        auth=ACME_AUTH,
    )
    assert held.json() == {"success": True, "message": "Order held successfully."}
    fetched = requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).json()
    assert fetched["orderStatus"] == "on_hold"
    assert fetched["holdUntilDate"] == "2099-12-01T00:00:00.0000000"

    restored = requests.post(
        f"{api}/orders/restorefromhold", json={"orderId": order["orderId"]}, auth=ACME_AUTH
    )
    assert restored.json()["success"] is True
    fetched = requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).json()
    assert fetched["orderStatus"] == "awaiting_shipment"

    deleted = requests.delete(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH)
    assert deleted.json() == {"success": True, "message": "The requested order has been deleted."}
    assert requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).status_code == 404
    listed = requests.get(
        f"{api}/orders", params={"orderNumber": order["orderNumber"]}, auth=ACME_AUTH
    )
    assert listed.json()["total"] == 0


def test_expired_hold_returns_to_awaiting_shipment(api: str) -> None:
    order = create(api, new_order(unique("PAST")))
    requests.post(
        f"{api}/orders/holduntil",
        json={"orderId": order["orderId"], "holdUntilDate": "2020-01-01"},
        auth=ACME_AUTH,
    )
    fetched = requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).json()
    assert fetched["orderStatus"] == "awaiting_shipment"


def test_mark_as_shipped_creates_a_fulfillment_and_no_webhook(
    api: str, receiver: Receiver, subscribe
) -> None:
    order = create(api, new_order(unique("MARK")))
    subscribe(receiver.url, "SHIP_NOTIFY")

    answer = requests.post(
        f"{api}/orders/markasshipped",
        json={
            "orderId": order["orderId"],
            "carrierCode": "usps",
            "shipDate": "2024-07-02",
            "trackingNumber": "913492493294329421",
            "notifyCustomer": True,
            "notifySalesChannel": True,
        },
        auth=ACME_AUTH,
    )

    assert answer.json() == {"orderId": order["orderId"], "orderNumber": order["orderNumber"]}
    fulfillments = requests.get(
        f"{api}/fulfillments", params={"orderId": order["orderId"]}, auth=ACME_AUTH
    ).json()
    assert fulfillments["total"] == 1
    fulfillment = fulfillments["fulfillments"][0]
    assert fulfillment["trackingNumber"] == "913492493294329421"
    assert fulfillment["shipDate"] == "2024-07-02"
    shipments = requests.get(
        f"{api}/shipments", params={"orderId": order["orderId"]}, auth=ACME_AUTH
    ).json()
    assert shipments["total"] == 0
    fetched = requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).json()
    assert fetched["orderStatus"] == "shipped"
    receiver.assert_silent()


# -- labels, shipments and webhooks ---------------------------------------------------


def test_ship_control_creates_shipment_and_fires_ship_notify(
    sandbox: SandboxHandle, api: str, receiver: Receiver, subscribe
) -> None:
    order = create(api, new_order(unique("SHIP")))
    subscribe(receiver.url, "SHIP_NOTIFY")
    subscribe(receiver.url, "SHIP_NOTIFY", auth=GLOBEX_AUTH)

    result = sandbox.control("shipstation", "ship", order=order["orderNumber"])

    assert [s["orderId"] for s in result["shipped"]] == [order["orderId"]]
    hook = receiver.next()
    assert hook["resource_type"] == "SHIP_NOTIFY"
    assert hook["resource_url"].startswith(f"{api}/shipments?")
    assert "batchId=" in hook["resource_url"]
    assert "includeShipmentItems=False" in hook["resource_url"]
    receiver.assert_silent()  # globex's subscription hears nothing of acme's labels

    thin = requests.get(hook["resource_url"], auth=ACME_AUTH).json()
    assert thin["total"] == 1 and thin["shipments"][0]["shipmentItems"] is None
    full_url = hook["resource_url"].replace(
        "includeShipmentItems=False", "includeShipmentItems=true"
    )
    shipment = requests.get(full_url, auth=ACME_AUTH).json()["shipments"][0]
    assert shipment["orderId"] == order["orderId"]
    assert shipment["orderKey"] == order["orderKey"]
    assert shipment["trackingNumber"] == result["shipped"][0]["trackingNumber"]
    assert shipment["carrierCode"] and shipment["serviceCode"]
    assert DAY.match(shipment["shipDate"])
    assert ORDER_TIMESTAMP.match(shipment["createDate"])
    assert [i["sku"] for i in shipment["shipmentItems"]] == ["AC-1001"]
    assert shipment["shipmentItems"][0]["quantity"] == 2
    fetched = requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).json()
    assert fetched["orderStatus"] == "shipped"
    assert DAY.match(fetched["shipDate"])


def test_create_label_for_order_fires_item_ship_notify_with_items(
    api: str, receiver: Receiver, subscribe
) -> None:
    order = create(api, new_order(unique("LABEL")))
    subscribe(receiver.url, "ITEM_SHIP_NOTIFY", store_id=ACME_MANUAL_STORE)

    label = requests.post(
        f"{api}/orders/createlabelfororder",
        json={"orderId": order["orderId"], "carrierCode": "ups", "serviceCode": "ups_ground"},
        auth=ACME_AUTH,
    ).json()

    assert label["labelData"] and label["trackingNumber"]
    hook = receiver.next()
    assert hook["resource_type"] == "ITEM_SHIP_NOTIFY"
    shipment = requests.get(hook["resource_url"], auth=ACME_AUTH).json()["shipments"][0]
    assert shipment["shipmentId"] == label["shipmentId"]
    assert shipment["carrierCode"] == "ups"
    assert shipment["shipmentItems"][0]["sku"] == "AC-1001"


def test_ship_control_rejects_bad_input(sandbox: SandboxHandle, api: str) -> None:
    with pytest.raises(SandboxError):
        sandbox.control("shipstation", "ship")
    with pytest.raises(SandboxError):
        sandbox.control("shipstation", "ship", order="NO-SUCH-ORDER")
    held = create(api, new_order(unique("NOSHIP"), orderStatus="on_hold"))
    with pytest.raises(SandboxError):
        sandbox.control("shipstation", "ship", order=held["orderNumber"])


def test_new_paid_orders_fire_one_order_notify_per_import(
    api: str, receiver: Receiver, subscribe
) -> None:
    subscribe(receiver.url, "ORDER_NOTIFY")
    numbers = [unique("NOTE") for _ in range(3)]
    batch = [new_order(n) for n in numbers[:2]] + [
        new_order(numbers[2], orderStatus="awaiting_payment")
    ]

    requests.post(f"{api}/orders/createorders", json=batch, auth=ACME_AUTH)

    hook = receiver.next()
    assert hook["resource_type"] == "ORDER_NOTIFY"
    assert hook["resource_url"].startswith(f"{api}/orders?")
    receiver.assert_silent()
    imported = requests.get(hook["resource_url"], auth=ACME_AUTH).json()
    assert sorted(o["orderNumber"] for o in imported["orders"]) == sorted(numbers[:2])

    create(api, new_order(numbers[0], internalNotes="an update is not a new order"))
    receiver.assert_silent()
    create(api, new_order(numbers[2]))
    paid = requests.get(receiver.next()["resource_url"], auth=ACME_AUTH).json()
    assert [o["orderNumber"] for o in paid["orders"]] == [numbers[2]]


def test_webhook_subscribe_list_and_unsubscribe_shapes(api: str, receiver: Receiver) -> None:
    subscribed = requests.post(
        f"{api}/webhooks/subscribe",
        json={
            "target_url": receiver.url,
            "event": "ITEM_ORDER_NOTIFY",
            "store_id": ACME_MANUAL_STORE,
            "friendly_name": "Hub orders",
        },
        auth=ACME_AUTH,
    )
    assert subscribed.status_code == 200
    assert list(subscribed.json()) == ["id"]
    webhook_id = subscribed.json()["id"]

    listed = requests.get(f"{api}/webhooks", auth=ACME_AUTH).json()
    hook = next(h for h in listed["webhooks"] if h["WebHookID"] == webhook_id)
    assert hook["HookType"] == "ITEM_ORDER_NOTIFY"
    assert hook["Url"] == receiver.url
    assert hook["StoreID"] == ACME_MANUAL_STORE
    assert hook["Name"] == "Hub orders"
    assert hook["Active"] is True and hook["MessageFormat"] == "Json"

    removed = requests.delete(f"{api}/webhooks/{webhook_id}", auth=ACME_AUTH)
    assert removed.status_code == 200
    assert removed.content == b""
    listed = requests.get(f"{api}/webhooks", auth=ACME_AUTH).json()
    assert webhook_id not in [h["WebHookID"] for h in listed["webhooks"]]


def test_webhook_subscribe_validates_input(api: str) -> None:
    answer = requests.post(
        f"{api}/webhooks/subscribe", json={"target_url": "nope", "event": "X"}, auth=ACME_AUTH
    )
    assert answer.status_code == 400
    assert len(answer.json()["ModelState"]) == 2


def test_status_counts_shipstation_activity(sandbox: SandboxHandle) -> None:
    counts = sandbox.status()["shipstation"]
    for key in ("shipstation_orders", "shipments", "fulfillments", "calls", "rate_limited"):
        assert isinstance(counts[key], int)
    assert counts["calls"] > 0 and counts["shipstation_orders"] > 0


# -- cancel, hold and refusals by upsert ------------------------------------------------


def cancel_body(number: str) -> dict:
    return new_order(number, orderStatus="cancelled")


def test_cancel_by_upsert_is_counted_per_order_key(sandbox: SandboxHandle, api: str) -> None:
    number = unique("CANCEL")
    created = create(api, new_order(number))
    before = sandbox.status()["shipstation"]

    cancelled = create(api, cancel_body(number))

    assert cancelled["orderId"] == created["orderId"]
    assert cancelled["orderStatus"] == "cancelled"
    history = sandbox.shipstation_order_history(f"test:{number}")
    assert history["account"] == "acme"
    assert history["order"]["orderStatus"] == "cancelled"
    assert [(h["from"], h["to"]) for h in history["status_history"]] == [
        (None, "awaiting_shipment"),
        ("awaiting_shipment", "cancelled"),
    ]
    assert ORDER_TIMESTAMP.match(history["status_history"][-1]["at"])
    assert history["cancel_requests"] == 1 and history["cancel_requests_refused"] == 0
    after = sandbox.status()["shipstation"]
    assert after["cancel_requests"] == before["cancel_requests"] + 1
    assert after["orders_by_status"]["cancelled"] == before["orders_by_status"]["cancelled"] + 1


def test_cancelling_an_unknown_key_creates_a_cancelled_order(
    sandbox: SandboxHandle, api: str
) -> None:
    number = unique("NEWCANCEL")

    order = create(api, cancel_body(number))

    assert order["orderStatus"] == "cancelled" and order["orderKey"] == f"test:{number}"
    assert sandbox.shipstation_order_history(number)["cancel_requests"] == 1


def test_on_hold_by_upsert_is_accepted_and_released_by_restore(api: str) -> None:
    number = unique("ONHOLD")
    created = create(api, new_order(number))

    held = create(api, new_order(number, orderStatus="on_hold"))

    assert held["orderId"] == created["orderId"] and held["orderStatus"] == "on_hold"
    restored = requests.post(
        f"{api}/orders/restorefromhold", json={"orderId": held["orderId"]}, auth=ACME_AUTH
    )
    assert restored.json() == {"success": True, "message": "Order restored successfully."}


def test_cancelling_twice_is_refused_and_counted(sandbox: SandboxHandle, api: str) -> None:
    number = unique("TWICE")
    create(api, cancel_body(number))

    again = requests.post(f"{api}/orders/createorder", json=cancel_body(number), auth=ACME_AUTH)

    refusal = "The order is cancelled and cannot be updated."
    assert again.status_code == 400
    assert again.json() == {"Message": refusal, "ModelState": {"apiOrder.orderStatus": [refusal]}}
    history = sandbox.shipstation_order_history(number)
    assert history["cancel_requests"] == 2 and history["cancel_requests_refused"] == 1
    assert history["cancel_request_log"][-1] == {
        "at": history["cancel_request_log"][-1]["at"],
        "accepted": False,
        "refusal": refusal,
    }
    assert [h["to"] for h in history["status_history"]] == ["cancelled"]


def test_createorders_refuses_closed_orders_per_element(sandbox: SandboxHandle, api: str) -> None:
    shipped, cancelled, open_ = unique("BSHIP"), unique("BCANCEL"), unique("BOPEN")
    create(api, new_order(shipped, orderStatus="shipped"))
    create(api, cancel_body(cancelled))
    batch = [new_order(shipped), cancel_body(cancelled), cancel_body(open_)]

    answer = requests.post(f"{api}/orders/createorders", json=batch, auth=ACME_AUTH)

    assert answer.status_code == 200
    body = answer.json()
    assert body["hasErrors"] is True
    assert [(r["success"], r["errorMessage"]) for r in body["results"]] == [
        (False, "The order is shipped and cannot be updated."),
        (False, "The order is cancelled and cannot be updated."),
        (True, None),
    ]
    assert body["results"][0]["orderKey"] == f"test:{shipped}"
    assert sandbox.shipstation_order_history(cancelled)["cancel_requests_refused"] == 1
    assert sandbox.shipstation_order_history(open_)["order"]["orderStatus"] == "cancelled"


def test_ship_all_never_ships_cancelled_or_held_orders(sandbox: SandboxHandle, api: str) -> None:
    cancelled = create(api, cancel_body(unique("NOSHIPC")))
    held = create(api, new_order(unique("NOSHIPH"), orderStatus="on_hold"))
    ready = create(api, new_order(unique("SHIPALL")))

    printed = subprocess.run(
        [sys.executable, "-m", "sandbox", "--url", sandbox.url, "ship", "--all"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip

    shipped = {s["orderId"] for s in json.loads(printed)["shipped"]}
    assert ready["orderId"] in shipped
    assert not {cancelled["orderId"], held["orderId"]} & shipped
    for order, status in ((cancelled, "cancelled"), (held, "on_hold"), (ready, "shipped")):
        fetched = requests.get(f"{api}/orders/{order['orderId']}", auth=ACME_AUTH).json()
        assert fetched["orderStatus"] == status


def test_status_json_counts_orders_by_status_and_cancel_requests(
    sandbox: SandboxHandle, api: str
) -> None:
    create(api, new_order(unique("STAT"), orderStatus="on_hold"))

    printed = subprocess.run(
        [sys.executable, "-m", "sandbox", "--url", sandbox.url, "status", "--json"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip

    shipstation = json.loads(printed)["shipstation"]
    by_status = shipstation["orders_by_status"]
    assert {"awaiting_shipment", "on_hold", "cancelled", "shipped"} <= set(by_status)
    assert by_status["on_hold"] >= 1
    assert sum(by_status.values()) == shipstation["shipstation_orders"]
    assert shipstation["cancel_requests"] >= shipstation["cancel_requests_refused"]
    assert isinstance(shipstation["calls"], int), "the existing counts stay"


def test_order_history_rejects_bad_input(sandbox: SandboxHandle) -> None:
    with pytest.raises(SandboxError, match="needs"):
        sandbox.control("shipstation", "order-history")
    with pytest.raises(SandboxError, match="No ShipStation order"):
        sandbox.shipstation_order_history("NO-SUCH-ORDER")
