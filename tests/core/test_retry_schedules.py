"""Retry schedules in time: a failing item gives up only when an attempt fails after its kind's
schedule is over (measured from the first failure of its run), not after a number of attempts;
the order page and the work fields say until when it keeps trying."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.errors import AuthenticationError, RateLimitedError, RetryableError
from core import work
from core.admin import WORK_FIELDS
from core.models import WorkAttempt
from core.retry import RetrySchedule
from inbox.models import InboxItem
from orders.models import Order

State = InboxItem.State
Outcome = WorkAttempt.Outcome


@pytest.fixture
def item(db) -> InboxItem:
    return InboxItem.objects.create(source="webhook", dedupe_key="schedule-test", entity="order")


@pytest.fixture
def top_of_jitter(monkeypatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


def down(_item) -> None:
    raise RetryableError("ERP unreachable", upstream="m3")


def failing_for(item: InboxItem, span: timedelta, attempts: int) -> None:
    """The item's run has failed `attempts` times, the first `span` ago."""
    InboxItem.objects.filter(pk=item.pk).update(
        attempts=attempts, failing_since=timezone.now() - span, failing_upstream="m3"
    )


def test_the_first_failure_starts_the_run_and_later_ones_keep_its_start(item):
    before = timezone.now()
    assert work.process(InboxItem, item.pk, down) == Outcome.RETRY
    item.refresh_from_db()
    started = item.failing_since
    assert started >= before and item.failing_upstream == "m3"

    InboxItem.objects.filter(pk=item.pk).update(next_attempt_at=None)
    assert work.process(InboxItem, item.pk, down) == Outcome.RETRY
    item.refresh_from_db()
    assert (item.attempts, item.failing_since) == (2, started)


def test_hundreds_of_attempts_within_the_schedule_keep_retrying(item):
    failing_for(item, timedelta(hours=23), attempts=500)

    assert work.process(InboxItem, item.pk, down) == Outcome.RETRY
    item.refresh_from_db()
    assert (item.state, item.attempts) == (State.PENDING, 501)


def test_an_attempt_failing_after_the_schedule_fails_the_item_for_good(item):
    failing_for(item, timedelta(hours=24, seconds=1), attempts=3)

    assert work.process(InboxItem, item.pk, down) == Outcome.FAILED
    item.refresh_from_db()
    assert item.state == State.FAILED
    assert item.last_error.startswith("Gave up after 4 attempts: m3: ERP unreachable")
    assert (item.failing_since, item.failing_upstream, item.next_attempt_at) == (None, "", None)


def test_the_last_retry_comes_at_the_deadline_not_after_it(item, top_of_jitter):
    failing_for(item, timedelta(hours=24) - timedelta(seconds=30), attempts=40)

    work.process(InboxItem, item.pk, down)
    item.refresh_from_db()
    assert item.next_attempt_at <= item.retrying_until + timedelta(seconds=1)
    assert item.next_attempt_at - timezone.now() < timedelta(seconds=31)


def test_retry_after_is_honoured_even_past_the_deadline(item):
    failing_for(item, timedelta(hours=24) - timedelta(seconds=30), attempts=40)

    def slow_down(_):
        raise RateLimitedError("slow down", upstream="m3", retry_after=300)

    work.process(InboxItem, item.pk, slow_down)
    item.refresh_from_db()
    assert item.next_attempt_at >= timezone.now() + timedelta(seconds=295)


def test_a_stale_start_does_not_count_once_attempts_were_reset(item):
    """Actions that resume an item reset its attempts: its next failure starts a new run."""
    InboxItem.objects.filter(pk=item.pk).update(
        attempts=0, failing_since=timezone.now() - timedelta(days=3)
    )

    assert work.process(InboxItem, item.pk, down) == Outcome.RETRY
    item.refresh_from_db()
    assert timezone.now() - item.failing_since < timedelta(minutes=1)


def test_success_parking_and_a_manual_retry_end_the_run(db):
    done, parked, retried = (
        InboxItem.objects.create(source="webhook", dedupe_key=f"run-{n}") for n in range(3)
    )
    for each in (done, parked, retried):
        failing_for(each, timedelta(hours=2), attempts=5)

    def refused(_):
        raise AuthenticationError("key refused", upstream="api2cart")

    work.process(InboxItem, done.pk, lambda _: work.Done(State.DONE))
    work.process(InboxItem, parked.pk, refused)
    work.retry_now(InboxItem, [retried.pk], state=State.PENDING)

    for each in (done, parked, retried):
        each.refresh_from_db()
        assert (each.failing_since, each.failing_upstream) == (None, "")
    assert parked.state == State.NEEDS_ATTENTION and retried.attempts == 0


def test_the_attempt_cap_is_optional_and_off_by_default(item, settings):
    assert settings.HUB_MAX_ATTEMPTS == 0
    failing_for(item, timedelta(minutes=5), attempts=1000)
    assert work.process(InboxItem, item.pk, down) == Outcome.RETRY

    settings.HUB_MAX_ATTEMPTS = 1002
    InboxItem.objects.filter(pk=item.pk).update(next_attempt_at=None)
    assert work.process(InboxItem, item.pk, down) == Outcome.FAILED


def test_a_kind_can_have_a_shorter_schedule_of_its_own(item, monkeypatch):
    kind = work.kind_of(InboxItem)
    quick = RetrySchedule(timedelta(seconds=1), timedelta(seconds=5), timedelta(minutes=10))
    monkeypatch.setitem(work._kinds, InboxItem, dataclasses.replace(kind, retry=quick))
    failing_for(item, timedelta(minutes=11), attempts=2)

    assert work.process(InboxItem, item.pk, down) == Outcome.FAILED


def test_the_schedule_is_shortened_through_settings(item, settings):
    settings.HUB_RETRY_GIVE_UP_HOURS = 1 / 60
    failing_for(item, timedelta(seconds=61), attempts=2)

    assert work.process(InboxItem, item.pk, down) == Outcome.FAILED


def test_retrying_until_is_the_first_failure_plus_the_schedule_while_work_is_due(item):
    assert item.retrying_until is None  # not failing

    work.process(InboxItem, item.pk, down)
    item.refresh_from_db()
    assert item.retrying_until == item.failing_since + timedelta(hours=24)

    InboxItem.objects.filter(pk=item.pk).update(state=State.DONE)
    item.refresh_from_db()
    assert item.retrying_until is None  # no kind works it any more


def test_the_work_fields_show_when_the_run_started_and_until_when_it_retries():
    assert {"failing_since", "failing_upstream", "retrying_until"} <= set(WORK_FIELDS)


def test_the_order_page_says_until_when_a_failing_order_is_retried(acme_admin, acme):
    with schema_context("acme"):
        order = Order.objects.create(
            source=Order.Source.API, store_order_id="RETRY-1", order_number="RETRY-1",
            state=Order.State.ROUTED, ship_to={}, currency="GBP",
        )  # fmt: skip
        Order.objects.filter(pk=order.pk).update(next_attempt_at=None)
        assert work.process_batch(Order, [order.pk], down) == {order.pk: Outcome.RETRY}
        order.refresh_from_db()
        until = order.failing_since + timedelta(hours=24)

    html = acme_admin.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert f"Retrying until {until:%Y-%m-%d %H:%M} UTC" in html
