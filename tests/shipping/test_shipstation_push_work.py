"""The ShipStation push on the work-item core: an outage backs off, is recorded and parks; Retry
sends each order once; batches stay ≤ 100 per call; the sweeper and retries go through the core.

The push runs in-process against the sandbox's ShipStation over HTTP (faults through the
sandbox's control API); the tap in front of the sandbox shows each `createorders` call, its
orders and how it was answered. "Time passes" by making the orders' retries due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery import current_app
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from core import dispatch, sweeper, work
from core.models import WorkAttempt
from orders.models import Order
from shipping import shipstation_push
from shipping.models import ShipStationPush
from tenants.models import ActivityEvent
from tests.support.world import (
    Call,
    World,
    connect_tenants,
    reloaded,
    start_world,
    waiting_orders,
)

S = Order.State
Outcome = WorkAttempt.Outcome
CREATE = "orders/createorders"
OUTAGE = "shipstation: HTTP 500 (HTTP 500)"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_push(world: World, db, no_upstream_call_in_a_transaction) -> Iterator[World]:
    """Both tenants point at the tap; the test body runs in acme's schema; faults are cleared
    whatever the test leaves behind; a ShipStation call inside an open transaction fails the
    test."""
    world.calm()
    connect_tenants(world)
    try:
        with schema_context("acme"):
            assert not Order.objects.filter(state=S.IN_ERP).exists()
            dispatch.forget_coalesced(shipstation_push.PUSH_TASK)
            cache.delete(shipstation_push.PART_FILLED_CALL_KEY)  # a quiet start
            yield world
    finally:
        world.sandbox.control("shipstation", "faults", clear=True)


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, tuple, float | None]]:
    """What reached the broker (Celery's publishing is the outside world here)."""
    sent: list[tuple[str, tuple, float | None]] = []
    monkeypatch.setattr(
        current_app,
        "send_task",
        lambda name, args=(), countdown=None, **_: sent.append((name, tuple(args), countdown)),
    )
    return sent


def shipstation_down(world: World) -> None:
    world.sandbox.control("shipstation", "faults", error_rate=1)


def shipstation_back(world: World) -> None:
    world.sandbox.control("shipstation", "faults", clear=True)


def come_due(orders: list[Order]) -> None:
    """Time passes until the core's backoff says the orders may be tried again."""
    ShipStationPush.objects.filter(pk__in=[o.pk for o in orders]).update(
        next_attempt_at=timezone.now() - timedelta(milliseconds=1)
    )


def keys_in(call: Call) -> list[str]:
    return [order["orderKey"] for order in call.json]


def key_of(order: Order) -> str:
    return f"hub-acme-order{order.pk}"


def attempts_oldest_first(order: Order) -> list[WorkAttempt]:
    return list(reversed(work.attempts_of(order)))


def waited(attempt: WorkAttempt, order: Order) -> float:
    """The delay the core chose after this attempt: from the attempt's end to the retry."""
    ended = attempt.started_at + timedelta(milliseconds=attempt.duration_ms)
    return (order.next_attempt_at - ended).total_seconds()


def held_by_shipstation(world: World) -> int:
    return world.status()["shipstation"]["shipstation_orders"]


def test_an_outage_backs_off_with_growing_delays_records_attempts_and_parks_after_the_limit(
    acme_push: World, settings
):
    settings.HUB_MAX_ATTEMPTS = 4
    orders = waiting_orders(3)
    shipstation_down(acme_push)
    delays: dict[int, list[float]] = {order.pk: [] for order in orders}

    for number in (1, 2, 3):
        report = shipstation_push.push_orders_to_shipstation()

        assert (report.sent, report.failed, report.retrying) == (0, 0, 3)
        for order in reloaded(orders):
            assert (order.state, order.attempts) == (S.IN_ERP, number)
            assert order.lease_until is None and order.last_error == OUTAGE
            assert order.state_message == f"Waiting to retry the ShipStation push: {OUTAGE}"
            last = work.attempts_of(order)[0]
            assert (last.number, last.outcome, last.upstream) == (
                number,
                Outcome.RETRY,
                "shipstation",
            )
            delays[order.pk].append(waited(last, order))
        # Before the core's backoff says so, a push sends nothing.
        calls = len(acme_push.tap.shipstation(CREATE))
        assert shipstation_push.push_orders_to_shipstation().retrying == 0
        assert len(acme_push.tap.shipstation(CREATE)) == calls
        come_due(orders)

    # The core's backoff: capped exponential with jitter, 1–2 s, then 2–4 s, then 4–8 s.
    for pk, waits in delays.items():
        assert waits == sorted(waits), pk
        for number, wait in enumerate(waits, 1):
            assert 2 ** (number - 1) - 0.25 <= wait <= 2**number + 0.25, (pk, number, wait)

    last = shipstation_push.push_orders_to_shipstation()  # the 4th attempt is the last allowed

    assert (last.sent, last.failed, last.retrying) == (0, 3, 0)
    gave_up = f"Gave up after 4 attempts: {OUTAGE} — Retry it once the cause is fixed."
    for order in reloaded(orders):
        assert order.state == S.NEEDS_ATTENTION
        assert order.state_message == gave_up
        assert (order.next_attempt_at, order.lease_until) == (None, None)
        attempts = attempts_oldest_first(order)
        assert [(a.number, a.outcome) for a in attempts] == [
            (1, Outcome.RETRY), (2, Outcome.RETRY), (3, Outcome.RETRY), (4, Outcome.FAILED),
        ]  # fmt: skip
        assert {(a.kind, a.upstream, a.error) for a in attempts} == {
            ("orders.order", "shipstation", OUTAGE)
        }
        steps = list(order.events.values_list("step", flat=True))
        assert steps.count("retry_scheduled") == 3
        assert steps[-1] == S.NEEDS_ATTENTION
    assert (
        ActivityEvent.objects.filter(
            action="order.needs_attention", object_id__in=[str(o.pk) for o in orders]
        ).count()
        == 3
    )
    # One call per attempt for the whole batch, never one per order.
    calls = acme_push.tap.shipstation(CREATE)
    assert [(sorted(keys_in(c)), c.status) for c in calls] == [
        (sorted(key_of(o) for o in orders), 500)
    ] * 4
    # Parked orders are not the core's to try again.
    assert shipstation_push.push_orders_to_shipstation() == shipstation_push.PushReport()
    assert len(acme_push.tap.shipstation(CREATE)) == 4


def test_clearing_the_fault_and_retry_sends_each_order_exactly_once(
    acme_push: World, settings, acme_admin, published, django_capture_on_commit_callbacks
):
    settings.HUB_MAX_ATTEMPTS = 2
    orders = waiting_orders(3)
    held_before = held_by_shipstation(acme_push)
    shipstation_down(acme_push)
    shipstation_push.push_orders_to_shipstation()
    come_due(orders)
    shipstation_push.push_orders_to_shipstation()
    assert {o.state for o in reloaded(orders)} == {S.NEEDS_ATTENTION}
    assert held_by_shipstation(acme_push) == held_before

    shipstation_back(acme_push)
    with django_capture_on_commit_callbacks(execute=True):
        page = acme_admin.post(
            "/admin/orders/order/",
            {"action": "retry_orders", "_selected_action": [o.pk for o in orders]},
            follow=True,
        )
    assert page.status_code == 200

    with schema_context("acme"):
        for order in reloaded(orders):
            assert (order.state, order.attempts, order.next_attempt_at) == (S.IN_ERP, 0, None)
        # Retry asked for one push after the gather window, not one per order (the full window:
        # the failed calls were part-filled ones).
        window = settings.HUB_SHIPSTATION_PUSH_SECONDS
        assert published == [(shipstation_push.PUSH_TASK, (), window)]

        report = shipstation_push.push_orders_to_shipstation()

        assert (report.sent, report.failed, report.retrying) == (3, 0, 0)
        for order in reloaded(orders):
            assert order.state == S.SENT_TO_SHIPSTATION
            assert order.shipstation_order_key == key_of(order)
            assert [a.outcome for a in attempts_oldest_first(order)] == [
                Outcome.RETRY, Outcome.FAILED, Outcome.SUCCEEDED,
            ]  # fmt: skip
        assert (
            shipstation_push.push_orders_to_shipstation() == shipstation_push.PushReport()
        )  # nothing left to send
    # ShipStation took one order per hub order, by orderKey, in one call.
    taken = [c for c in acme_push.tap.shipstation(CREATE) if c.status == 200]
    assert len(taken) == 1
    assert Counter(key for call in taken for key in keys_in(call)) == {key_of(o): 1 for o in orders}
    assert held_by_shipstation(acme_push) == held_before + 3


def test_the_order_page_shows_the_push_attempts_next_to_the_erp_steps(acme_push: World, acme_admin):
    [order] = waiting_orders(1)
    shipstation_down(acme_push)
    shipstation_push.push_orders_to_shipstation()

    page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Failed, will retry" in text and "shipstation" in text
    assert OUTAGE in text


def test_orders_that_fail_together_retry_in_one_gathered_push(
    acme_push: World, settings, published, django_capture_on_commit_callbacks
):
    orders = waiting_orders(3)
    shipstation_down(acme_push)

    with django_capture_on_commit_callbacks(execute=True):
        shipstation_push.push_orders_to_shipstation()

    # The core sends each order's retry message at its own backoff...
    retries = {
        args[0]: countdown
        for name, args, countdown in published
        if name == shipstation_push.PUSH_TASK
    }
    assert set(retries) == {o.pk for o in orders}
    for order in reloaded(orders):
        assert retries[order.pk] == pytest.approx(
            (order.next_attempt_at - timezone.now()).total_seconds(), abs=1
        )
    # ...and each message, when it arrives, asks for the one push of the gather window (the full
    # window: the failed call was a part-filled one).
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for order in orders:
            assert shipstation_push.on_push_message(order.pk) == {"requested": order.pk}
    assert published == [(shipstation_push.PUSH_TASK, (), settings.HUB_SHIPSTATION_PUSH_SECONDS)]

    shipstation_back(acme_push)
    come_due(orders)
    assert (
        shipstation_push.on_push_message()["sent"] == 3
    )  # the window's end: one call for all three
    assert [len(c.json) for c in acme_push.tap.shipstation(CREATE)] == [3, 3]


def test_more_than_100_due_orders_go_in_calls_of_at_most_100_and_a_batch_message_goes_first(
    acme_push: World,
):
    orders = waiting_orders(230)
    first = orders[-5:]

    report = shipstation_push.push_orders_to_shipstation([o.pk for o in first])

    assert (report.sent, report.failed, report.retrying) == (230, 0, 0)
    calls = acme_push.tap.shipstation(CREATE)
    assert [len(c.json) for c in calls] == [100, 100, 30]
    assert set(keys_in(calls[0])) >= {key_of(o) for o in first}
    sent_keys = [key for call in calls for key in keys_in(call)]
    assert sorted(sent_keys) == sorted(key_of(o) for o in orders)  # each once


def test_a_full_call_of_orders_in_erp_goes_out_without_waiting_for_the_window(
    acme_push: World, settings, published, django_capture_on_commit_callbacks
):
    waiting_orders(130)
    dispatch.forget_coalesced(shipstation_push.PUSH_TASK, shipstation_push.FULL_BATCHES)

    with django_capture_on_commit_callbacks(execute=True):
        shipstation_push.request_shipstation_push()
        shipstation_push.request_shipstation_push()  # the next ERP batch, within the delay

    assert published == [
        (shipstation_push.PUSH_TASK, (), settings.HUB_SHIPSTATION_QUIET_PUSH_SECONDS),
        (
            shipstation_push.PUSH_TASK,
            (shipstation_push.FULL_BATCHES,),
            shipstation_push.FULL_BATCH_DELAY_SECONDS,
        ),
    ]
    assert shipstation_push.on_push_message(shipstation_push.FULL_BATCHES)["sent"] == 100
    assert shipstation_push.on_push_message()["sent"] == 30  # the rest at the window's end
    assert [len(c.json) for c in acme_push.tap.shipstation(CREATE)] == [100, 30]


def test_part_filled_calls_are_paced_by_the_window_a_quiet_tenant_waits_less(
    acme_push: World, settings, published, django_capture_on_commit_callbacks
):
    settings.HUB_SHIPSTATION_PUSH_SECONDS = 10
    settings.HUB_SHIPSTATION_QUIET_PUSH_SECONDS = 2
    waiting_orders(3)

    with django_capture_on_commit_callbacks(execute=True):
        shipstation_push.request_shipstation_push()  # nothing pushed lately: the quiet window
    assert shipstation_push.on_push_message()["sent"] == 3
    waiting_orders(2)
    with django_capture_on_commit_callbacks(execute=True):
        shipstation_push.request_shipstation_push()  # a part-filled call just went: the full window

    windows = [countdown for name, args, countdown in published if args == ()]
    assert windows == [2, 10]
    assert shipstation_push.on_push_message()["sent"] == 2
    assert [len(c.json) for c in acme_push.tap.shipstation(CREATE)] == [3, 2]


def test_fewer_than_a_full_call_wait_for_the_window(acme_push: World):
    orders = waiting_orders(99)

    report = shipstation_push.on_push_message(shipstation_push.FULL_BATCHES)

    assert report["sent"] == 0 and not acme_push.tap.shipstation(CREATE)
    assert {o.state for o in reloaded(orders)} == {S.IN_ERP}


def test_a_batch_is_recorded_in_a_fixed_number_of_statements(acme_push: World):
    counts = []
    for size in (5, 40):
        orders = waiting_orders(size)
        with CaptureQueriesContext(connection) as statements:
            assert shipstation_push.push_orders_to_shipstation().sent == size
        assert {o.state for o in reloaded(orders)} == {S.SENT_TO_SHIPSTATION}
        counts.append(len(statements.captured_queries))
        # Claim, move (with the timeline's one INSERT) and release: one UPDATE each.
        updates = [q for q in statements.captured_queries if q["sql"].startswith("UPDATE")]
        assert len(updates) == 3
    # Also: settings, the lines, the timeline's row lock, the attempt rows' one INSERT and the
    # wake-up at the lease's end (the sweeper's index of schemas with work), which the second
    # batch finds already written in this transaction.
    assert counts[0] - 1 == counts[1] <= 10


def test_the_sweeper_resends_due_pushes_in_batches_but_not_those_backing_off(
    acme_push: World, published
):
    due, backing_off, fresh = waiting_orders(3), waiting_orders(2), waiting_orders(1)
    a_while_ago = timezone.now() - timedelta(minutes=5)
    Order.objects.filter(pk__in=[o.pk for o in due + backing_off]).update(updated_at=a_while_ago)
    ShipStationPush.objects.filter(pk__in=[o.pk for o in backing_off]).update(
        attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=1)
    )

    report = sweeper.sweep(visit_all=True)  # rows aged by hand: their wake-ups are still ahead

    assert report["ShipStation pushes"]["acme"] == 1
    [(_, (ids,), _)] = [p for p in published if p[0] == shipstation_push.PUSH_TASK]
    assert sorted(ids) == sorted(o.pk for o in due)
    assert fresh[0].pk not in ids  # its own gathered push has not had its chance yet


