"""Tenant tasks of the invoicing area (thin: the work is in the services)."""

from __future__ import annotations

from dataclasses import asdict

from core.tenant_tasks import tenant_task
from invoicing import services


@tenant_task(name=services.READ_TASK)
def read_invoices() -> dict:
    return asdict(services.read_invoices())


@tenant_task(name=services.STORE_STATUS_TASK)
def push_store_status(update_id: int) -> str:
    return services.push_store_status(update_id)
