"""The work-item core: claim, succeed, retry with backoff, park, fail, attempts, dispatch."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
)
from core import dispatch, sweeper, work
from core.models import WorkAttempt
from inbox.models import InboxItem
from orders.models import Order, OrderEvent
from tenants.models import ActivityEvent

State = InboxItem.State
Outcome = WorkAttempt.Outcome


@pytest.fixture
def item(db) -> InboxItem:
    return InboxItem.objects.create(source="webhook", dedupe_key="core-test", entity="order")


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


def attempts_of(item) -> list[WorkAttempt]:
    return list(
        WorkAttempt.objects.filter(kind=item._meta.label_lower, item_id=item.pk).order_by("id")
    )


def test_a_successful_attempt_moves_the_item_and_keeps_a_row(item):
    result = work.process(InboxItem, item.pk, lambda i: work.Done(State.DONE))

    item.refresh_from_db()
    assert result == State.DONE
    assert (item.state, item.attempts, item.lease_until, item.next_attempt_at) == (
        State.DONE, 0, None, None,
    )  # fmt: skip
    [attempt] = attempts_of(item)
    assert (attempt.number, attempt.outcome, attempt.error) == (1, Outcome.SUCCEEDED, "")
    assert attempt.worker == work.worker_name()


def test_a_leased_or_not_yet_due_item_is_not_claimed_twice(item):
    assert work.claim(InboxItem, item.pk) is not None
    assert work.claim(InboxItem, item.pk) is None
    assert work.process(InboxItem, item.pk, lambda i: pytest.fail("ran under a lease")) == "skipped"

    InboxItem.objects.filter(pk=item.pk).update(
        lease_until=None, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert work.claim(InboxItem, item.pk) is None


def test_an_expired_lease_is_taken_over(item):
    InboxItem.objects.filter(pk=item.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1), lease_holder="dead-worker:1"
    )
    claimed = work.claim(InboxItem, item.pk)
    assert claimed is not None and claimed.lease_holder == work.worker_name()


def test_a_retryable_error_backs_off_no_sooner_than_the_upstream_asked(
    item, published, django_capture_on_commit_callbacks
):
    def rate_limited(_):
        raise RateLimitedError("slow down", upstream="api2cart", retry_after=120)

    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert work.process(InboxItem, item.pk, rate_limited) == Outcome.RETRY

    item.refresh_from_db()
    assert item.state == State.PENDING and item.attempts == 1 and item.lease_until is None
    assert item.next_attempt_at >= before + timedelta(seconds=120)
    assert "slow down" in item.last_error
    assert published == [("inbox.process_item", (item.pk,), pytest.approx(120, abs=1))]
    [attempt] = attempts_of(item)
    assert (attempt.outcome, attempt.upstream) == (Outcome.RETRY, "api2cart")


def test_the_last_allowed_attempt_fails_the_item_for_good(item, settings):
    settings.HUB_MAX_ATTEMPTS = 3
    InboxItem.objects.filter(pk=item.pk).update(attempts=2)

    def down(_):
        raise RateLimitedError("still down", upstream="api2cart")

    assert work.process(InboxItem, item.pk, down) == Outcome.FAILED
    item.refresh_from_db()
    assert item.state == State.FAILED and item.attempts == 3
    assert item.last_error.startswith("Gave up after 3 attempts")
    assert item.next_attempt_at is None
    assert ActivityEvent.objects.filter(action="inbox.failed").exists()
    assert attempts_of(item)[-1].number == 3


def test_a_permanent_error_needs_attention_with_the_upstreams_hint(item):
    def refused(_):
        raise AuthenticationError("key refused", upstream="api2cart", hint="Paste a new key.")

    assert work.process(InboxItem, item.pk, refused) == Outcome.NEEDS_ATTENTION
    item.refresh_from_db()
    assert item.state == State.NEEDS_ATTENTION
    assert (item.last_error_hint, item.attempts) == ("Paste a new key.", 0)
    assert "key refused" in item.last_error
    audit = ActivityEvent.objects.get(action="inbox.needs_attention")
    assert "Paste a new key." in audit.message


def test_give_up_fails_at_once_and_other_upstream_errors_need_attention(db):
    first = InboxItem.objects.create(source="webhook", dedupe_key="give-up")
    second = InboxItem.objects.create(source="webhook", dedupe_key="not-found")

    def give_up(_):
        raise work.GiveUp("the store does not know it")

    def not_found(_):
        raise NotFoundError("no such thing", upstream="api2cart")

    assert work.process(InboxItem, first.pk, give_up) == Outcome.FAILED
    assert work.process(InboxItem, second.pk, not_found) == Outcome.NEEDS_ATTENTION
    second.refresh_from_db()
    assert second.last_error_hint == "Check the upstream."


def test_an_unexpected_error_is_retried_not_left_leased(item, caplog):
    assert work.process(InboxItem, item.pk, lambda _: 1 / 0) == Outcome.RETRY
    item.refresh_from_db()
    assert item.lease_until is None and item.attempts == 1
    assert "ZeroDivisionError" in item.last_error
    assert "unexpected error" in caplog.text


def test_a_batch_claim_takes_the_named_items_then_the_oldest_due_never_a_leased_one(db):
    now = timezone.now()
    items = [InboxItem.objects.create(source="webhook", dedupe_key=f"claim-{n}") for n in range(6)]
    InboxItem.objects.filter(pk=items[1].pk).update(lease_until=now + timedelta(minutes=1))
    InboxItem.objects.filter(pk=items[2].pk).update(next_attempt_at=now + timedelta(minutes=1))

    first = work.claim_batch(InboxItem, [items[5].pk], fill_to=3)
    second = work.claim_batch(InboxItem, [items[5].pk], fill_to=10)

    assert [i.pk for i in first] == [items[0].pk, items[3].pk, items[5].pk]
    assert [i.pk for i in second] == [items[4].pk]
    assert work.claim_batch(InboxItem, [i.pk for i in items], fill_to=10) == []
    assert {i.lease_holder for i in first + second} == {work.worker_name()}


def test_each_item_of_a_batch_gets_its_own_outcome(db, caplog):
    done, later, stuck, broken, untold = (
        InboxItem.objects.create(source="webhook", dedupe_key=f"mixed-{n}") for n in range(5)
    )

    batch = [done.pk, later.pk, stuck.pk, broken.pk, untold.pk]

    def step(items):
        assert [i.pk for i in items] == batch
        return {
            done.pk: work.Done(State.DONE),
            later.pk: RateLimitedError("slow down", upstream="api2cart", retry_after=60),
            stuck.pk: AuthenticationError("key refused", upstream="api2cart", hint="New key."),
            broken.pk: ZeroDivisionError("bug"),
        }

    outcomes = work.process_batch(
        InboxItem, [done.pk, later.pk, stuck.pk, broken.pk, untold.pk], step
    )

    assert outcomes == {
        done.pk: State.DONE,
        later.pk: Outcome.RETRY,
        stuck.pk: Outcome.NEEDS_ATTENTION,
        broken.pk: Outcome.RETRY,
        untold.pk: State.PENDING,  # left out of the answer: it succeeded where it is
    }
    rows = {i.pk: i for i in InboxItem.objects.filter(pk__in=outcomes)}
    assert rows[stuck.pk].last_error_hint == "New key."
    assert rows[later.pk].next_attempt_at >= timezone.now() + timedelta(seconds=55)
    assert "ZeroDivisionError" in rows[broken.pk].last_error and "unexpected error" in caplog.text
    assert all(row.lease_until is None for row in rows.values())
    attempts = WorkAttempt.objects.filter(kind="inbox.inboxitem", item_id__in=outcomes)
    assert sorted(attempts.values_list("outcome", flat=True)) == sorted(
        [Outcome.SUCCEEDED, Outcome.SUCCEEDED, Outcome.RETRY, Outcome.RETRY,
         Outcome.NEEDS_ATTENTION]
    )  # fmt: skip


def test_a_batch_step_that_raises_fails_every_item_of_the_batch(db):
    first, second = (
        InboxItem.objects.create(source="webhook", dedupe_key=f"all-{n}") for n in range(2)
    )

    def down(_items):
        raise RateLimitedError("M3 is down", upstream="m3")

    outcomes = work.process_batch(InboxItem, [first.pk, second.pk], down)

    assert outcomes == {first.pk: Outcome.RETRY, second.pk: Outcome.RETRY}
    assert set(InboxItem.objects.values_list("attempts", flat=True)) == {1}


def test_retry_now_gives_a_fresh_budget_but_leaves_leased_items(db):
    parked = InboxItem.objects.create(
        source="webhook", dedupe_key="parked", state=State.FAILED, attempts=8, last_error="x"
    )
    busy = InboxItem.objects.create(
        source="webhook",
        dedupe_key="busy",
        state=State.FAILED,
        lease_until=timezone.now() + timedelta(minutes=1),
    )
    chosen = work.retry_now(InboxItem, [parked.pk, busy.pk], state=State.PENDING)

    assert chosen == [parked.pk]
    parked.refresh_from_db()
    busy.refresh_from_db()
    assert (parked.state, parked.attempts, parked.last_error) == (State.PENDING, 0, "")
    assert busy.state == State.FAILED


def test_order_parking_goes_through_the_order_state_machine_with_its_timeline(acme):
    with schema_context("acme"):
        order = Order.objects.create(
            source="api", store_order_id="W1", order_number="W1", state=Order.State.ROUTED
        )

        def refused(_):
            raise AuthenticationError("ERP said no", upstream="m3", hint="Upload a new .ionapi.")

        assert work.process(Order, order.pk, refused) == Outcome.NEEDS_ATTENTION
        order.refresh_from_db()
        assert order.state == Order.State.NEEDS_ATTENTION
        assert order.state_message == "m3: ERP said no — Upload a new .ionapi."
        event = order.events.get(step=Order.State.NEEDS_ATTENTION)
        assert event.outcome == OrderEvent.Outcome.ERROR
        assert ActivityEvent.objects.filter(action="order.needs_attention").exists()


def test_a_broker_failure_is_logged_and_never_raised(monkeypatch, caplog, item):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is gone")

    monkeypatch.setattr(current_app, "send_task", broker_down)
    dispatch.publish("inbox.process_item", item.pk)
    assert "the sweeper will resend it" in caplog.text


def test_coalesced_requests_become_one_message(acme, published, django_capture_on_commit_callbacks):
    with schema_context("acme"):
        dispatch.forget_coalesced("shipping.push_orders_to_shipstation")
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(5):
                dispatch.dispatch("shipping.push_orders_to_shipstation", coalesce_seconds=5)
        dispatch.forget_coalesced("shipping.push_orders_to_shipstation")
    assert len(published) == 1


def test_one_broken_sweep_job_does_not_stop_the_others(db, published, caplog):
    def broken(now, stale):
        raise RuntimeError("bug in a job")

    sweeper.register(sweeper.SweepJob("broken job", "x.broken", in_tenants=False, find=broken))
    sweeper.register(
        sweeper.SweepJob("healthy job", "x.healthy", False, find=lambda now, stale: [(7,)])
    )
    try:
        report = sweeper.sweep()
    finally:
        sweeper._jobs.pop("broken job")
        sweeper._jobs.pop("healthy job")
    assert report["healthy job"] == {"public": 1}
    assert ("x.healthy", (7,), None) in published
    assert "sweep job broken job failed" in caplog.text


def test_the_admin_shows_the_attempt_history_of_any_item(platform_staff, acme_admin, item):
    def refused(_):
        raise AuthenticationError("key refused", upstream="api2cart", hint="Paste a new key.")

    work.process(InboxItem, item.pk, refused)
    page = platform_staff.get(f"/admin/inbox/inboxitem/{item.pk}/change/")
    assert page.status_code == 200
    assert b"Attempts (newest first)" in page.content and b"key refused" in page.content

    with schema_context("acme"):
        order = Order.objects.create(
            source="api", store_order_id="W2", order_number="W2", state=Order.State.ROUTED
        )
        work.process(Order, order.pk, lambda _: 1 / 0)
    page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert b"ZeroDivisionError" in page.content and b"Failed, will retry" in page.content


# Sub-second margins on the wall clock: in the serial suite (`make test`) only, not in
# `make test-fast`, where another xdist worker shares the two cores.
@pytest.mark.e2e
def test_a_step_longer_than_the_lease_keeps_its_lease_alive(django_db_blocker, settings):
    """The heartbeat renews the lease from its own connection, so the row must be committed."""
    settings.HUB_LEASE_SECONDS = 1
    seen: list[tuple[object, object]] = []

    def slow(item: InboxItem) -> work.Done:
        for _ in range(3):
            time.sleep(0.8)
            seen.append((timezone.now(), InboxItem.objects.get(pk=item.pk).lease_until))
        return work.Done(State.DONE)

    with django_db_blocker.unblock():
        item = InboxItem.objects.create(source="webhook", dedupe_key="heartbeat-test")
        try:
            assert work.process(InboxItem, item.pk, slow) == State.DONE
        finally:
            WorkAttempt.objects.filter(kind="inbox.inboxitem", item_id=item.pk).delete()
            item.delete()
    assert all(lease > read_at for read_at, lease in seen), seen
    assert seen[-1][1] > seen[0][1]


def test_every_app_registers_its_work_with_the_sweeper():
    jobs = {job.name: job for job in sweeper.registered()}
    public = {name for name, job in jobs.items() if not job.in_tenants}
    tenants = {name for name, job in jobs.items() if job.in_tenants}
    assert {"inbox items", "store polls", "failed-webhook replays"} <= public
    assert {
        "orders", "CSV imports", "ShipStation pushes", "abandoned ERP batch orders",
    } <= tenants  # fmt: skip
    assert jobs["orders"].task == "orders.process_orders"  # in batches


def test_old_attempt_rows_are_pruned(item, settings):
    settings.HUB_ATTEMPT_RETENTION_DAYS = 30
    work.process(InboxItem, item.pk, lambda i: work.Done(State.DONE))
    [recent] = attempts_of(item)
    old = WorkAttempt.objects.create(
        kind="inbox.inboxitem", item_id=item.pk, number=1, duration_ms=1, outcome="succeeded",
        started_at=timezone.now() - timedelta(days=31),
    )  # fmt: skip
    assert work.prune_attempts() == 1
    assert attempts_of(item) == [recent]
    assert not WorkAttempt.objects.filter(pk=old.pk).exists()
