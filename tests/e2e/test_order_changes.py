"""Flow 6 end to end: the store changes an order after the hub took it (docs/adr-0011).

The sandbox's store cancels, refunds, re-addresses or edits an order and the store's
`order.update` webhook is delivered to the hub's web server; workers act on the change against
the sandbox's ShipStation and M3 over HTTP. What ShipStation and M3 did is read back from them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from connectors.m3 import M3Client
from invoicing.models import StoreStatusUpdate
from invoicing.services import read_invoices
from orders.models import Order, OrderChange
from sandbox import demo_data
from shipping.receiving import poll_shipstation_shipments
from tenant_settings.connection_clients import erp_client, shipstation_client
from tenant_settings.models import ConnectionSettings
from tenants.store_clients import api2cart_for_store
from tests.e2e.test_order_pipeline import counts, deliver, place_and_notify, sent
from tests.support.demo_world import orders_of, webhook_for
from tests.support.harness import wait_until

S = Order.State
C = OrderChange.State
STORE = "acme-outlet"


def notify_update(hub, world, store_name: str, order_ref: str, times: int = 1) -> None:
    """Deliver the store's order.update webhook for the order as it is now (`times` copies)."""
    store = world.stores[store_name]
    body, headers = webhook_for(store, order_ref)
    headers = {**headers, "X-Webhook-Action": "update"}
    with ThreadPoolExecutor(max_workers=min(times, 10)) as pool:
        answers = list(pool.map(lambda _: deliver(hub, store, body, headers), range(times)))
    assert {a.status_code for a in answers} == {200}


def sent_order(hub, world, **payload) -> tuple[dict, Order]:
    placed = place_and_notify(hub, world, STORE, **payload)
    [order] = wait_until(lambda: sent("acme", placed["id"]))
    return placed, order


def change_of(order: Order, kind: str, *states: str) -> OrderChange | None:
    with schema_context("acme"):
        return (
            OrderChange.objects.filter(order_id=order.pk, kind=kind, state__in=states)
            .select_related("order")
            .first()
        )


def now(order: Order) -> Order:
    return orders_of("acme", pk=order.pk)[0]


def shipstation_order(order: Order):
    with schema_context("acme"):
        return shipstation_client().get_order(int(order.shipstation_order_id))


def erp(order: Order) -> M3Client:
    with schema_context("acme"):
        return erp_client()


@pytest.fixture
def erp_transactions(live_db):
    """The tenant lets the hub cancel lines and re-address orders in M3; off again after."""
    with schema_context("acme"):
        ConnectionSettings.objects.update(
            erp_cancel_line_transaction="OIS100MI/DelLine",
            erp_delivery_address_transaction="OIS100MI/ChgLineBatchEnt",
        )
    yield
    with schema_context("acme"):
        ConnectionSettings.objects.update(
            erp_cancel_line_transaction="", erp_delivery_address_transaction=""
        )


def test_a_cancel_before_the_erp_step_reaches_neither_the_erp_nor_shipstation(
    hub, demo_world, live_db
):
    erp_before, ss_before = counts(demo_world)
    demo_world.sandbox.control("m3", "faults", error_rate=1.0)
    try:
        placed = place_and_notify(hub, demo_world, STORE)
        [order] = wait_until(lambda: orders_of("acme", store_order_id=placed["id"]))
        demo_world.sandbox.cancel_store_order(placed["id"], STORE)
        notify_update(hub, demo_world, STORE, placed["id"])
        wait_until(lambda: now(order).state == S.CANCELLED, timeout=60)
    finally:
        demo_world.sandbox.control("m3", "faults", clear=True)
    assert change_of(order, OrderChange.Kind.CANCELLED, C.DONE)
    assert counts(demo_world) == (erp_before, ss_before)
    assert now(order).erp_order_number == ""