def test_a_rate_limit_waits_on_the_cores_backoff_and_parks_nothing(acme_push: World):
    orders = waiting_orders(2)
    acme_push.sandbox.control("shipstation", "faults", rate_429=1)

    report = shipstation_push.push_orders_to_shipstation()

    assert (report.sent, report.failed, report.retrying) == (0, 0, 2)
    for order in reloaded(orders):
        assert (order.state, order.attempts) == (S.IN_ERP, 1)
        [attempt] = work.attempts_of(order)
        assert (attempt.outcome, attempt.upstream) == (Outcome.RETRY, "shipstation")
        assert waited(attempt, order) >= 1 - 0.25  # the sandbox asks for Retry-After: 1


def test_an_order_the_hub_fails_to_build_retries_alone(acme_push: World, monkeypatch):
    good, bad = waiting_orders(2)
    build = shipstation_push.shipstation_request

    def broken_for_one(order: Order):
        if order.pk == bad.pk:
            raise ValueError("a bug in the mapping")
        return build(order)

    monkeypatch.setattr(shipstation_push, "shipstation_request", broken_for_one)

    report = shipstation_push.push_orders_to_shipstation()

    assert (report.sent, report.retrying) == (1, 1)
    [call] = acme_push.tap.shipstation(CREATE)
    assert keys_in(call) == [key_of(good)]
    sent, waiting = reloaded([good, bad])
    assert sent.state == S.SENT_TO_SHIPSTATION
    assert (waiting.state, waiting.attempts) == (S.IN_ERP, 1)
    assert waiting.last_error == "Unexpected error: ValueError('a bug in the mapping')"
