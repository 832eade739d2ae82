"""Polling: the safety net that catches orders whose webhooks never arrived (contract §6.4).

Every store is polled at its interval, push-mode stores too. `order.list` is read from the
watermark minus an overlap up to now (both bounds always sent, in slices where the platform
limits the window), oldest change first; each order version becomes an inbox item with a dedupe
key on (store, order, last change), so overlapping windows never produce two rows, and a
version the hub already holds (or a webhook item is about to fetch) produces none. The
watermark only moves after the rows are committed, so a crash mid-poll re-reads the window
instead of skipping it. An order the client cannot read is parked in the inbox on its own; the
poll goes on.

`account.failed_webhooks` lists deliveries our callback missed (kept 24 h by API2Cart); each is
replayed as an inbox item for the store that owns the webhook.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from connectors import api2cart
from connectors.errors import ValidationError
from core import work
from inbox.models import InboxItem
from inbox.store_status import mark_reconnected
from tenants.activity import record_activity
from tenants.models import ActivityEvent, Api2CartAccount, Store, StoreWebhook
from tenants.store_clients import api2cart_for_account, api2cart_for_store

logger = logging.getLogger("hub.polling")

FIRST_POLL_LOOKBACK = timedelta(hours=24)
INSERT_BATCH = 250
INBOX_TABLE = f"{get_public_schema_name()}.{InboxItem._meta.db_table}"
"""The shared inbox, named with its schema whatever the connection's search path."""
Window = tuple[datetime, datetime]


def poll_overlap() -> timedelta:
    return timedelta(minutes=getattr(settings, "HUB_POLL_OVERLAP_MINUTES", 10))


def due_stores(now: datetime) -> QuerySet[Store]:
    """Stores whose next poll is due (never polled, or their time has come)."""
    return Store.objects.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))


def claim_due_polls(now: datetime) -> list[int]:
    """Stores to poll now: due, and serving an active tenant (a store no active tenant sells
    through has nobody to take its orders, so it costs no poll while idle); `next_poll_at`
    moves first so ticks never pile up."""
    serving = due_stores(now).filter(memberships__tenant__is_active=True).distinct()
    claimed = []
    for store in serving.only("pk", "poll_interval_minutes"):
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


@dataclass(frozen=True)
class PlatformLimits:
    """What a platform allows on `order.list` (contract §1.8, §7.16)."""

    max_window: timedelta | None = None
    """Longest `modified_from`..`modified_to` range; longer windows are read in slices."""
    max_lookback: timedelta | None = None
    """How far back `modified_from` may reach; an older watermark moves forward."""


DEFAULT_PLATFORM_LIMITS = {"ebay": {"max_window_days": 30, "max_lookback_days": 90}}
LOOKBACK_MARGIN = timedelta(hours=1)
REFUSED_PREFIX = "Polling refused: "
SKIPPED_PREFIX = "Polling skipped "


def platform_limits(platform: str) -> PlatformLimits:
    """The store's platform limits: `HUB_POLL_PLATFORM_LIMITS` (by API2Cart cart_id, any case)
    over the defaults; only eBay's are observed, so every other platform has none."""
    configured = {
        name.lower(): limits
        for name, limits in {
            **DEFAULT_PLATFORM_LIMITS,
            **getattr(settings, "HUB_POLL_PLATFORM_LIMITS", {}),
        }.items()
    }
    limits = configured.get((platform or "").lower()) or {}
    window, lookback = limits.get("max_window_days"), limits.get("max_lookback_days")
    return PlatformLimits(
        max_window=timedelta(days=window) if window else None,
        max_lookback=timedelta(days=lookback) if lookback else None,
    )


def poll_windows(since: datetime, until: datetime, limits: PlatformLimits) -> list[Window]:
    """`since`..`until` cut into windows the platform accepts, oldest first."""
    if limits.max_window is None or until - since <= limits.max_window:
        return [(since, until)]
    windows = []
    start = since
    while start < until:
        end = min(start + limits.max_window, until)
        windows.append((start, end))
        start = end
    return windows