def test_a_cancel_after_shipstation_cancels_it_there_once_and_parks_the_erp_side(
    hub, demo_world, live_db
):
    placed, order = sent_order(hub, demo_world)
    demo_world.sandbox.cancel_store_order(placed["id"], STORE)

    notify_update(hub, demo_world, STORE, placed["id"], times=50)

    change = wait_until(lambda: change_of(order, OrderChange.Kind.CANCELLED, C.NEEDS_ATTENTION))
    assert now(order).state == S.CANCELLED
    assert order.erp_order_number in change.last_error
    assert "OIS101" in change.last_error_hint
    history = demo_world.sandbox.shipstation_order_history(order.shipstation_order_id, "acme")
    assert history["cancel_requests"] == 1
    assert shipstation_order(order).order_status == "cancelled"
    with schema_context("acme"):
        assert OrderChange.objects.filter(order_id=order.pk).count() == 1
    shipped = demo_world.sandbox.control("shipstation", "ship", all=True, account="acme")
    assert order.shipstation_order_id not in {str(s["orderId"]) for s in shipped["shipped"]}
    assert shipstation_order(order).order_status == "cancelled"


def test_a_cancel_after_shipstation_cancels_the_erp_lines_with_the_tenants_transaction(
    hub, demo_world, erp_transactions
):
    placed, order = sent_order(hub, demo_world)
    demo_world.sandbox.cancel_store_order(placed["id"], STORE)
    notify_update(hub, demo_world, STORE, placed["id"])

    change = wait_until(lambda: change_of(order, OrderChange.Kind.CANCELLED, C.DONE))
    assert "DelLine" in change.outcome
    lines = erp(order).order_lines(order.erp_order_number)
    assert lines and {line.status for line in lines} == {"99"}
    assert shipstation_order(order).order_status == "cancelled"


def test_a_cancel_after_shipping_reverses_nothing_and_asks_for_a_return(hub, demo_world, live_db):
    placed, order = sent_order(hub, demo_world)
    demo_world.sandbox.control(
        "shipstation", "ship", order=order.shipstation_order_id, account="acme"
    )
    with schema_context("acme"):
        poll_shipstation_shipments()
    wait_until(lambda: now(order).state == S.SHIPPED)
    demo_world.sandbox.cancel_store_order(placed["id"], STORE)
    notify_update(hub, demo_world, STORE, placed["id"])

    change = wait_until(lambda: change_of(order, OrderChange.Kind.CANCELLED, C.NEEDS_ATTENTION))
    assert "after it shipped" in change.last_error
    assert "return" in change.last_error_hint
    assert now(order).state == S.SHIPPED
    assert shipstation_order(order).order_status == "shipped"
    history = demo_world.sandbox.shipstation_order_history(order.shipstation_order_id, "acme")
    assert history["cancel_requests"] == 0


def test_a_new_address_before_a_label_reaches_shipstation_and_the_erp(
    hub, demo_world, erp_transactions
):
    placed, order = sent_order(hub, demo_world)
    demo_world.sandbox.readdress_store_order(
        placed["id"], STORE, address1="7 Canal St", city="Manchester", postcode="M1 3HE"
    )
    notify_update(hub, demo_world, STORE, placed["id"])

    change = wait_until(lambda: change_of(order, OrderChange.Kind.SHIP_TO, C.DONE))
    assert "ChgLineBatchEnt" in change.outcome
    ship_to = shipstation_order(order).ship_to
    assert (ship_to.street1, ship_to.city, ship_to.postal_code) == (
        "7 Canal St",
        "Manchester",
        "M1 3HE",
    )
    assert shipstation_order(order).order_status == "awaiting_shipment"
    client = erp(order)
    line = client.order_lines(order.erp_order_number)[0]
    address = client.line_address(order.erp_order_number, line.line_number, line.line_suffix)
    assert (address.line1, address.town) == ("7 Canal St", "Manchester")
    assert now(order).ship_to["street1"] == "7 Canal St"


def test_a_new_address_after_the_label_needs_attention(hub, demo_world, live_db):
    placed, order = sent_order(hub, demo_world)
    demo_world.sandbox.control(
        "shipstation", "ship", order=order.shipstation_order_id, account="acme"
    )
    with schema_context("acme"):
        poll_shipstation_shipments()
    wait_until(lambda: now(order).state == S.SHIPPED)
    demo_world.sandbox.readdress_store_order(placed["id"], STORE, city="York")
    notify_update(hub, demo_world, STORE, placed["id"])

    change = wait_until(lambda: change_of(order, OrderChange.Kind.SHIP_TO, C.NEEDS_ATTENTION))
    assert "after it shipped" in change.last_error
    assert shipstation_order(order).ship_to.city != "York"


