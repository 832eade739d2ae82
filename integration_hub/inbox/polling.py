"""Polling: the safety net that catches orders whose webhooks never arrived (contract §6.4).

Every store is polled at its interval, push-mode stores too. `order.list` is read from the
watermark minus an overlap, oldest change first; each order version becomes an inbox item with a
dedupe key on (store, order, modified_at), so overlapping windows and webhooks for the same
change never produce two rows. The watermark only moves after the rows are committed, so a
crash mid-poll re-reads the window instead of skipping it.

`account.failed_webhooks` lists deliveries our callback missed (kept 24 h by API2Cart); each is
replayed as an inbox item for the store that owns the webhook.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from integration_hub.core import work
from integration_hub.inbox.models import InboxItem
from integration_hub.inbox.store_status import mark_reconnected
from tenants.models import Api2CartAccount, Store, StoreWebhook
from tenants.store_clients import api2cart_for_account, api2cart_for_store

logger = logging.getLogger("hub.polling")

FIRST_POLL_LOOKBACK = timedelta(hours=24)
INSERT_BATCH = 250


def poll_overlap() -> timedelta:
    return timedelta(minutes=getattr(settings, "HUB_POLL_OVERLAP_MINUTES", 10))


def due_stores(now: datetime) -> QuerySet[Store]:
    """Stores whose next poll is due (never polled, or their time has come)."""
    return Store.objects.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))


def claim_due_polls(now: datetime) -> list[int]:
    """Stores to poll now; `next_poll_at` moves first so ticks never pile up."""
    claimed = []
    for store in due_stores(now):
        Store.objects.filter(pk=store.pk).update(
            next_poll_at=now + timedelta(minutes=store.poll_interval_minutes)
        )
        claimed.append(store.pk)
    return claimed


def accounts_due_for_replay() -> list[int]:
    """API2Cart accounts to ask for missed deliveries, each at most every few minutes.

    API2Cart keeps them 24 hours; the interval (HUB_FAILED_WEBHOOKS_MINUTES) only has to be
    comfortably shorter than that.
    """
    minutes = getattr(settings, "HUB_FAILED_WEBHOOKS_MINUTES", 5)
    return [
        account_id
        for account_id in Api2CartAccount.objects.values_list("pk", flat=True)
        if cache.add(f"failed-webhooks-replay:{account_id}", 1, timeout=minutes * 60)
    ]


def poll_store(store: Store) -> int:
    """Fetch the store's recently modified orders into the inbox; returns how many rows are new."""
    started = timezone.now()
    if store.poll_watermark is None:
        since = started - FIRST_POLL_LOOKBACK
    else:
        since = store.poll_watermark - poll_overlap()
    watermark = store.poll_watermark
    created = 0
    orders = api2cart_for_store(store).orders(
        modified_from=since, sort_by="modified_at", sort_direction="asc"
    )
    for batch in batched(orders, INSERT_BATCH):
        items = []
        for order in batch:
            modified = order.modified_at.isoformat() if order.modified_at else ""
            items.append(
                InboxItem(
                    source=InboxItem.Source.POLL,
                    store=store,
                    dedupe_key=sha256("poll", store.pk, order.id, modified),
                    entity="order",
                    action="poll",
                    entity_id=order.id,
                    body=json.dumps(order.raw),
                )
            )
            if order.modified_at and (watermark is None or order.modified_at > watermark):
                watermark = order.modified_at
        created += insert_new(items)

    next_poll = timezone.now() + timedelta(minutes=store.poll_interval_minutes)
    Store.objects.filter(pk=store.pk).update(
        poll_watermark=watermark, last_polled_at=started, next_poll_at=next_poll
    )
    store.poll_watermark, store.last_polled_at, store.next_poll_at = watermark, started, next_poll
    if store.status == Store.Status.DISCONNECTED:
        mark_reconnected(store, "Polling order.list succeeded again.")
    logger.info("polled store=%s since=%s new=%s", store.pk, since.isoformat(), created)
    return created


def replay_failed_webhooks(account: Api2CartAccount) -> int:
    """Turn the account's failed deliveries into inbox items; returns how many rows are new."""
    hooks = {
        hook.remote_id: hook
        for hook in StoreWebhook.objects.filter(store__account=account).select_related("store")
    }
    if not hooks:
        return 0
    items = []
    unknown = 0
    for failed in api2cart_for_account(account).failed_webhooks():
        hook = hooks.get(failed.webhook_id)
        if hook is None or not failed.entity_id:
            unknown += 1
            continue
        when = failed.time.isoformat() if failed.time else ""
        items.append(
            InboxItem(
                source=InboxItem.Source.FAILED_WEBHOOK,
                store=hook.store,
                dedupe_key=sha256("failed_webhook", failed.webhook_id, failed.entity_id, when),
                entity=hook.entity,
                action=hook.action,
                entity_id=failed.entity_id,
                body=json.dumps(
                    {"webhook_id": failed.webhook_id, "entity_id": failed.entity_id, "time": when}
                ),
            )
        )
    created = sum(insert_new(batch) for batch in batched(items, INSERT_BATCH))
    logger.info(
        "failed webhooks account=%s new=%s skipped(not ours)=%s", account.pk, created, unknown
    )
    return created


def insert_new(items: list[InboxItem]) -> int:
    """Insert the items whose dedupe key is new, and enqueue those after commit."""
    keys = [item.dedupe_key for item in items]
    with transaction.atomic():
        known = set(
            InboxItem.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
        )
        fresh = [item for item in items if item.dedupe_key not in known]
        InboxItem.objects.bulk_create(fresh, ignore_conflicts=True)
        new_ids = list(
            InboxItem.objects.filter(
                dedupe_key__in=[item.dedupe_key for item in fresh]
            ).values_list("pk", flat=True)
        )
        work.schedule_many(InboxItem, new_ids)
    return len(new_ids)


def sha256(*parts: object) -> str:
    return hashlib.sha256("\n".join(str(part) for part in parts).encode()).hexdigest()


def batched(values: Iterable, size: int) -> Iterator[list]:
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch
