"""The circuit breaker per (tenant schema, upstream): it opens when an upstream fails for many
items in a row, holds the failing items without spending attempts while open, lets one attempt
probe after the cool-down, and closes on success; without Redis it is simply closed."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from celery import current_app
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.errors import RetryableError
from core import breaker, work
from core.models import WorkAttempt
from inbox.models import InboxItem
from orders.models import Order

Outcome = WorkAttempt.Outcome
HOUR_MS = 3_600_000


@pytest.fixture(autouse=True)
def quick_breaker(settings) -> None:
    settings.HUB_BREAKER_FAILURES = 3
    settings.HUB_BREAKER_WINDOW_SECONDS = 60
    settings.HUB_BREAKER_COOL_DOWN_SECONDS = 30


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, tuple, float | None]]:
    sent: list[tuple[str, tuple, float | None]] = []
    monkeypatch.setattr(
        current_app,
        "send_task",
        lambda name, args=(), countdown=None, **_: sent.append((name, tuple(args), countdown)),
    )
    return sent


def later(monkeypatch, ms: int) -> None:
    """The breaker's clock moves on (its Redis keys keep their own real-time expiry)."""
    now = breaker._now_ms()
    monkeypatch.setattr(breaker, "_now_ms", lambda: now + ms)


def fail(kind: str = "orders.order", items=(1,), schema: str = "acme", upstream: str = "m3"):
    return breaker.settle(schema, kind, succeeded=False, failed_on={upstream: list(items)})


def open_m3(schema: str = "acme") -> None:
    for item in range(1, 4):
        fail(items=[item], schema=schema)


def test_failed_attempts_in_a_row_over_several_items_open_the_upstream():
    assert fail(items=[1]) == {}
    assert fail(items=[2]) == {}
    paused = fail(items=[3])

    assert set(paused) == {"m3"}
    assert timedelta(seconds=29) < paused["m3"] - timezone.now() <= timedelta(seconds=30)
    assert breaker.admit("acme", {"m3"}).held == paused


def test_one_item_failing_again_and_again_opens_nothing():
    for _ in range(10):
        assert fail(items=[7]) == {}

    assert breaker.admit("acme", {"m3"}).held == {}


def test_one_failed_batch_is_one_failed_attempt_however_many_items_it_held():
    assert fail(items=range(1, 51)) == {}
    assert fail(items=range(51, 101)) == {}
    assert set(fail(items=range(101, 151))) == {"m3"}


def test_a_success_between_failures_ends_the_streak():
    fail(items=[1])
    fail(items=[2])
    breaker.settle("acme", "orders.order", succeeded=True, failed_on={})
    fail(items=[3])
    assert fail(items=[4]) == {}

    assert set(fail(items=[5])) == {"m3"}


def test_a_streak_is_one_kinds_on_one_upstream_in_one_schema():
    fail(items=[1])
    fail(items=[2], kind="shipping.shipment")
    fail(items=[3], schema="globex")
    fail(items=[4], upstream="shipstation")  # the order kind's streak starts over on ShipStation
    assert fail(items=[5]) == {}

    assert breaker.admit("acme", {"m3", "shipstation"}).held == {}
    open_m3("globex")
    assert breaker.admit("acme", {"m3"}).held == {}
    assert set(breaker.admit("globex", {"m3"}).held) == {"m3"}


def test_failures_spread_wider_than_the_window_open_nothing(settings):
    settings.HUB_BREAKER_WINDOW_SECONDS = 0.2
    fail(items=[1])
    fail(items=[2])
    time.sleep(0.5)  # the streak's window has passed (its Redis expiry)

    assert fail(items=[3]) == {}


def test_after_the_cool_down_one_attempt_probes_the_others_wait_a_moment(monkeypatch):
    open_m3()
    later(monkeypatch, 31_000)

    probe = breaker.admit("acme", {"m3"})
    other = breaker.admit("acme", {"m3"})

    assert probe.probes == {"m3"} and probe.held == {}
    assert other.probes == frozenset()
    assert timedelta(seconds=30) < other.held["m3"] - timezone.now() < timedelta(seconds=40)


def test_a_probe_that_succeeds_closes_the_upstream(monkeypatch):
    open_m3()
    later(monkeypatch, 31_000)
    probe = breaker.admit("acme", {"m3"})

    breaker.settle("acme", "orders.order", succeeded=True, failed_on={}, probes=probe.probes)

    assert breaker.admit("acme", {"m3"}) == breaker.Gate()


def test_a_probe_that_fails_opens_the_upstream_for_another_cool_down(monkeypatch):
    open_m3()
    later(monkeypatch, 31_000)
    probe = breaker.admit("acme", {"m3"})

    paused = breaker.settle(
        "acme", "orders.order", succeeded=False, failed_on={"m3": [9]}, probes=probe.probes
    )

    assert breaker.admit("acme", {"m3"}).held == paused
    assert breaker._at(breaker._now_ms() + 29_000) < paused["m3"]


