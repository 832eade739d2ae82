"""Webhook health: noticing and undoing what API2Cart does after failed deliveries.

API2Cart disables a webhook after five failed deliveries (contract §6.3) and never turns it back
on; a 30-second database outage was enough, and the store's orders then came only by polling.
So the hub looks at each push store's webhooks (`webhook.list`, one call per store) every
`HUB_WEBHOOK_CHECK_MINUTES`, and at the first sweep after a period of 5xx answers to store
webhooks (noted by `core.middleware`). A check that finds an order webhook disabled or missing
marks the store degraded (orders arrive only by polling; the dashboards show it), re-enables or
re-registers it (`register_webhooks`), records both on the store's activity, and checks again
`CONFIRM_SECONDS` later: the store is healthy again once a check finds every webhook active.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from connectors.api2cart import Webhook
from core.dispatch import dispatch
from core.middleware import WEBHOOK_FAILURES_KEY
from core.redis_client import shared_redis
from core.sweeper import once_every
from tenants.activity import record_activity
from tenants.models import ActivityEvent, Store, StoreWebhook
from tenants.store_clients import api2cart_for_store
from tenants.store_connection import (
    WANTED_EVENTS,
    RegistrationReport,
    callback_url,
    register_webhooks,
    url_hash,
)

logger = logging.getLogger("hub.webhooks")

CHECK_TASK = "tenants.check_store_webhooks"
ACTOR = "webhook health check"
QUIET_SECONDS = 10.0
"""A period of 5xx answers is over once none came for this long; checking earlier could find
webhooks that API2Cart is about to disable."""
CONFIRM_SECONDS = 60.0
"""After a repair the store is checked again this much later, to see the webhooks stay on."""
LOCK_SECONDS = 120
EVERY_INTERVAL_KEY = "webhook-health:interval"

# Delete the note of failed answers only if no newer failure replaced it meanwhile.
_TAKE_NOTE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def check_seconds() -> float:
    """The interval, never under a second (the cache counts whole seconds)."""
    return max(float(settings.HUB_WEBHOOK_CHECK_MINUTES) * 60, 1.0)


def due_checks(now: datetime, stale: datetime) -> list[tuple]:
    """The sweep job: every connected push store once per interval, or at once after a period
    of 5xx answers; otherwise nothing (two cheap Redis calls per tick)."""
    if not (after_failed_answers() or once_every(EVERY_INTERVAL_KEY, check_seconds())):
        return []
    stores = Store.objects.filter(
        webhook_mode=Store.WebhookMode.PUSH, status=Store.Status.CONNECTED
    ).order_by("pk")
    return [(pk,) for pk in stores.values_list("pk", flat=True)]


def after_failed_answers() -> bool:
    """True once when the hub answered store webhooks with a 5xx and then none for
    `QUIET_SECONDS` (the note is taken, so the next tick says False again)."""
    client = shared_redis()
    try:
        noted = client.get(WEBHOOK_FAILURES_KEY)
        if noted is None or time.time() - float(noted) < QUIET_SECONDS:
            return False
        return bool(client.eval(_TAKE_NOTE, 1, WEBHOOK_FAILURES_KEY, noted))
    except (redis.RedisError, ValueError):
        return False


@dataclass
class WebhookCheck:
    """What one check found (`problems`: "order.add disabled", ...) and did about it."""

    store: Store
    problems: list[str] = field(default_factory=list)
    repair: RegistrationReport | None = None
    busy: bool = False

    @property
    def outcome(self) -> str:
        if self.busy:
            return "being checked by another worker"
        if not self.problems:
            return "healthy"
        return "repaired" if self.repair is not None else "degraded"


def check_store_webhooks(store: Store) -> WebhookCheck:
    """One `webhook.list`; when an order webhook is off, mark the store degraded and turn it
    back on. Raises the connector's errors (the store stays as the last check left it)."""
    if not cache.add(f"webhook-health:check:{store.pk}", 1, timeout=LOCK_SECONDS):
        return WebhookCheck(store, busy=True)
    try:
        return _check(store)
    finally:
        cache.delete(f"webhook-health:check:{store.pk}")


def _check(store: Store) -> WebhookCheck:
    url = callback_url(store)
    listed = list(api2cart_for_store(store).webhooks())
    check = WebhookCheck(store, problems=webhook_problems(wanted_events(store, url), listed, url))
    if not check.problems:
        mark_webhooks_working(store)
        return check
    mark_webhooks_degraded(store, describe(store, check.problems))
    check.repair = register_webhooks(store, listed)
    forget_vanished(store, listed, check.repair)
    record_activity(
        "store.webhooks_restored", actor=ACTOR, obj=store, message=check.repair.summary()
    )
    logger.warning("store=%s webhooks restored: %s", store.pk, check.repair.summary())
    if check.repair.switched_to_poll:
        mark_webhooks_working(store, "The store sends no order webhooks: it is polled instead.")
    else:
        dispatch(CHECK_TASK, store.pk, countdown=CONFIRM_SECONDS)
    return check


def wanted_events(store: Store, url: str) -> set[tuple[str, str]]:
    """The order events the hub subscribed for this callback; all of them when it has none
    (never registered, or registered under a token since rotated)."""
    recorded = StoreWebhook.objects.filter(store=store, callback_url_hash=url_hash(url))
    return set(recorded.values_list("entity", "action")) or set(WANTED_EVENTS)


def webhook_problems(wanted: set[tuple[str, str]], listed: list[Webhook], url: str) -> list[str]:
    """Each wanted event with no webhook to this callback ("missing") or none active
    ("disabled")."""
    problems = []
    for entity, action in sorted(wanted):
        hooks = [h for h in listed if (h.entity, h.action, h.callback) == (entity, action, url)]
        if not hooks:
            problems.append(f"{entity}.{action} missing")
        elif not any(hook.active for hook in hooks):
            problems.append(f"{entity}.{action} disabled")
    return problems


def describe(store: Store, problems: list[str]) -> str:
    return (
        f"API2Cart has the store's webhooks {', '.join(problems)} (a webhook is disabled after "
        "repeated failed deliveries): orders arrive only by polling, every "
        f"{store.poll_interval_minutes} min, until they are back."
    )


def forget_vanished(store: Store, listed: list[Webhook], report: RegistrationReport) -> None:
    """Records of webhooks API2Cart no longer has (deleted there) go, so failed deliveries are
    traced by the ids that exist."""
    known = {hook.id for hook in listed} | set(report.remote_ids)
    StoreWebhook.objects.filter(store=store).exclude(remote_id__in=known).delete()


def mark_webhooks_degraded(store: Store, message: str) -> bool:
    """Degraded from now (the first time, with an activity event); True when it was healthy."""
    now = timezone.now()
    with transaction.atomic():
        changed = Store.objects.filter(pk=store.pk, webhooks_degraded_since__isnull=True).update(
            webhooks_degraded_since=now, webhook_problem=message, webhooks_checked_at=now
        )
        if changed:
            record_activity(
                "store.webhooks_degraded",
                actor=ACTOR,
                obj=store,
                outcome=ActivityEvent.Outcome.FAILURE,
                message=message,
            )
        else:
            Store.objects.filter(pk=store.pk).update(
                webhook_problem=message, webhooks_checked_at=now
            )
    _reload(store)
    if changed:
        logger.warning("store=%s degraded: %s", store.pk, message)
    return bool(changed)


def mark_webhooks_working(
    store: Store, message: str = "Every order webhook is active again: orders arrive by push."
) -> bool:
    """Every webhook active: healthy again (with an activity event when it was degraded)."""
    now = timezone.now()
    with transaction.atomic():
        changed = Store.objects.filter(pk=store.pk, webhooks_degraded_since__isnull=False).update(
            webhooks_degraded_since=None, webhook_problem="", webhooks_checked_at=now
        )
        if changed:
            record_activity("store.webhooks_working", actor=ACTOR, obj=store, message=message)
        else:
            Store.objects.filter(pk=store.pk).update(webhooks_checked_at=now)
    _reload(store)
    return bool(changed)


def _reload(store: Store) -> None:
    store.refresh_from_db(
        fields=["webhook_mode", "webhooks_degraded_since", "webhook_problem", "webhooks_checked_at"]
    )