def poll_store(store: Store) -> int:
    """Fetch the store's recently modified orders into the inbox; returns how many rows are new.

    Both bounds are always sent (some platforms refuse `modified_from` alone) and a window
    longer than the platform allows is read in slices. The platform refusing the window (code
    109) is shown on the store, not taken for a disconnection; the slices read so far count.
    """
    started = timezone.now()
    limits = platform_limits(store.platform)
    if store.poll_watermark is None:
        since = started - FIRST_POLL_LOOKBACK
    else:
        since = store.poll_watermark - poll_overlap()
    watermark = store.poll_watermark
    if limits.max_lookback is not None and since < started - limits.max_lookback:
        oldest = started - limits.max_lookback + LOOKBACK_MARGIN
        _skip_unreachable_window(store, since, oldest)
        since = oldest
        watermark = max(watermark or oldest, oldest + poll_overlap())
    client = api2cart_for_store(store)
    created = 0
    refused: ValidationError | None = None
    for start, end in poll_windows(since, started, limits):
        rows = client.order_rows(
            modified_from=start, modified_to=end, sort_by="modified_at", sort_direction="asc"
        )
        newest = watermark
        try:
            for batch in batched(rows, INSERT_BATCH):
                items, polled, newest = _inbox_items(store, batch, newest)
                created += insert_new(_not_held(store, items, polled))
        except ValidationError as exc:
            refused = exc
            break
        watermark = newest

    next_poll = timezone.now() + timedelta(minutes=store.poll_interval_minutes)
    Store.objects.filter(pk=store.pk).update(
        poll_watermark=watermark, last_polled_at=started, next_poll_at=next_poll
    )
    store.poll_watermark, store.last_polled_at, store.next_poll_at = watermark, started, next_poll
    if refused is not None:
        _show_poll_problem(store, f"{REFUSED_PREFIX}{refused.message}. {refused.hint}".strip())
        logger.warning("polling store=%s refused: %s", store.pk, refused)
        return created
    if store.status == Store.Status.DISCONNECTED:
        mark_reconnected(store, "Polling order.list succeeded again.")
    Store.objects.filter(
        pk=store.pk, status=Store.Status.CONNECTED, status_message__startswith=REFUSED_PREFIX
    ).update(status_message="")
    logger.info("polled store=%s since=%s new=%s", store.pk, since.isoformat(), created)
    return created


def _inbox_items(
    store: Store, rows: list[Any], watermark: datetime | None
) -> tuple[list[InboxItem], list[api2cart.Order], datetime | None]:
    """One inbox item per order version; an order the client cannot read is parked, alone.
    Returns the items, the orders read and the newest change seen."""
    items: list[InboxItem] = []
    polled: list[api2cart.Order] = []
    for row in rows:
        try:
            order = api2cart.Order.from_api(row)
        except api2cart.UnreadableOrder as exc:
            items.append(_parked_item(store, exc))
            continue
        changed = order.changed_at
        polled.append(order)
        items.append(
            InboxItem(
                source=InboxItem.Source.POLL,
                store=store,
                dedupe_key=poll_dedupe_key(store.pk, order),
                entity="order",
                action="poll",
                entity_id=order.reference[:100],
                body=json.dumps(order.raw),
            )
        )
        if changed and (watermark is None or changed > watermark):
            watermark = changed
    return items, polled, watermark


HeldVersions = Callable[[Store, list[api2cart.Order]], set[str]]
"""The poll keys (`poll_dedupe_key`) of those of a store's polled order versions the hub keeps
already."""

_held_versions: list[HeldVersions] = []


def register_held_versions(finder: HeldVersions) -> None:
    """The app that keeps store orders says which polled versions it holds (the inbox never
    imports it)."""
    if finder not in _held_versions:
        _held_versions.append(finder)


def _not_held(
    store: Store, items: list[InboxItem], polled: list[api2cart.Order]
) -> list[InboxItem]:
    """The items whose order version the hub does not hold, or is about to fetch, yet.

    A webhook's key is its body's digest and a webhook names no version, so the poll of a
    version that arrived by webhook would otherwise become a second item of work for every
    order. Left out: a version a tenant keeps as its store order's snapshot (fetched for a
    webhook, or polled before), and any version of an order a webhook item still waits to
    fetch (pending, not leased: its fetch comes after this read, so it sees this version or a
    later one). Anything else (a change, an order split between tenants) is still polled in.
    """
    if not polled:
        return items
    waiting = _to_be_fetched(store, polled)
    keyed = {poll_dedupe_key(store.pk, order): order for order in polled}
    skipped = {
        key for key, order in keyed.items() if order.id in waiting or order.order_id in waiting
    }
    rest = [order for key, order in keyed.items() if key not in skipped]
    for finder in _held_versions:
        skipped |= finder(store, rest) if rest else set()
    return [item for item in items if item.dedupe_key not in skipped]


def _to_be_fetched(store: Store, polled: list[api2cart.Order]) -> set[str]:
    """The references among `polled` that a pending, unleased webhook item names (one query)."""
    references = {ref for order in polled for ref in (order.id, order.order_id) if ref}
    now = timezone.now()
    return set(
        InboxItem.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            store=store,
            entity="order",
            entity_id__in=references,
            source__in=[InboxItem.Source.WEBHOOK, InboxItem.Source.FAILED_WEBHOOK],
            state=InboxItem.State.PENDING,
        ).values_list("entity_id", flat=True)
    )


def poll_dedupe_key(store_pk: int, order: api2cart.Order) -> str:
    """One key per order version: (store, order, last change, what the order says).

    The internal `id` names the order where there is one; platforms that leave it empty are
    keyed by `order_id`, so two such orders changed in the same second never share a key. A
    null `modified_at` falls back to `create_at`, which never moves, so the key also holds a
    digest of the order's status, money, lines, refunds and ship-to: a later cancel or refund
    on such a platform is a new version (ARCHITECTURE §4.8).
    """
    changed = order.changed_at.isoformat() if order.changed_at else ""
    said = version_digest(order)
    if order.id:
        return sha256("poll", store_pk, order.id, changed, said)
    return sha256("poll", store_pk, "order_id", order.order_id, changed, said)


def version_digest(order: api2cart.Order) -> str:
    """What a version of the order says that the hub acts on, as one digest."""
    return sha256(
        order.status_id,
        order.status_name,
        order.financial_status,
        order.fulfillment_status,
        order.totals,
        [(p.order_product_id, p.sku, p.quantity) for p in order.products],
        [(r.id, r.total) for r in order.refunds],
        order.shipping_address,
    )


def _parked_item(store: Store, exc: api2cart.UnreadableOrder) -> InboxItem:
    reference = exc.reference
    try:
        body = json.dumps(exc.raw)
    except (TypeError, ValueError):
        body = repr(exc.raw)
    logger.warning("polling store=%s: order %s unreadable: %s", store.pk, reference or "?", exc)
    return InboxItem(
        source=InboxItem.Source.POLL,
        store=store,
        dedupe_key=sha256("poll-unreadable", store.pk, reference, body),
        entity="order",
        action="poll",
        entity_id=reference,
        body=body,
        state=InboxItem.State.NEEDS_ATTENTION,
        last_error=f"Polling could not read order {reference or '(no id)'}: {exc}",
        last_error_hint="The store sent this order in a shape the hub cannot read; the other "
        "orders of the poll were taken. Check the order in the store, then retry this item.",
    )


def _skip_unreachable_window(store: Store, since: datetime, oldest: datetime) -> None:
    """Move past what the platform no longer lets us read, and say so where staff look."""
    message = (
        f"{SKIPPED_PREFIX}{since:%Y-%m-%d %H:%M} to {oldest:%Y-%m-%d %H:%M} UTC: the platform "
        "does not list changes that old. Orders changed in that time and never received by "
        "webhook need to be brought in by hand."
    )
    _show_poll_problem(store, message)


def _show_poll_problem(store: Store, message: str) -> None:
    """The store's status message (platform admin) and, once per distinct message, the log."""
    changed = (
        Store.objects.filter(pk=store.pk)
        .exclude(status_message=message)
        .exclude(status=Store.Status.DISCONNECTED)
        .update(status_message=message)
    )
    if changed:
        store.status_message = message
        record_activity(
            "store.polling_problem",
            actor="poller",
            obj=store,
            outcome=ActivityEvent.Outcome.FAILURE,
            message=message,
        )


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
    """Insert the items whose dedupe key is new, and enqueue the pending ones after commit.

    One statement (`ON CONFLICT (dedupe_key) DO NOTHING RETURNING`): a known key inserts
    nothing and returns nothing, so no transaction stays open between a read and a write.
    Returns how many rows are new.
    """
    if not items:
        return 0
    fields = [field for field in InboxItem._meta.concrete_fields if not field.primary_key]
    values = [
        field.get_db_prep_save(field.pre_save(item, add=True), connection)
        for item in items
        for field in fields
    ]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {INBOX_TABLE} ({columns}) VALUES {', '.join([row] * len(items))} "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, state",
            values,
        )
        new_rows = cursor.fetchall()
    work.schedule_many(
        InboxItem, [pk for pk, state in new_rows if state == InboxItem.State.PENDING]
    )
    return len(new_rows)


def sha256(*parts: object) -> str:
    return hashlib.sha256("\n".join(str(part) for part in parts).encode()).hexdigest()


def batched(values: Iterable, size: int) -> Iterator[list]:
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch
