"""Webhook health: a store whose webhooks API2Cart disabled is seen, shown degraded, and gets them
back; the schedule costs one `webhook.list` per push store per interval."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from core.middleware import WEBHOOK_FAILURES_KEY
from inbox.store_status import mark_reconnected
from tenants import webhook_health
from tenants.models import ActivityEvent, Store, StoreMembership, StoreWebhook
from tenants.store_clients import api2cart_for_store
from tenants.store_connection import register_webhooks
from tenants.webhook_health import CHECK_TASK, check_store_webhooks, due_checks
from tests.support.harness import wait_until
from tests.support.stores import make_store

DEGRADED = "orders only by polling"


@pytest.fixture
def fresh_sandbox(sandbox):
    sandbox.reset()


@pytest.fixture
def clean_schedule():
    """No interval already running and no 5xx noted by another test."""
    cache.delete(webhook_health.EVERY_INTERVAL_KEY)
    redis.Redis.from_url(settings.REDIS_URL).delete(WEBHOOK_FAILURES_KEY)
    yield
    cache.delete(webhook_health.EVERY_INTERVAL_KEY)
    redis.Redis.from_url(settings.REDIS_URL).delete(WEBHOOK_FAILURES_KEY)


def fake_webhooks(sandbox, store: Store) -> dict:
    return sandbox.control("api2cart", "webhooks", store=store.store_key)


def active(sandbox, store: Store) -> dict[str, bool]:
    return {hook["event"]: hook["active"] for hook in fake_webhooks(sandbox, store)["webhooks"]}


def actions_of(store: Store) -> list[str]:
    events = ActivityEvent.objects.filter(object_type="tenants.Store", object_id=str(store.pk))
    return list(events.order_by("id").values_list("action", flat=True))


def test_a_store_that_disabled_its_webhooks_gets_them_back_within_one_check_and_shows_degraded_meanwhile(  # noqa: E501
    fresh_sandbox, sandbox, sandbox_store, acme, platform_staff, acme_admin
):
    """The callback points at a closed port (`hub_address`), so every delivery fails: after
    five, the fake disables `order.add` as API2Cart does, and the orders come only by polling."""
    StoreMembership.objects.create(store=sandbox_store, tenant=acme)
    register_webhooks(sandbox_store)
    assert active(sandbox, sandbox_store) == {"order.add": True, "order.update": True}
    sandbox.control("api2cart", "place-orders", store=sandbox_store.store_key, count=5)
    wait_until(lambda: active(sandbox, sandbox_store)["order.add"] is False, timeout=30)
    connection.set_schema_to_public()  # as in the worker (the sign-ins left acme's schema on)

    check = check_store_webhooks(sandbox_store)

    assert check.outcome == "repaired"
    assert check.problems == ["order.add disabled"]
    assert active(sandbox, sandbox_store) == {"order.add": True, "order.update": True}
    sandbox_store.refresh_from_db()
    assert sandbox_store.polling_only
    assert "order.add disabled" in sandbox_store.webhook_problem
    assert actions_of(sandbox_store) == ["store.webhooks_degraded", "store.webhooks_restored"]
    assert DEGRADED in platform_staff.get("/admin/").content.decode()
    assert "Degraded: orders only by polling" in acme_admin.get("/admin/").content.decode()
    assert ActivityEvent.objects.filter(action="store.webhooks_degraded", tenant=None).exists()
    connection.set_schema_to_public()

    again = check_store_webhooks(sandbox_store)

    assert again.outcome == "healthy"
    sandbox_store.refresh_from_db()
    assert not sandbox_store.polling_only and sandbox_store.webhook_problem == ""
    assert actions_of(sandbox_store)[-1] == "store.webhooks_working"
    assert DEGRADED not in platform_staff.get("/admin/").content.decode()
    assert "Degraded" not in acme_admin.get("/admin/").content.decode()


def test_a_healthy_store_costs_one_webhook_list_per_check(fresh_sandbox, sandbox, sandbox_store):
    register_webhooks(sandbox_store)
    before = fake_webhooks(sandbox, sandbox_store)["calls"]

    for _ in range(3):
        assert check_store_webhooks(sandbox_store).outcome == "healthy"

    after = fake_webhooks(sandbox, sandbox_store)["calls"]
    spent = {method: after[method] - before.get(method, 0) for method in after}
    assert {method: n for method, n in spent.items() if n} == {"webhook.list": 3}
    assert actions_of(sandbox_store) == []
    sandbox_store.refresh_from_db()
    assert sandbox_store.webhooks_checked_at is not None


def test_a_webhook_deleted_at_api2cart_is_registered_again(fresh_sandbox, sandbox, sandbox_store):
    register_webhooks(sandbox_store)
    gone = StoreWebhook.objects.get(store=sandbox_store, action="update")
    api2cart_for_store(sandbox_store).delete_webhook(gone.remote_id)

    check = check_store_webhooks(sandbox_store)

    assert (check.problems, check.repair.created) == (["order.update missing"], ["order.update"])
    assert active(sandbox, sandbox_store) == {"order.add": True, "order.update": True}
    assert not StoreWebhook.objects.filter(pk=gone.pk).exists()
    assert StoreWebhook.objects.filter(store=sandbox_store).count() == 2


def test_a_repair_is_confirmed_by_another_check_soon_after(
    fresh_sandbox, sandbox, sandbox_store, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[tuple] = []
    monkeypatch.setattr(
        "core.dispatch.current_app.send_task",
        lambda name, args=(), countdown=None, **_: sent.append((name, tuple(args), countdown)),
    )
    register_webhooks(sandbox_store)
    hook = StoreWebhook.objects.get(store=sandbox_store, action="add")
    api2cart_for_store(sandbox_store).call(
        "webhook.update", "PUT", json={"id": hook.remote_id, "active": False}
    )

    with django_capture_on_commit_callbacks(execute=True):
        check_store_webhooks(sandbox_store)

    assert sent == [(CHECK_TASK, (sandbox_store.pk,), webhook_health.CONFIRM_SECONDS)]


def test_the_schedule_lists_each_connected_push_store_once_per_interval(account, clean_schedule):
    push = make_store(account, "northwind")
    make_store(account, "acme-outlet", webhook_mode=Store.WebhookMode.POLL)
    Store.objects.create(
        name="gone-test", display_name="Gone", platform="Shopify", url="https://gone.example",
        account=account, store_key="gone-key", status=Store.Status.DISCONNECTED,
    )  # fmt: skip
    now = timezone.now()

    assert due_checks(now, now) == [(push.pk,)]
    assert due_checks(now, now) == []  # until HUB_WEBHOOK_CHECK_MINUTES have passed


def test_a_period_of_5xx_answers_brings_the_check_forward_once_it_is_over(account, clean_schedule):
    push = make_store(account, "northwind")
    now = timezone.now()
    due_checks(now, now)  # the interval starts
    broker = redis.Redis.from_url(settings.REDIS_URL)

    broker.set(WEBHOOK_FAILURES_KEY, time.time())
    assert due_checks(now, now) == []  # still failing: API2Cart may be disabling right now

    broker.set(WEBHOOK_FAILURES_KEY, time.time() - webhook_health.QUIET_SECONDS - 1)
    assert due_checks(now, now) == [(push.pk,)]
    assert due_checks(now, now) == []  # the note was taken


def test_a_store_reached_again_gets_its_webhooks_checked_at_once(
    store, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[tuple] = []
    monkeypatch.setattr(
        "core.dispatch.current_app.send_task",
        lambda name, args=(), countdown=None, **_: sent.append((name, tuple(args))),
    )
    Store.objects.filter(pk=store.pk).update(status=Store.Status.DISCONNECTED)

    with django_capture_on_commit_callbacks(execute=True):
        assert mark_reconnected(store, "A webhook event arrived again.")

    assert sent == [(CHECK_TASK, (store.pk,))]


def test_the_check_task_skips_polling_and_unknown_stores(store):
    from tenants.tasks import check_store_webhooks as task

    Store.objects.filter(pk=store.pk).update(webhook_mode=Store.WebhookMode.POLL)
    assert task.apply(args=[store.pk]).get() == "skipped"
    assert task.apply(args=[0]).get() == "skipped"


def test_an_unreachable_api2cart_leaves_the_store_as_it_was(store):
    from tenants.tasks import check_store_webhooks as task

    assert task.apply(args=[store.pk]).get() == "unreachable"
    store.refresh_from_db()
    assert store.webhooks_degraded_since is None and store.webhooks_checked_at is None


def test_a_store_already_being_checked_is_left_to_that_check(store):
    cache.add(f"webhook-health:check:{store.pk}", 1, timeout=60)
    try:
        assert check_store_webhooks(store).busy  # no call to the (unreachable) API2Cart
    finally:
        cache.delete(f"webhook-health:check:{store.pk}")