def test_a_probe_that_never_reached_its_upstream_lets_the_next_one_try(monkeypatch):
    open_m3()
    later(monkeypatch, 31_000)
    probe = breaker.admit("acme", {"m3"})

    breaker.settle("acme", "orders.order", succeeded=False, failed_on={}, probes=probe.probes)

    assert breaker.admit("acme", {"m3"}).probes == {"m3"}


def test_no_breaker_when_switched_off(settings):
    settings.HUB_BREAKER_FAILURES = 0
    for item in range(10):
        assert fail(items=[item]) == {}
    assert breaker.admit("acme", {"m3"}) == breaker.Gate()


def test_without_redis_the_breaker_is_closed(monkeypatch, caplog):
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(breaker, "fast_redis", lambda: down)
    monkeypatch.setattr(breaker, "_last_warning", -1e9)

    assert fail(items=[1]) == {}
    assert breaker.admit("acme", {"m3"}) == breaker.Gate()
    assert "circuit breakers unavailable" in caplog.text


# --- On work items ------------------------------------------------------------------------------


def new_order(ref: str, **fields) -> Order:
    order = Order.objects.create(
        source=Order.Source.API, store_order_id=ref, order_number=ref, state=Order.State.ROUTED,
        ship_to={}, currency="GBP",
    )  # fmt: skip
    Order.objects.filter(pk=order.pk).update(next_attempt_at=None, **fields)
    return order


def erp_down(orders: list[Order]) -> dict:
    raise RetryableError("ERP unreachable", upstream="m3")


def test_while_open_failing_items_wait_without_spending_an_attempt(
    acme, published, django_capture_on_commit_callbacks
):
    with schema_context("acme"):
        failing = new_order("HELD-1", attempts=4, failing_upstream="m3",
                            failing_since=timezone.now() - timedelta(hours=1))  # fmt: skip
        open_m3()

        with django_capture_on_commit_callbacks(execute=True):
            outcomes = work.process_batch(Order, [failing.pk], lambda _: pytest.fail("called"))

        failing.refresh_from_db()
        assert outcomes == {failing.pk: work.PAUSED}
        assert (failing.attempts, failing.lease_until) == (4, None)
        assert failing.next_attempt_at == breaker.admit("acme", {"m3"}).held["m3"]
        assert not WorkAttempt.objects.filter(kind="orders.order", item_id=failing.pk).exists()
        [(task, (ids,), countdown)] = published
        assert (task, ids) == ("orders.process_orders", [failing.pk])
        assert 25 < countdown <= 30


def test_while_open_items_that_have_not_failed_are_still_tried(acme):
    with schema_context("acme"):
        fresh = new_order("FRESH-1")
        open_m3()

        outcomes = work.process_batch(Order, [fresh.pk], lambda orders: {})

        assert outcomes == {fresh.pk: Order.State.ROUTED}


def test_a_failure_while_open_waits_for_the_pause_not_for_its_own_backoff(acme):
    with schema_context("acme"):
        fresh = new_order("FRESH-2")
        open_m3()

        assert work.process_batch(Order, [fresh.pk], erp_down) == {fresh.pk: Outcome.RETRY}

        fresh.refresh_from_db()
        assert fresh.next_attempt_at == breaker.admit("acme", {"m3"}).held["m3"]


def test_items_failing_across_batches_open_the_breaker_and_a_probe_closes_it(acme, monkeypatch):
    """The streak is counted by the core from the items' outcomes, probe and close included."""
    with schema_context("acme"):
        orders = [new_order(f"OUT-{n}") for n in range(3)]
        for order in orders:
            work.process_batch(Order, [order.pk], erp_down, fill_to=0)
        assert set(breaker.admit("acme", {"m3"}).held) == {"m3"}

        later(monkeypatch, 31_000)
        Order.objects.update(next_attempt_at=None)
        moved = work.process_batch(Order, [o.pk for o in orders], lambda batch: {}, fill_to=0)

        assert moved == dict.fromkeys((o.pk for o in orders), Order.State.ROUTED)
        assert breaker.admit("acme", {"m3"}) == breaker.Gate()
        assert set(Order.objects.values_list("failing_upstream", flat=True)) == {""}


def test_an_item_past_its_deadline_is_held_not_failed(acme):
    """Only an attempt of its own fails an item: a pause never does."""
    with schema_context("acme"):
        late = new_order("LATE-1", attempts=90, failing_upstream="m3",
                         failing_since=timezone.now() - timedelta(hours=25))  # fmt: skip
        open_m3()

        assert work.process_batch(Order, [late.pk], erp_down) == {late.pk: work.PAUSED}
        late.refresh_from_db()
        assert late.state == Order.State.ROUTED


def test_inbox_items_pause_per_upstream_in_the_public_schema(db):
    item = InboxItem.objects.create(
        source="webhook", dedupe_key="held", failing_upstream="api2cart"
    )
    for n in range(3):
        fail(kind="inbox.inboxitem", items=[n], schema="public", upstream="api2cart")

    assert work.process(InboxItem, item.pk, lambda _: pytest.fail("called")) == work.PAUSED
