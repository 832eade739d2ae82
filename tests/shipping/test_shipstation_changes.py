"""A store change reaching ShipStation: cancel by upsert, hold where the cancel is refused,
and a shipped order left alone (`shipping.shipstation_changes`).

The calls run in-process against the sandbox's ShipStation over HTTP; the tap in front of it
records each call and can refuse one the way real ShipStation might.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from orders.changes.actions import AlreadyShipped
from orders.models import Order
from shipping.shipstation_changes import cancel_in_shipstation, update_in_shipstation
from shipping.shipstation_push import push_orders_to_shipstation
from tenant_settings.connection_clients import shipstation_client
from tests.support.world import Call, World, connect_tenants, start_world, waiting_orders

S = Order.State


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme(world: World, db) -> Iterator[World]:
    world.calm()
    connect_tenants(world)
    with schema_context("acme"):
        yield world


def sent_order() -> Order:
    [order] = waiting_orders(1)
    push_orders_to_shipstation([order.pk])
    order.refresh_from_db()
    assert order.state == S.SENT_TO_SHIPSTATION
    return order


def status_of(order: Order) -> str:
    return shipstation_client().get_order(int(order.shipstation_order_id)).order_status


def cancels(call: Call) -> bool:
    return call.path.endswith("/orders/createorder") and call.json["orderStatus"] == "cancelled"


def test_a_cancel_is_an_upsert_under_the_order_key_and_safe_to_repeat(acme: World):
    order = sent_order()
    acme.tap.clear()

    said = cancel_in_shipstation(order)
    again = cancel_in_shipstation(order)

    number, key = order.shipstation_order_id, order.shipstation_order_key
    assert said == f"ShipStation order {number} cancelled (orderKey {key})."
    assert again == f"ShipStation order {order.shipstation_order_id} was already cancelled."
    [first, second] = [c for c in acme.tap.shipstation() if cancels(c)]
    assert first.json["orderKey"] == second.json["orderKey"] == order.shipstation_order_key
    assert first.json["items"] and first.json["shipTo"]["street1"]  # the whole order, no gaps
    assert status_of(order) == "cancelled"


def test_an_order_never_pushed_is_created_cancelled_so_no_late_push_can_ship_it(acme: World):
    [order] = waiting_orders(1)

    cancel_in_shipstation(order)

    order.refresh_from_db()
    assert order.shipstation_order_id and status_of(order) == "cancelled"
    push_orders_to_shipstation([order.pk])  # a push that was already under way
    assert status_of(order) == "cancelled"


def test_a_refused_cancel_on_an_open_order_holds_it_instead(acme: World):
    order = sent_order()
    acme.tap.refuse(
        lambda call: (
            {"Message": "Cancelling is not allowed for this store."} if cancels(call) else None
        )
    )

    said = cancel_in_shipstation(order)

    assert "on hold until" in said and "Cancelling is not allowed" in said
    assert status_of(order) == "on_hold"


def test_a_shipped_order_is_neither_cancelled_nor_updated(acme: World):
    order = sent_order()
    acme.sandbox.control("shipstation", "ship", order=order.shipstation_order_id, account="acme")

    with pytest.raises(AlreadyShipped, match="is shipped"):
        cancel_in_shipstation(order)
    with pytest.raises(AlreadyShipped):
        update_in_shipstation(order)
    assert status_of(order) == "shipped"
