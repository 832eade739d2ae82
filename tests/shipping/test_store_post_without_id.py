"""Posting shipments to a store whose `order.shipment.add` answers no id (Bol: "shipment
created", contract §7.22): the hub finds the id in the order's shipment list.

The last tests post in-process to the sandbox's API2Cart over HTTP, the store answering with
the `bol` profile; the first ones choose among listed shipments with no server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from connectors import api2cart
from connectors.api2cart import NewShipment, ShipmentLine, TrackingNumber
from core import work
from orders.models import Order, OrderEvent, OrderLine
from sandbox import demo_data
from shipping.models import Shipment
from shipping.models import ShipmentLine as HubShipmentLine
from shipping.store_post import best_match, post_shipment
from tenants.models import Store
from tenants.store_clients import api2cart_for_store
from tests.support.world import order_fields

STORE = "northwind"
NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def listed(id_: str, minutes: int, tracking: str = "", items=(("1", 1),)) -> api2cart.Shipment:
    return api2cart.Shipment(
        id=id_,
        order_id="1001",
        tracking_numbers=(TrackingNumber("ups", tracking),) if tracking else (),
        items=tuple((line, Decimal(quantity)) for line, quantity in items),
        created_at=NOON + timedelta(minutes=minutes),
        is_shipped=True,
        raw={},
    )


def request(tracking: str = "", items=(("1", 1),)) -> NewShipment:
    return NewShipment(
        order_id="1001",
        items=[ShipmentLine(line, Decimal(quantity)) for line, quantity in items],
        tracking_numbers=[TrackingNumber("ups", tracking)] if tracking else [],
    )


def test_the_shipment_with_our_tracking_number_wins_over_a_newer_one():
    ours, newer = listed("70", 0, "1ZOURS"), listed("71", 5, "1ZOTHER")
    assert best_match([ours, newer], request("1ZOURS")) is ours


def test_without_a_tracking_match_the_shipment_with_our_lines_wins():
    ours = listed("70", 0, items=(("2", 3),))
    newer = listed("71", 5, items=(("1", 1),))
    assert best_match([ours, newer], request(items=(("2", "3.000"),))) is ours


def test_otherwise_the_newest_and_between_equals_the_higher_id():
    old, new = listed("9", 0, items=()), listed("10", 0, items=())
    assert best_match([old, new], request("1ZNONE", items=(("5", 1),))) is new
    newest = listed("8", 9, items=())
    assert best_match([newest, new], request("1ZNONE", items=(("5", 1),))) is newest


# --- against the sandbox --------------------------------------------------------------------


@pytest.fixture
def bol_store(sandbox, sandbox_store: Store) -> Iterator[Store]:
    """The sandbox's northwind store answering like Bol; the test body runs in acme's schema."""
    sandbox.control("api2cart", "store-settings", store=STORE, profile="bol")
    with schema_context("acme"):
        yield sandbox_store
    sandbox.control("api2cart", "store-settings", store=STORE, profile="clean")


def hub_order(sandbox, store: Store, *quantities: int) -> Order:
    """A store order placed in the sandbox, as the hub keeps it once sent to ShipStation."""
    skus = [p.sellable_skus[0] for p in demo_data.store_products(STORE)][: len(quantities)]
    items = [{"sku": sku, "quantity": n} for sku, n in zip(skus, quantities, strict=True)]
    placed = sandbox.control("api2cart", "place-orders", store=STORE, items=items)["orders"][0]
    remote = api2cart_for_store(store).order_info(placed["order_id"])
    order = Order.objects.create(
        **order_fields(
            store=store,
            source=Order.Source.WEBHOOK,
            store_order_id=placed["id"],
            order_number=placed["order_id"],
            state=Order.State.SENT_TO_SHIPSTATION,
        )
    )
    for number, line in enumerate(remote.products, start=1):
        OrderLine.objects.create(
            order=order,
            line_number=number,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.price,
            store_line_id=line.order_product_id,
        )
    return order


def label(order: Order, lines: dict[int, int], *tracking: str) -> Shipment:
    """A ShipStation label for `lines` ({line number: quantity}), not yet posted."""
    shipment = Shipment.objects.create(
        order=order,
        origin=Shipment.Origin.SHIPSTATION,
        source_id=f"label-{uuid.uuid4().hex[:10]}",
        carrier_code="ups_walleted" if tracking else "",
        tracking_numbers=list(tracking),
    )
    for number, quantity in lines.items():
        HubShipmentLine.objects.create(
            shipment=shipment,
            order_line=order.lines.get(line_number=number),
            quantity=Decimal(quantity),
        )
    return shipment


def store_shipments(store: Store, order: Order) -> dict[str, api2cart.Shipment]:
    return {s.id: s for s in api2cart_for_store(store).shipments(order.order_number)}


def test_the_id_is_found_by_tracking_number_for_each_of_two_shipments(bol_store, sandbox):
    order = hub_order(sandbox, bol_store, 2, 1)
    first, second = label(order, {1: 2}, "1ZBOLFIRST"), label(order, {2: 1}, "1ZBOLSECOND")

    for shipment in (first, second):
        assert work.process(Shipment, shipment.pk, post_shipment) == Shipment.State.POSTED
        shipment.refresh_from_db()

    in_store = store_shipments(bol_store, order)
    assert len(in_store) == 2 and first.store_shipment_id != second.store_shipment_id
    for shipment in (first, second):
        [number] = in_store[shipment.store_shipment_id].tracking_numbers
        assert number == TrackingNumber("ups", shipment.tracking_numbers[0])
    assert first.store_carrier_id == "ups" and first.posted_at is not None
    messages = OrderEvent.objects.filter(order=order, step="store_shipment")
    assert {e.upstream_ref for e in messages} == {first.store_shipment_id, second.store_shipment_id}


def test_without_tracking_numbers_the_lines_tell_the_shipments_apart(bol_store, sandbox):
    order = hub_order(sandbox, bol_store, 1, 3)
    second_line, first_line = label(order, {2: 3}), label(order, {1: 1})

    for shipment in (second_line, first_line):
        assert work.process(Shipment, shipment.pk, post_shipment) == Shipment.State.POSTED
        shipment.refresh_from_db()

    in_store = store_shipments(bol_store, order)
    ids = {line.line_number: line.store_line_id for line in order.lines.all()}
    assert in_store[second_line.store_shipment_id].items == ((ids[2], Decimal(3)),)
    assert in_store[first_line.store_shipment_id].items == ((ids[1], Decimal(1)),)


def test_a_retry_after_a_lost_answer_finds_the_same_single_shipment(bol_store, sandbox):
    order = hub_order(sandbox, bol_store, 1)
    shipment = label(order, {1: 1}, "1ZBOLRETRY")

    first = post_shipment(shipment)
    again = post_shipment(shipment)  # the same idempotency key: API2Cart replays its answer

    [store_id] = store_shipments(bol_store, order)
    assert first.fields["store_shipment_id"] == again.fields["store_shipment_id"] == store_id
    assert first.state == Shipment.State.POSTED and "note" not in first.fields


def test_a_store_that_answers_an_id_is_taken_at_its_word(bol_store, sandbox):
    sandbox.control("api2cart", "store-settings", store=STORE, profile="clean")
    order = hub_order(sandbox, bol_store, 1)

    done = post_shipment(label(order, {1: 1}, "1ZCLEAN"))

    [store_id] = store_shipments(bol_store, order)
    assert done.fields["store_shipment_id"] == store_id
