"""Flow 3 end to end: ShipStation labels and ERP deliveries → shipments → the store.

The sandbox, the hub's web server, workers and beat run as processes; SHIP_NOTIFY comes from the
sandbox's ShipStation to the hub's webhook URL, and the store's shipments are read back from the
sandbox's API2Cart.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from django_tenants.utils import schema_context

from orders.models import Order
from sandbox import demo_data
from shipping import subscriptions
from shipping.models import Shipment
from shipping.receiving import poll_erp_deliveries
from shipping.shipments import Reported, record
from tenants.models import Tenant
from tenants.store_clients import api2cart_for_store
from tests.e2e.test_order_pipeline import place_and_notify, sent
from tests.support.demo_world import orders_of
from tests.support.harness import wait_until

S = Order.State
STORE = "acme-outlet"


@pytest.fixture(scope="module")
def subscribed(hub, demo_world, django_db_blocker) -> str:
    """acme's ShipStation sends SHIP_NOTIFY to the hub under test; returns the callback URL."""
    with django_db_blocker.unblock(), schema_context("acme"):
        subscriptions.subscribe(hub_url=hub.web_url)
        return subscriptions.callback_url(hub.web_url)


def sent_order(hub, demo_world, **payload) -> Order:
    placed = place_and_notify(hub, demo_world, STORE, **payload)
    [order] = wait_until(lambda: sent("acme", placed["id"]))
    return order


def store_shipments(demo_world, order: Order) -> list:
    return list(api2cart_for_store(demo_world.stores[STORE]).shipments(order.order_number))


def shipments_of(order: Order, **filters) -> list[Shipment]:
    with schema_context("acme"):
        return list(
            Shipment.objects.filter(order=order, **filters).prefetch_related("lines__order_line")
        )


def in_state(order: Order, state: str) -> Order | None:
    found = orders_of("acme", pk=order.pk, state=state)
    return found[0] if found else None


def store_line_ids(order: Order) -> dict[int, str]:
    with schema_context("acme"):
        return {line.line_number: line.store_line_id for line in order.lines.all()}


def test_ship_all_makes_one_store_shipment_per_order_even_with_three_notifications(
    hub, demo_world, live_db, subscribed
):
    orders = [sent_order(hub, demo_world) for _ in range(2)]
    store_before = demo_world.sandbox.status()["api2cart"]["shipments"]

    shipped = []
    for order in orders:
        answer = demo_world.sandbox.control(
            "shipstation", "ship", order=order.shipstation_order_id, account="acme"
        )
        shipped.extend(answer["shipped"])
    for label in shipped:
        body = {
            "resource_url": f"{demo_world.sandbox.url}/shipstation/shipments"
            f"?batchId={label['batchId']}&includeShipmentItems=False",
            "resource_type": "SHIP_NOTIFY",
        }
        for _ in range(2):
            assert requests.post(subscribed, json=body, timeout=30).status_code == 200

    for order in orders:
        wait_until(lambda order=order: in_state(order, S.SHIPPED))
        wait_until(lambda order=order: shipments_of(order, state=Shipment.State.POSTED))
    assert demo_world.sandbox.status()["api2cart"]["shipments"] == store_before + 2
    tracking = {str(label["orderId"]): label["trackingNumber"] for label in shipped}
    for order in orders:
        [store_shipment] = store_shipments(demo_world, order)
        lines = orders_of("acme", pk=order.pk)[0].lines.all()
        assert sorted(store_shipment.items) == sorted((x.store_line_id, x.quantity) for x in lines)
        [number] = store_shipment.tracking_numbers
        assert number.tracking_number == tracking[order.shipstation_order_id]
        assert number.carrier_id == "usps"
        assert len(shipments_of(order)) == 1


def test_a_partial_shipment_then_the_rest_make_two_store_shipments(
    hub, demo_world, live_db, subscribed
):
    acme_skus = [demo_data.products("acme")[n].sellable_skus[0] for n in (0, 1)]
    order = sent_order(
        hub,
        demo_world,
        items=[{"sku": acme_skus[0], "quantity": 3}, {"sku": acme_skus[1], "quantity": 1}],
    )
    with schema_context("acme"):
        first_line = order.lines.get(line_number=1)
        record(
            order,
            Reported(
                origin=Shipment.Origin.SHIPSTATION,
                source_id=f"partial-{order.pk}",
                carrier_code="ups_walleted",
                tracking_numbers=("1ZPARTIAL0001",),
                lines=((first_line, Decimal(2)),),
            ),
        )
    wait_until(lambda: in_state(order, S.PARTIALLY_SHIPPED))
    wait_until(lambda: shipments_of(order, state=Shipment.State.POSTED))
    [first] = store_shipments(demo_world, order)
    ids = store_line_ids(order)
    assert first.items == ((ids[1], Decimal(2)),)
    assert [(t.carrier_id, t.tracking_number) for t in first.tracking_numbers] == [
        ("ups", "1ZPARTIAL0001")
    ]

    demo_world.sandbox.control("shipstation", "ship", order=order.shipstation_order_id)
    wait_until(lambda: in_state(order, S.SHIPPED))
    wait_until(lambda: len(shipments_of(order, state=Shipment.State.POSTED)) == 2)
    second = [s for s in store_shipments(demo_world, order) if s.id != first.id]
    assert len(second) == 1
    assert sorted(second[0].items) == sorted([(ids[1], Decimal(1)), (ids[2], Decimal(1))])
    steps = [e.step for e in orders_of("acme", pk=order.pk)[0].events.all()]
    assert steps.index("partially_shipped") < steps.index("shipped")


def test_an_erp_delivery_with_tracking_becomes_a_store_shipment(hub, demo_world, live_db):
    order = sent_order(hub, demo_world)
    demo_world.sandbox.control(
        "m3", "deliver", order=order.erp_order_number, tracking="1ZERPTRACK42", carrier="DHL"
    )
    with schema_context("acme"):
        assert poll_erp_deliveries() >= 1
        assert poll_erp_deliveries() == 0
    wait_until(lambda: in_state(order, S.SHIPPED))
    wait_until(lambda: shipments_of(order, state=Shipment.State.POSTED))
    [store_shipment] = store_shipments(demo_world, order)
    assert [(t.carrier_id, t.tracking_number) for t in store_shipment.tracking_numbers] == [
        ("dhl", "1ZERPTRACK42")
    ]


def test_an_unknown_carrier_needs_attention_naming_it(hub, demo_world, live_db):
    order = sent_order(hub, demo_world)
    demo_world.sandbox.control(
        "m3", "deliver", order=order.erp_order_number, tracking="ZZ123", carrier="ZZFAST"
    )
    with schema_context("acme"):
        poll_erp_deliveries()
    [shipment] = wait_until(lambda: shipments_of(order, state=Shipment.State.NEEDS_ATTENTION))
    assert "ZZFAST" in shipment.last_error
    assert "ups" in shipment.last_error_hint
    assert store_shipments(demo_world, order) == []


def test_the_callback_url_carries_a_token_stored_hashed(live_db, subscribed):
    tenant = Tenant.objects.get(schema_name="acme")
    token = subscribed.rstrip("/").rsplit("/", 1)[1]
    assert tenant.shipstation_webhook_token_hash != token
    assert Tenant.for_shipstation_webhook_token(token) == tenant
