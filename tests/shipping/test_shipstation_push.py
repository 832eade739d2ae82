"""Sending orders that are *in ERP* to the tenant's ShipStation: batches, refusals, parking.

`push_orders_to_shipstation` runs in-process against the sandbox's ShipStation over HTTP; the
tap in front of the sandbox shows each `createorders` call, its orders and the key it used.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from core.models import WorkAttempt
from core.work import attempts_of
from orders.models import Order, OrderEvent
from sandbox import demo_data
from shipping.shipstation_push import PushReport, push_orders_to_shipstation
from tests.support.world import (
    Call,
    World,
    change_settings,
    connect_tenants,
    make_order,
    reloaded,
    start_world,
    waiting_orders,
)

S = Order.State
CREATE = "orders/createorders"
REFUSED_CREDENTIALS = "The upstream refused the credentials; check the connection settings."


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_push(world: World, db) -> Iterator[World]:
    """Both tenants point at the tap; the test body runs in acme's schema."""
    world.calm()
    connect_tenants(world)
    with schema_context("acme"):
        assert not Order.objects.filter(state=S.IN_ERP).exists()
        yield world


def keys_in(call: Call) -> list[str]:
    return [order["orderKey"] for order in call.json]


def key_of(order: Order) -> str:
    return f"hub-acme-order{order.pk}"


def held_by_shipstation(world: World) -> int:
    return world.status()["shipstation"]["shipstation_orders"]


def states(orders: list[Order]) -> list[str]:
    return [order.state for order in reloaded(orders)]


def test_more_than_100_waiting_orders_go_in_calls_of_at_most_100(acme_push: World):
    with schema_context("globex"):
        globex_orders = waiting_orders(2, slug="globex")
    orders = waiting_orders(250)
    held_before = held_by_shipstation(acme_push)

    report = push_orders_to_shipstation()

    assert (report.sent, report.failed, report.retry_in) == (250, 0, None)
    calls = acme_push.tap.shipstation()
    assert [c.endpoint for c in calls] == [CREATE] * 3
    assert [len(c.json) for c in calls] == [100, 100, 50]
    assert {c.status for c in calls} == {200}
    assert {c.api_key for c in calls} == {demo_data.tenant("acme").shipstation_key}
    sent_keys = [key for call in calls for key in keys_in(call)]
    assert sorted(sent_keys) == sorted(key_of(o) for o in orders)  # each once
    assert held_by_shipstation(acme_push) == held_before + 250
    for order in reloaded(orders):
        assert order.state == S.SENT_TO_SHIPSTATION
        assert order.shipstation_order_key == key_of(order)
        assert order.shipstation_order_id.isdigit()
    with schema_context("globex"):
        assert states(globex_orders) == [S.IN_ERP] * 2  # another tenant, another push

        acme_push.tap.clear()
        assert push_orders_to_shipstation().sent == 2
    [globex_call] = acme_push.tap.shipstation()
    assert globex_call.api_key == demo_data.tenant("globex").shipstation_key
    assert keys_in(globex_call) == [f"hub-globex-order{o.pk}" for o in globex_orders]


