"""Retention: personal data goes a set time after it stops being needed.

- A tenant's orders: `personal_data_retention_days` (tenant settings; the platform's
  `HUB_PERSONAL_DATA_RETENTION_DAYS`, 90, when empty) after the order is done (invoiced,
  cancelled, failed or history only), its shopper data and raw payload are removed with
  everything hanging off it (`privacy.removal`).
- The inbox (public): store-order bodies that created nothing (ignored) or were never cut
  (done before bodies were cut on acceptance) are cut to ids after `HUB_INBOX_RETENTION_DAYS`
  (30). Items parked for a person (needs attention, failed) and pending ones are never touched;
  cutting a body ends its replay from the body (a replay fetches the order from the store).

Both are sweep jobs: each schema asks at most about once an hour (the interval is jittered so
tenants drift apart), with one indexed EXISTS, and a message is sent only where something is
due; the task removes in batches, one set of UPDATEs per batch, each batch its own transaction.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import sweeper
from inbox.minimise import ORDER_ENTITY
from inbox.models import InboxItem
from orders.models import Order
from privacy.removal import cut_inbox_bodies, remove_from_orders
from tenant_settings.models import ConnectionSettings
from tenants.activity import record_activity

CHECK_SECONDS = 3600
RETENTION_KEY = "privacy:retention"
DONE_STATES = (
    Order.State.INVOICED,
    Order.State.CANCELLED,
    Order.State.FAILED,
    Order.State.HISTORY,
)
"""An order in one of these is done: nothing the hub does later needs its shopper's data.
(The index `order_personal_data_kept` names the same states.)"""
INBOX_STATES = (InboxItem.State.DONE, InboxItem.State.IGNORED)
"""Inbox items whose body nobody needs: never pending or parked for a person."""


@dataclass
class RetentionRun:
    """What one run removed: rows changed per kind, orders and batches."""

    orders: int = 0
    batches: int = 0
    rows: Counter = field(default_factory=Counter)

    @property
    def rows_changed(self) -> int:
        return sum(self.rows.values())


def retention_days() -> int:
    """This tenant's period, read without creating its settings row."""
    days = (
        ConnectionSettings.objects.filter(pk=1)
        .values_list("personal_data_retention_days", flat=True)
        .first()
    )
    return days or settings.HUB_PERSONAL_DATA_RETENTION_DAYS


def orders_due(now: datetime) -> QuerySet[Order]:
    """Done orders past the tenant's period that still hold personal data."""
    cutoff = now - timedelta(days=retention_days())
    return Order.objects.filter(
        state__in=DONE_STATES, personal_data_removed_at__isnull=True, updated_at__lt=cutoff
    )


def inbox_due(now: datetime) -> QuerySet[InboxItem]:
    cutoff = now - timedelta(days=settings.HUB_INBOX_RETENTION_DAYS)
    return InboxItem.objects.filter(
        state__in=INBOX_STATES,
        entity=ORDER_ENTITY,
        personal_data_removed_at__isnull=True,
        received_at__lt=cutoff,
    )


def _hourly(key: str) -> bool:
    seconds = CHECK_SECONDS * (1 + random.random() / 5)  # tenants drift apart
    return bool(sweeper.once_every(key, seconds))


def _any(rows: QuerySet, oldest_first: str) -> bool:
    """Whether `rows` has a row, read oldest first along its partial index: the planner's
    row estimates for these conditions are far off (the rows past the period are exactly the
    ones already removed), and an EXISTS it plans as a table scan costs 0.3 s at 100,000
    orders; the index answers in 0.05 ms (docs/benchmarks.md)."""
    return bool(list(rows.order_by(oldest_first).values_list("pk", flat=True)[:1]))


def next_in_tenant(now: datetime) -> datetime | None:
    """When this tenant next has personal data to remove: the oldest done order still holding
    some, a period after it was done (and not before the hourly check allows); None when no
    done order holds any, so such a tenant is never visited for retention."""
    holding = Order.objects.filter(state__in=DONE_STATES, personal_data_removed_at__isnull=True)
    oldest = list(holding.order_by("updated_at").values_list("updated_at", flat=True)[:1])
    if not oldest:
        return None
    due = oldest[0] + timedelta(days=retention_days())
    return max(due, sweeper.next_time(RETENTION_KEY, now))


def due_in_tenant(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: one message when this tenant has orders due (asked about once an hour)."""
    if _hourly(RETENTION_KEY) and _any(orders_due(now), "updated_at"):
        return [()]
    return []


def due_in_inbox(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job (public): one message when inbox bodies are due."""
    if _hourly("privacy:inbox-retention") and _any(inbox_due(now), "received_at"):
        return [()]
    return []


def apply_retention(now: datetime | None = None, batch_size: int | None = None) -> RetentionRun:
    """Remove the personal data of every order due in the schema in use, a batch at a time."""
    now = now or timezone.now()
    size = batch_size or settings.HUB_PRIVACY_BATCH_SIZE
    run = RetentionRun()
    due = orders_due(now).order_by("updated_at")
    while ids := list(due.values_list("pk", flat=True)[:size]):
        with transaction.atomic():
            run.rows += remove_from_orders(ids, now)
        run.orders += len(ids)
        run.batches += 1
    if run.orders:
        record_activity(
            "privacy.retention",
            actor="worker",
            message=f"Personal data removed from {run.orders} done order(s) past the retention "
            f"period of {retention_days()} days ({_rows(run.rows)}).",
        )
    return run


def cut_old_inbox_bodies(now: datetime | None = None, batch_size: int | None = None) -> int:
    """Cut the store-order bodies due in the (public) inbox; returns how many were cut."""
    now = now or timezone.now()
    size = batch_size or settings.HUB_PRIVACY_BATCH_SIZE
    cut = 0
    due = (
        inbox_due(now)
        .order_by("received_at")
        .only("pk", "entity", "body", "personal_data_removed_at")
    )
    while items := list(due[:size]):
        cut += cut_inbox_bodies(items, now)
        # Bodies no longer than their ids are marked too, so they are not asked about again.
        InboxItem.objects.filter(
            pk__in=[item.pk for item in items], personal_data_removed_at__isnull=True
        ).update(personal_data_removed_at=now)
    return cut


def _rows(rows: Counter) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in rows.items() if count) or "no rows"
