"""Retention jobs, sent by the sweeper where something is due (`privacy.retention`)."""

from __future__ import annotations

from celery import shared_task

from core.tenant_tasks import tenant_task
from privacy import retention


@tenant_task(name="privacy.apply_retention")
def apply_retention() -> dict:
    """Remove the personal data of this tenant's orders past its retention period."""
    run = retention.apply_retention()
    return {"orders": run.orders, "rows_changed": run.rows_changed}


@shared_task(name="privacy.cut_old_inbox_bodies")
def cut_old_inbox_bodies() -> int:
    """Cut the inbox's store-order bodies past `HUB_INBOX_RETENTION_DAYS` (public schema)."""
    return retention.cut_old_inbox_bodies()