def test_a_batch_of_sent_orders_is_recorded_in_a_fixed_number_of_statements(acme_push: World):
    orders = waiting_orders(40)

    with CaptureQueriesContext(connection) as statements:
        report = push_orders_to_shipstation()

    assert report.sent == 40
    # The batch claimed, moved and released in one UPDATE each; their timeline entries and
    # attempt rows in one INSERT each, plus a fixed few (settings, lines, the row lock).
    updates = [q for q in statements.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 3
    assert len(statements.captured_queries) <= 14
    assert states(orders) == [S.SENT_TO_SHIPSTATION] * 40
    events = OrderEvent.objects.filter(order__in=orders, step=S.SENT_TO_SHIPSTATION)
    assert events.count() == 40


def test_an_order_shipstation_refuses_in_a_batch_stops_only_itself(acme_push: World):
    first, second = waiting_orders(2)
    [too_long] = waiting_orders(1, order_number="X" * 51)  # the fake allows 50 characters
    [last] = waiting_orders(1)
    held_before = held_by_shipstation(acme_push)

    report = push_orders_to_shipstation()

    assert (report.sent, report.failed) == (3, 1)
    [call] = acme_push.tap.shipstation(CREATE)
    assert len(call.json) == 4
    assert states([first, second, too_long, last]) == [
        S.SENT_TO_SHIPSTATION,
        S.SENT_TO_SHIPSTATION,
        S.NEEDS_ATTENTION,
        S.SENT_TO_SHIPSTATION,
    ]
    assert reloaded([too_long])[0].state_message == (
        "ShipStation refused the order: "
        "The field OrderNumber must be a string with a maximum length of 50."
    )
    assert held_by_shipstation(acme_push) == held_before + 3


def refuse_countries_that_are_not_codes(call: Call) -> dict | None:
    """ShipStation validates the whole array: one bad order fails the whole request (400)."""
    if call.endpoint != CREATE:
        return None
    problems = {
        f"apiOrders[{n}].shipTo.country": [
            "The field Country must be a string with a maximum length of 2."
        ]
        for n, order in enumerate(call.json)
        if len(order["shipTo"].get("country", "")) > 2
    }
    return {"Message": "The request is invalid.", "ModelState": problems} if problems else None


def test_a_refused_request_is_split_so_only_the_bad_order_needs_attention(acme_push: World):
    acme_push.tap.refuse(refuse_countries_that_are_not_codes)
    first, second = waiting_orders(2)
    bad = make_order(
        state=S.IN_ERP,
        erp_order_number="1999999",
        ship_to={"name": "Nils Holm", "street1": "Hauptstr. 1", "country": "Deutschland"},
    )
    [last] = waiting_orders(1)
    held_before = held_by_shipstation(acme_push)

    report = push_orders_to_shipstation()

    assert (report.sent, report.failed) == (3, 1)
    calls = acme_push.tap.shipstation(CREATE)
    assert [(keys_in(c), c.status) for c in calls] == [
        ([key_of(o) for o in (first, second, bad, last)], 400),  # the whole batch, refused
        ([key_of(first), key_of(second)], 200),  # halved until the bad order stands alone
        ([key_of(bad), key_of(last)], 400),
        ([key_of(bad)], 400),
        ([key_of(last)], 200),
    ]
    assert states([first, second, bad, last]) == [
        S.SENT_TO_SHIPSTATION,
        S.SENT_TO_SHIPSTATION,
        S.NEEDS_ATTENTION,
        S.SENT_TO_SHIPSTATION,
    ]
    parked = reloaded([bad])[0]
    assert parked.state_message.startswith("ShipStation refused the order: ")
    assert "apiOrders[0].shipTo.country" in parked.state_message
    assert "maximum length of 2" in parked.state_message
    event = parked.events.get(step="shipstation_rejected")
    assert (event.outcome, event.message) == ("error", parked.state_message)
    assert [a.outcome for a in attempts_of(parked)] == [WorkAttempt.Outcome.NEEDS_ATTENTION]
    assert held_by_shipstation(acme_push) == held_before + 3


def test_an_order_with_a_fractional_quantity_is_kept_back(acme_push: World):
    whole = make_order(state=S.IN_ERP, erp_order_number="1999998")
    fractional = make_order(
        state=S.IN_ERP, erp_order_number="1999997", lines=[("AC-1001", "1.5", "4.00")]
    )

    report = push_orders_to_shipstation()

    assert (report.sent, report.failed) == (1, 1)
    [call] = acme_push.tap.shipstation(CREATE)
    assert keys_in(call) == [key_of(whole)]
    kept = reloaded([fractional])[0]
    assert kept.state == S.NEEDS_ATTENTION
    assert kept.state_message == (
        "ShipStation refused the order: Line 1 (SKU AC-1001) has quantity 1.500; "
        "ShipStation takes whole quantities only."
    )


def test_a_shipstation_outage_backs_off_on_the_core_and_parks_nothing(acme_push: World):
    orders = waiting_orders(3)
    acme_push.sandbox.control("shipstation", "faults", fail_next=1)

    paused = push_orders_to_shipstation()

    assert (paused.sent, paused.failed, paused.retrying) == (0, 0, 3)
    assert 1.0 - 0.25 <= paused.retry_in <= 2.0  # the core's first backoff, not a fixed 5 s
    assert [c.status for c in acme_push.tap.shipstation(CREATE)] == [503]
    assert states(orders) == [S.IN_ERP] * 3
    assert {o.state_message[:38] for o in reloaded(orders)} == {
        "Waiting to retry the ShipStation push:"
    }
    assert [a.outcome for a in attempts_of(orders[0])] == [WorkAttempt.Outcome.RETRY]
    assert push_orders_to_shipstation().sent == 0  # not due yet

    Order.objects.filter(pk__in=[o.pk for o in orders]).update(next_attempt_at=None)  # due
    resumed = push_orders_to_shipstation()

    assert (resumed.sent, resumed.retry_in) == (3, None)
    assert states(orders) == [S.SENT_TO_SHIPSTATION] * 3


def assert_parked(orders: list[Order], message: str) -> None:
    for order in reloaded(orders):
        assert order.state == S.NEEDS_ATTENTION
        assert order.state_message == message
        assert order.events.filter(step="shipstation_rejected", message=message).exists()


@pytest.mark.parametrize("wrong", ["shipstation_api_key", "shipstation_api_secret"])
def test_refused_credentials_park_every_waiting_order(acme_push: World, wrong: str):
    with schema_context("globex"):
        globex_orders = waiting_orders(1, slug="globex")
    orders = waiting_orders(3)
    change_settings(**{wrong: "not-the-right-one"})
    held_before = held_by_shipstation(acme_push)

    report = push_orders_to_shipstation()

    assert (report.sent, report.failed) == (0, 3)
    assert [c.status for c in acme_push.tap.shipstation()] == [401]
    assert {a.outcome for o in orders for a in attempts_of(o)} == {
        WorkAttempt.Outcome.NEEDS_ATTENTION
    }
    assert_parked(
        orders,
        "shipstation: Authorization has been denied for this request. (HTTP 401) — "
        + REFUSED_CREDENTIALS,
    )
    assert held_by_shipstation(acme_push) == held_before
    with schema_context("globex"):
        assert states(globex_orders) == [S.IN_ERP]


@pytest.fixture
def acme_plan_without_api(acme_push: World) -> Iterator[World]:
    acme_push.sandbox.control("shipstation", "set-api-access", account="acme", enabled=False)
    try:
        yield acme_push
    finally:
        acme_push.sandbox.control("shipstation", "set-api-access", account="acme", enabled=True)


def test_a_plan_without_api_access_parks_every_waiting_order(acme_plan_without_api: World):
    orders = waiting_orders(2)

    report = push_orders_to_shipstation()

    assert report.sent == 0
    assert [c.status for c in acme_plan_without_api.tap.shipstation()] == [403]
    assert_parked(
        orders,
        "shipstation: Your plan does not include access to the ShipStation API. (HTTP 403) — "
        + REFUSED_CREDENTIALS,
    )


def test_a_tenant_without_shipstation_credentials_parks_without_calling(acme_push: World):
    orders = waiting_orders(2)
    change_settings(shipstation_api_key="", shipstation_api_secret="")

    report = push_orders_to_shipstation()

    assert isinstance(report, PushReport) and report.sent == 0
    assert acme_push.tap.shipstation() == []
    assert_parked(
        orders,
        "shipstation: No ShipStation credentials — "
        "Enter the ShipStation API key and secret in the connection settings.",
    )
