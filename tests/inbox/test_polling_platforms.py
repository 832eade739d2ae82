"""Polling stores whose platforms bend the rules (contract §1.8, §7.15-16), against the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import InboxItem
from inbox.polling import platform_limits, poll_store, poll_windows
from inbox.tasks import poll_store as poll_store_task
from tenants.models import ActivityEvent, Store
from tests.support.stores import make_store


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox):
    sandbox.reset()


def profile(sandbox, name: str) -> None:
    sandbox.control("api2cart", "store-settings", store="northwind", profile=name)


def place(sandbox, count: int) -> list[dict]:
    return sandbox.control("api2cart", "place-orders", store="northwind", count=count)["orders"]


def store_with_watermark(store: Store, age: timedelta) -> Store:
    Store.objects.filter(pk=store.pk).update(poll_watermark=timezone.now() - age)
    store.refresh_from_db()
    return store


def test_orders_without_id_are_keyed_by_order_id_even_within_one_second(sandbox, sandbox_store):
    profile(sandbox, "ebay")
    placed = place(sandbox, 3)  # placed within the same second: same modified_at

    assert poll_store(sandbox_store) == 3
    items = InboxItem.objects.filter(store=sandbox_store, source=InboxItem.Source.POLL)
    assert sorted(items.values_list("entity_id", flat=True)) == sorted(
        p["order_id"] for p in placed
    )
    assert len(set(items.values_list("dedupe_key", flat=True))) == 3
    assert all(json.loads(item.body)["id"] == "" for item in items)
    assert poll_store(sandbox_store) == 0, "the same versions again are duplicates"


def test_null_modified_at_falls_back_to_create_at_for_the_watermark(sandbox, sandbox_store):
    profile(sandbox, "walmart")  # also refuses modified_from without modified_to
    place(sandbox, 2)
    assert poll_store(sandbox_store) == 2
    sandbox_store.refresh_from_db()
    assert sandbox_store.poll_watermark is not None
    assert sandbox_store.status == Store.Status.CONNECTED and not sandbox_store.status_message
    assert poll_store(sandbox_store) == 0


def test_long_windows_are_sliced_to_what_the_platform_allows(sandbox, sandbox_account):
    store = make_store(sandbox_account, platform="EBay")
    profile(sandbox, "ebay")
    placed = place(sandbox, 2)
    store = store_with_watermark(store, timedelta(days=75))

    assert poll_store(store) == 2
    store.refresh_from_db()
    assert {i.entity_id for i in InboxItem.objects.filter(store=store)} == {
        p["order_id"] for p in placed
    }
    assert store.status == Store.Status.CONNECTED and not store.status_message


def test_poll_windows_cover_the_range_in_slices():
    now = timezone.now()
    limits = platform_limits("ebay")
    windows = poll_windows(now - timedelta(days=75), now, limits)
    assert len(windows) == 3
    assert windows[0][0] == now - timedelta(days=75) and windows[-1][1] == now
    assert all(b - a <= timedelta(days=30) for a, b in windows)
    assert all(windows[n][1] == windows[n + 1][0] for n in range(len(windows) - 1))
    assert poll_windows(now - timedelta(days=75), now, platform_limits("Shopify")) == [
        (now - timedelta(days=75), now)
    ]


def test_platform_limits_are_configurable(settings):
    settings.HUB_POLL_PLATFORM_LIMITS = {"Walmart": {"max_window_days": 7}}
    assert platform_limits("walmart").max_window == timedelta(days=7)
    assert platform_limits("EBay").max_lookback == timedelta(days=90)


def test_a_watermark_beyond_the_lookback_moves_forward_with_one_alert(sandbox, sandbox_account):
    store = make_store(sandbox_account, platform="EBay")
    profile(sandbox, "ebay")
    placed = place(sandbox, 1)
    store = store_with_watermark(store, timedelta(days=200))

    assert poll_store(store) == 1
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED
    assert store.status_message.startswith("Polling skipped")
    assert store.poll_watermark > timezone.now() - timedelta(days=90)
    assert InboxItem.objects.get(store=store).entity_id == placed[0]["order_id"]
    alerts = ActivityEvent.objects.filter(action="store.polling_problem")
    assert alerts.count() == 1 and alerts.get().outcome == ActivityEvent.Outcome.FAILURE

    assert poll_store(store) == 0, "the next tick polls normally"
    assert alerts.count() == 1


def test_a_refused_window_is_not_a_disconnection(sandbox, sandbox_store):
    """The hub knows no limit for this platform, the store refuses 60 days: code 109."""
    profile(sandbox, "ebay")
    store = store_with_watermark(sandbox_store, timedelta(days=60))
    watermark = store.poll_watermark

    assert poll_store_task(store.pk) == 0
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED
    assert store.status_message.startswith("Polling refused:") and "30 days" in (
        store.status_message
    )
    assert store.poll_watermark == watermark and store.next_poll_at > timezone.now()
    assert not ActivityEvent.objects.filter(action="store.disconnected").exists()

    profile(sandbox, "clean")
    poll_store(store)
    store.refresh_from_db()
    assert store.status_message == "", "the refusal clears once polling works again"


def test_one_unreadable_order_is_parked_and_the_poll_goes_on(sandbox, sandbox_store):
    placed = place(sandbox, 3)
    sandbox.control(
        "api2cart",
        "set-order-fields",
        store="northwind",
        order_id=placed[1]["order_id"],
        fields={"totals": {"total": "n/a"}},
    )

    assert poll_store(sandbox_store) == 3
    items = {i.entity_id: i for i in InboxItem.objects.filter(store=sandbox_store)}
    bad = items[placed[1]["id"]]
    assert bad.state == InboxItem.State.NEEDS_ATTENTION
    assert "n/a" in bad.last_error and placed[1]["id"] in bad.last_error and bad.last_error_hint
    assert json.loads(bad.body)["totals"] == {"total": "n/a"}
    good = [items[placed[n]["id"]] for n in (0, 2)]
    assert [i.state for i in good] == [InboxItem.State.PENDING] * 2
    sandbox_store.refresh_from_db()
    assert sandbox_store.poll_watermark is not None
    assert poll_store(sandbox_store) == 0, "the parked order is not parked twice"
