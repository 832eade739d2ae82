"""Polling order.list into the inbox and replaying failed webhooks, against a real sandbox."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbox.models import InboxItem
from inbox.polling import due_stores, insert_new, poll_store, replay_failed_webhooks
from inbox.tasks import poll_store as poll_store_task
from tenants.models import ActivityEvent, Store, StoreWebhook
from tenants.store_connection import register_webhooks
from tests.support.stores import make_store


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox):
    sandbox.reset()


def place_orders(sandbox, count: int) -> list[str]:
    """The new orders' internal ids (what webhooks and the inbox call entity ids)."""
    return [str(order["id"]) for order in place(sandbox, count)]


def place(sandbox, count: int) -> list[dict]:
    return sandbox.control("api2cart", "place-orders", store="northwind", count=count)["orders"]


def test_first_poll_reads_the_last_day_and_advances_the_watermark(sandbox, sandbox_store):
    placed = place_orders(sandbox, 3)
    before = timezone.now()
    created = poll_store(sandbox_store)

    items = InboxItem.objects.filter(store=sandbox_store, source=InboxItem.Source.POLL)
    assert created == items.count() >= 3
    assert set(placed) <= set(items.values_list("entity_id", flat=True))
    item = items.get(entity_id=placed[0])
    assert (item.entity, item.action, item.state) == ("order", "poll", InboxItem.State.PENDING)
    assert json.loads(item.body)["id"] == placed[0]

    sandbox_store.refresh_from_db()
    assert sandbox_store.poll_watermark is not None
    assert sandbox_store.last_polled_at >= before
    expected_next = sandbox_store.last_polled_at + timedelta(minutes=5)
    assert abs((sandbox_store.next_poll_at - expected_next).total_seconds()) < 5


def test_polling_again_adds_only_changed_orders(sandbox, sandbox_store):
    placed = place(sandbox, 2)
    poll_store(sandbox_store)
    rows = InboxItem.objects.count()
    assert poll_store(sandbox_store) == 0
    assert InboxItem.objects.count() == rows

    time.sleep(1.1)  # API2Cart dates have whole seconds: make the change visibly newer
    sandbox.control(
        "api2cart",
        "update-order",
        store="northwind",
        order_id=placed[0]["order_id"],
        status="Shipped",
    )
    assert poll_store(sandbox_store) == 1
    assert InboxItem.objects.filter(entity_id=str(placed[0]["id"])).count() == 2


def test_poll_window_starts_at_the_watermark_minus_the_overlap(sandbox, sandbox_store, settings):
    settings.HUB_POLL_OVERLAP_MINUTES = 10
    place_orders(sandbox, 1)
    Store.objects.filter(pk=sandbox_store.pk).update(
        poll_watermark=timezone.now() + timedelta(minutes=30)
    )
    sandbox_store.refresh_from_db()
    watermark = sandbox_store.poll_watermark
    assert poll_store(sandbox_store) == 0
    sandbox_store.refresh_from_db()
    assert sandbox_store.poll_watermark == watermark
    assert sandbox_store.last_polled_at is not None


def test_a_failed_poll_keeps_the_watermark_and_flags_refused_credentials(sandbox, sandbox_account):
    store = make_store(sandbox_account, store_key="no-such-store-key")
    assert poll_store_task(store.pk) == 0
    store.refresh_from_db()
    assert store.poll_watermark is None and store.last_polled_at is None
    assert store.next_poll_at > timezone.now()
    assert store.status == Store.Status.DISCONNECTED
    assert ActivityEvent.objects.filter(action="store.disconnected", object_id=str(store.pk))


def test_due_stores(sandbox_account):
    now = timezone.now()
    never = make_store(sandbox_account, "northwind")
    due = make_store(sandbox_account, "acme-outlet", next_poll_at=now - timedelta(seconds=1))
    later = Store.objects.create(
        name="later",
        display_name="Later",
        platform="Shopify",
        url="https://later.example",
        account=sandbox_account,
        store_key="k",
        webhook_mode=Store.WebhookMode.POLL,
        next_poll_at=now + timedelta(minutes=1),
    )
    chosen = set(due_stores(now))
    assert {never, due} <= chosen
    assert later not in chosen


def wait_for_failed_deliveries(sandbox, count: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if sandbox.status()["api2cart"]["failed_webhooks"] >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the sandbox recorded fewer than {count} failed deliveries")


def test_failed_webhooks_are_replayed_once_for_the_store_that_owns_them(sandbox, sandbox_store):
    report = register_webhooks(sandbox_store)  # callback on a closed port: every delivery fails
    assert report.created == ["order.add", "order.update"]
    placed = place_orders(sandbox, 2)
    wait_for_failed_deliveries(sandbox, 2)

    assert replay_failed_webhooks(sandbox_store.account) == 2
    items = InboxItem.objects.filter(source=InboxItem.Source.FAILED_WEBHOOK)
    assert sorted(items.values_list("entity_id", flat=True)) == sorted(placed)
    assert {(i.store_id, i.entity, i.action) for i in items} == {(sandbox_store.pk, "order", "add")}
    assert replay_failed_webhooks(sandbox_store.account) == 0
    assert items.count() == 2


def test_failed_webhooks_of_unknown_webhooks_are_skipped(sandbox, sandbox_store):
    register_webhooks(sandbox_store)
    place_orders(sandbox, 1)
    wait_for_failed_deliveries(sandbox, 1)
    StoreWebhook.objects.filter(store=sandbox_store, entity="order", action="add").update(
        remote_id=999_999
    )
    assert replay_failed_webhooks(sandbox_store.account) == 0
    assert not InboxItem.objects.exists()


def test_new_versions_go_in_with_one_statement_and_known_ones_make_nothing(store):
    def polled(key: str, state: str = InboxItem.State.PENDING) -> InboxItem:
        return InboxItem(
            source=InboxItem.Source.POLL, store=store, dedupe_key=key, entity="order",
            action="poll", entity_id=key, body="{}", state=state,
        )  # fmt: skip

    assert insert_new([polled("v1"), polled("v2")]) == 2
    with CaptureQueriesContext(connection) as queries:
        again = [polled("v1"), polled("v3"), polled("v3"), polled("v4", "needs_attention")]
        assert insert_new(again) == 2
    assert len(queries) == 1, "no read before the write, no transaction between statements"
    rows = InboxItem.objects.filter(store=store).order_by("dedupe_key")
    assert list(rows.values_list("dedupe_key", "state")) == [
        ("v1", "pending"), ("v2", "pending"), ("v3", "pending"), ("v4", "needs_attention")
    ]  # fmt: skip
