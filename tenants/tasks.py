"""Platform tasks (public schema)."""

from __future__ import annotations

from integration_hub.celery import app
from tenants.spare_schemas import CLONE_TASK, clone_due_spare


@app.task(name=CLONE_TASK)
def clone_spare_schema() -> str:
    return clone_due_spare()
