"""Orders from marketplace-like stores end to end: webhooks and polling → ERP → ShipStation.

The sandbox store takes a platform profile (eBay-, Amazon-, Walmart-like), so the hub reads
wrapped objects, empty ids, text dates, null totals and SKU-less variant lines over real HTTP,
with real web, worker and beat processes.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from connectors.shipstation import ShipStationClient
from inbox.models import InboxItem
from inbox.polling import poll_store
from orders.models import Order
from sandbox import demo_data
from tenants.store_clients import api2cart_for_store
from tests.support.demo_world import orders_of
from tests.support.harness import wait_until

STORE = "acme-outlet"
ACME = demo_data.tenant("acme")
VARIANT_SKU = next(p for p in demo_data.products("acme") if p.variants).variants[0].sku
PLAIN_SKU = next(p for p in demo_data.products("acme") if not p.variants).sku
CENT = Decimal("0.01")


@pytest.fixture
def platform(demo_world):
    def switch(name: str) -> None:
        demo_world.sandbox.control("api2cart", "store-settings", store=STORE, profile=name)

    yield switch
    switch("clean")


def place(world, items: list[dict]) -> dict:
    return world.sandbox.control("api2cart", "place-orders", store=STORE, items=items)["orders"][0]


def notify(hub, world, placed: dict) -> None:
    """Deliver `order.add` as the platform's webhook body (the store's own shape)."""
    store = world.stores[STORE]
    order = api2cart_for_store(store).order_info(placed["order_id"])
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Store-Id": "1",
        "X-Webhook-Action": "add",
        "X-Webhook-Entity": "order",
        "X-Webhook-Error-Code": "0",
    }
    url = f"{hub.web_url}/webhooks/api2cart/{store.webhook_token}/"
    answer = requests.post(url, data=json.dumps(order.raw), headers=headers, timeout=30)
    assert answer.status_code == 200


def expected_money(world, order_id: str) -> dict[str, Decimal]:
    """What the store charged, worked out from its lines (the fake's marketplace rule)."""
    store = world.stores[STORE]
    lines = api2cart_for_store(store).order_info(order_id).raw["order_products"]
    subtotal = sum(Decimal(str(line["price"])) * line["quantity"] for line in lines)
    tax = (subtotal * Decimal("0.08")).quantize(CENT)
    shipping = Decimal("7.50")
    discount = Decimal("2.00") if len(lines) > 1 else Decimal(0)
    return {
        "total": subtotal + shipping + tax - discount,
        "shipping": shipping,
        "tax": tax,
        "discount": discount,
        "subtotal": subtotal,
    }


def counts(world) -> tuple[int, int]:
    status = world.sandbox.status()
    return status["m3"]["erp_orders"], status["shipstation"]["shipstation_orders"]


def shipstation_order(world, order_number: str):
    with ShipStationClient(
        ACME.shipstation_key, ACME.shipstation_secret, base_url=world.sandbox.api_url("shipstation")
    ) as client:
        found = [o for o in client.list_orders(order_number=order_number)]
    return [o for o in found if o.order_number == order_number]


@pytest.mark.parametrize("profile", ["ebay", "amazon", "walmart"])
def test_n_quirky_orders_make_n_erp_and_shipstation_orders_with_their_money(
    hub, demo_world, live_db, platform, profile
):
    platform(profile)
    erp_before, ss_before = counts(demo_world)
    by_webhook = [
        place(demo_world, [{"sku": VARIANT_SKU, "quantity": 2}, {"sku": PLAIN_SKU, "quantity": 1}]),
        place(demo_world, [{"sku": PLAIN_SKU, "quantity": 3}]),
    ]
    by_polling = [
        place(demo_world, [{"sku": VARIANT_SKU, "quantity": 1}]),
        place(demo_world, [{"sku": PLAIN_SKU, "quantity": 1}, {"sku": VARIANT_SKU, "quantity": 1}]),
    ]
    for placed in by_webhook:
        notify(hub, demo_world, placed)
    poll_store(demo_world.stores[STORE])
    placed_all = by_webhook + by_polling
    numbers = [p["order_id"] for p in placed_all]

    store_pk = demo_world.stores[STORE].pk

    def all_sent() -> list[Order] | None:
        sent = [
            o
            for o in orders_of("acme", order_number__in=numbers, store_id=store_pk)
            if o.state == Order.State.SENT_TO_SHIPSTATION
        ]
        return sent if len(sent) == len(numbers) else None

    sent = wait_until(all_sent, timeout=90)
    assert counts(demo_world) == (erp_before + len(numbers), ss_before + len(numbers))
    for order in sent:
        money = expected_money(demo_world, order.order_number)
        assert (order.total, order.shipping_amount, order.tax_amount, order.discount_amount) == (
            money["total"],
            money["shipping"],
            money["tax"],
            money["discount"],
        )
        assert order.subtotal == money["subtotal"]
        assert all(line.sku in (VARIANT_SKU, PLAIN_SKU) for line in order.lines.all())
        [remote] = shipstation_order(demo_world, order.order_number)
        assert remote.amount_paid == money["total"]
        assert Decimal(str(remote.raw["shippingAmount"])) == money["shipping"]
        assert Decimal(str(remote.raw["taxAmount"])) == money["tax"]
    if profile == "ebay":
        assert {o.store_order_id for o in sent} == set(numbers), "no id: keyed by order_id"


def test_a_line_without_any_sku_parks_the_store_order_naming_the_line(
    hub, demo_world, live_db, platform
):
    platform("ebay")
    erp_before, _ = counts(demo_world)
    placed = place(
        demo_world,
        [{"sku": PLAIN_SKU, "quantity": 1}, {"sku": PLAIN_SKU, "quantity": 1, "no_sku": True}],
    )
    notify(hub, demo_world, placed)
    store = demo_world.stores[STORE]
    item = wait_until(
        lambda: InboxItem.objects.filter(
            store=store, entity_id=placed["order_id"], state=InboxItem.State.NEEDS_ATTENTION
        ).first(),
        timeout=60,
    )
    assert "line 2" in item.last_error and "without a SKU" in item.last_error
    assert orders_of("acme", order_number=placed["order_id"], store_id=store.pk) == []
    assert counts(demo_world)[0] == erp_before
