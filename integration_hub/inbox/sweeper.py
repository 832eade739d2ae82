"""The sweeper: PostgreSQL is the truth, Celery messages are hints.

Every tick re-enqueues what is due or stuck (inbox items, tenant orders, ShipStation pushes) and
dispatches due store polls, so a Redis restart, a killed worker or a crash between commit and
enqueue delays work but never loses it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from integration_hub.inbox.models import InboxItem
from orders.models import CsvImport, Order
from orders.pipeline import ACTIVE_STATES
from tenants.models import Api2CartAccount, Tenant

logger = logging.getLogger("hub.sweeper")
CSV_IMPORT_STALE = timedelta(minutes=30)  # far beyond the slowest import of a 5 MiB file


def _grace() -> timedelta:
    """How long a fresh row's own Celery message gets before the sweeper sends another."""
    return timedelta(seconds=getattr(settings, "HUB_SWEEP_GRACE_SECONDS", 20))


def _cap() -> int:
    return getattr(settings, "HUB_SWEEP_CAP_PER_TENANT", 500)


@dataclass
class SweepReport:
    inbox: int = 0
    orders: dict[str, int] = field(default_factory=dict)
    pushes: list[str] = field(default_factory=list)
    polls: int = 0
    failed_webhook_replays: int = 0
    csv_imports: int = 0


def _ready(now: datetime) -> Q:
    """Due and not leased by a live worker."""
    return (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def sweep() -> SweepReport:
    from integration_hub.inbox.tasks import process_inbox_item
    from orders.tasks import process_order
    from shipping.tasks import push_orders_to_shipstation

    now = timezone.now()
    report = SweepReport()
    stale = now - _grace()
    for pk in InboxItem.objects.filter(
        _ready(now), state=InboxItem.State.PENDING, received_at__lt=stale
    ).values_list("pk", flat=True)[: _cap()]:
        process_inbox_item.delay(pk)
        report.inbox += 1

    for tenant in Tenant.objects.filter(is_active=True, is_template=False).exclude(
        schema_name="public"
    ):
        with schema_context(tenant.schema_name):
            due = list(
                Order.objects.filter(
                    _ready(now), state__in=ACTIVE_STATES, updated_at__lt=stale
                ).values_list("pk", flat=True)[: _cap()]
            )
            for pk in due:
                process_order.delay(pk)
            if due:
                report.orders[tenant.schema_name] = len(due)
            if Order.objects.filter(state=Order.State.IN_ERP, updated_at__lt=stale).exists():
                push_orders_to_shipstation.delay()
                report.pushes.append(tenant.schema_name)
            report.csv_imports += resend_csv_imports(now, stale)
    report.polls = dispatch_due_polls(now)
    report.failed_webhook_replays = dispatch_failed_webhook_replays()
    if report.inbox or report.orders or report.pushes:
        logger.info("sweep re-enqueued %s", report)
    return report


def resend_csv_imports(now: datetime, stale: datetime) -> int:
    """Queued imports whose message was lost, and imports whose worker died (its single
    transaction rolled back, so running it again is safe)."""
    from orders.tasks import import_csv_file

    CsvImport.objects.filter(
        state=CsvImport.State.RUNNING, started_at__lt=now - CSV_IMPORT_STALE
    ).update(state=CsvImport.State.QUEUED)
    waiting = list(
        CsvImport.objects.filter(state=CsvImport.State.QUEUED, created_at__lt=stale).values_list(
            "pk", flat=True
        )
    )
    for pk in waiting:
        import_csv_file.delay(pk)
    return len(waiting)


def dispatch_due_polls(now: datetime) -> int:
    """Poll every store whose interval is up; `next_poll_at` moves first so ticks never pile up."""
    from integration_hub.inbox.polling import due_stores
    from integration_hub.inbox.tasks_polling import poll_store

    count = 0
    for store in due_stores(now):
        store.next_poll_at = now + timedelta(minutes=store.poll_interval_minutes)
        store.save(update_fields=["next_poll_at"])
        poll_store.delay(store.pk)
        count += 1
    return count


def dispatch_failed_webhook_replays() -> int:
    """Ask each API2Cart account for missed deliveries, at most every few minutes.

    API2Cart keeps them 24 hours; the interval (HUB_FAILED_WEBHOOKS_MINUTES) only has to be
    comfortably shorter than that.
    """
    from integration_hub.inbox.tasks_polling import replay_failed_webhooks

    minutes = getattr(settings, "HUB_FAILED_WEBHOOKS_MINUTES", 5)
    count = 0
    for account_id in Api2CartAccount.objects.values_list("pk", flat=True):
        if cache.add(f"failed-webhooks-replay:{account_id}", 1, timeout=minutes * 60):
            replay_failed_webhooks.delay(account_id)
            count += 1
    return count
