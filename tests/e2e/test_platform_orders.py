"""Orders from marketplace-like stores end to end: webhooks and polling → ERP → ShipStation.

The sandbox store takes a platform profile (eBay-, Amazon-, Walmart-, Etsy-, Bol-like), so the
hub reads wrapped objects and lines, empty ids, text dates, null totals, tax-inclusive line totals,
subtotals after the discount and SKU-less variant lines over real HTTP, with real web, worker and
beat processes; each order's money is checked against the store's own numbers in the hub, in
ShipStation (its own computed total) and in the ERP's lines.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
from django_tenants.utils import schema_context

from connectors import api2cart
from connectors.shipstation import ShipStationClient
from inbox.models import InboxItem
from inbox.polling import poll_store
from orders.models import Order
from sandbox import demo_data
from tenant_settings.connection_clients import erp_client
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


def store_numbers(world, order_id: str) -> dict[str, Decimal]:
    """What the store reports for the order: its own totals and its lines' net amounts."""
    store = world.stores[STORE]
    raw = api2cart_for_store(store).order_info(order_id).raw
    totals = raw.get("totals")
    totals = totals[0] if isinstance(totals, list) else totals
    total = raw.get("total")
    total = total[0] if isinstance(total, list) else total

    def pick(short: str, long: str) -> Decimal:
        value = (totals or {}).get(short)
        return Decimal(str(value if value is not None else (total or {})[long]))

    lines = api2cart.entries(raw["order_products"])
    return {
        "total": pick("total", "total"),
        "shipping": pick("shipping", "shipping_ex_tax"),
        "tax": pick("tax", "total_tax"),
        "discount": abs(pick("discount", "total_discount")),
        "lines": sum(Decimal(str(line["price"])) * int(line["quantity"]) for line in lines),
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


@pytest.mark.parametrize("profile", ["ebay", "amazon", "walmart", "etsy", "bol", "clean"])
def test_n_quirky_orders_carry_the_stores_exact_money_to_shipstation_and_the_erp(
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
        store = store_numbers(demo_world, order.order_number)
        assert (order.total, order.shipping_amount, order.tax_amount, order.discount_amount) == (
            store["total"],
            store["shipping"],
            store["tax"],
            store["discount"],
        ), order.money_note
        assert order.subtotal == store["lines"] and order.other_amount == 0, order.money_note
        assert order.prices_include_tax is False
        lines = list(order.lines.all())
        assert all(line.sku in (VARIANT_SKU, PLAIN_SKU) for line in lines)
        assert sum(line.tax_amount for line in lines) == store["tax"]
        [remote] = shipstation_order(demo_world, order.order_number)
        assert remote.order_total == remote.amount_paid == store["total"]
        assert Decimal(str(remote.raw["shippingAmount"])) == store["shipping"]
        assert Decimal(str(remote.raw["taxAmount"])) == store["tax"]
        with schema_context("acme"):
            erp_lines = erp_client().order_lines(order.erp_order_number)
        assert sorted(line.price for line in erp_lines) == sorted(
            line.unit_price for line in lines
        ), "net unit prices, as the tenant's M3 keeps them"
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