def test_a_partial_refund_is_recorded_and_a_full_refund_before_shipping_cancels(
    hub, demo_world, live_db
):
    placed, order = sent_order(hub, demo_world)
    demo_world.sandbox.refund_store_order(placed["id"], STORE, amount="5.00")
    notify_update(hub, demo_world, STORE, placed["id"])
    wait_until(lambda: change_of(order, OrderChange.Kind.REFUNDED, C.DONE))
    assert now(order).refunded_amount == Decimal("5.00")
    assert now(order).state == S.SENT_TO_SHIPSTATION

    demo_world.sandbox.refund_store_order(placed["id"], STORE)  # the rest
    notify_update(hub, demo_world, STORE, placed["id"])
    wait_until(lambda: now(order).state == S.CANCELLED)
    assert now(order).refunded_amount == now(order).total
    assert shipstation_order(order).order_status == "cancelled"


def test_lines_changed_after_the_erp_order_are_shown_line_by_line(hub, demo_world, live_db):
    sku = demo_data.products("acme")[0].sellable_skus[0]
    placed, order = sent_order(hub, demo_world, items=[{"sku": sku, "quantity": 1}])
    demo_world.sandbox.edit_store_order_lines(placed["id"], {sku: 3}, STORE)
    notify_update(hub, demo_world, STORE, placed["id"])

    change = wait_until(lambda: change_of(order, OrderChange.Kind.LINES, C.NEEDS_ATTENTION))
    assert f"SKU {sku} × 1 → × 3" in change.last_error
    assert order.erp_order_number in change.last_error


def test_an_order_that_arrives_cancelled_is_history_only(hub, demo_world, live_db):
    erp_before, ss_before = counts(demo_world)
    placed = demo_world.sandbox.control("api2cart", "place-orders", store=STORE, count=1)["orders"][
        0
    ]
    demo_world.sandbox.cancel_store_order(placed["id"], STORE)
    store = demo_world.stores[STORE]
    body, headers = webhook_for(store, placed["id"])
    assert deliver(hub, store, body, headers).status_code == 200

    [order] = wait_until(lambda: orders_of("acme", store_order_id=placed["id"]))
    assert order.state == S.HISTORY and order.next_attempt_at is None
    assert "Arrived already cancelled" in order.state_message
    assert counts(demo_world) == (erp_before, ss_before)


def test_a_shared_store_order_is_completed_at_the_store_once_after_both_parts_are_invoiced(
    hub, demo_world, live_db
):
    acme_sku = demo_data.products("acme")[0].sellable_skus[0]
    globex_sku = demo_data.products("globex")[0].sellable_skus[0]
    items = [{"sku": acme_sku, "quantity": 1}, {"sku": globex_sku, "quantity": 1}]
    placed = place_and_notify(hub, demo_world, "northwind", items=items)
    [acme_part] = wait_until(lambda: sent("acme", placed["id"]))
    [globex_part] = wait_until(lambda: sent("globex", placed["id"]))
    store = demo_world.stores["northwind"]

    def status_history() -> list[str]:
        order = api2cart_for_store(store).order_info(id=placed["id"])
        return [entry.get("name") or entry.get("id") for entry in order.raw["status"]["history"]]

    def invoice(schema: str, part: Order) -> None:
        demo_world.sandbox.control("m3", "deliver", order=part.erp_order_number, all=False)
        invoices = demo_world.sandbox.control("m3", "pay", all=True)
        assert invoices
        with schema_context(schema):
            read_invoices()

    before = status_history()
    invoice("acme", acme_part)
    with schema_context("acme"):
        wait_until(
            lambda: StoreStatusUpdate.objects.filter(
                order_id=acme_part.pk, state=StoreStatusUpdate.State.WAITING
            ).exists()
        )
    assert status_history() == before

    invoice("globex", globex_part)
    with schema_context("globex"):
        wait_until(
            lambda: StoreStatusUpdate.objects.filter(
                order_id=globex_part.pk, state=StoreStatusUpdate.State.SENT
            ).exists()
        )
    with schema_context("acme"):
        wait_until(
            lambda: StoreStatusUpdate.objects.filter(
                order_id=acme_part.pk, state=StoreStatusUpdate.State.SENT_BY_OTHER_PART
            ).exists()
        )
    written = status_history()[len(before) :]
    assert len(written) == 1 and written[0] in ("Completed", "Invoiced", "Complete")
