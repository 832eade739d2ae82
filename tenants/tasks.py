"""Platform tasks (public schema)."""

from __future__ import annotations

from celery import shared_task

from tenants.spare_schemas import CLONE_TASK, clone_due_spare


@shared_task(name=CLONE_TASK)
def clone_spare_schema() -> str:
    return clone_due_spare()
