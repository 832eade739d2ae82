"""Celery tasks that work on one tenant's data.

The task class lives here, below every business app, so apps declare their tasks without
importing the project's wiring (`integration_hub.celery` builds the app and uses this class).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection
from tenant_schemas_celery.task import TenantTask


class TenantScopedTask(TenantTask):
    """A task that works on one tenant's data and refuses to run in the public schema.

    A missing schema header silently falls back to public; failing loudly is the only safe
    answer (anchors.md §1.1).
    """

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if connection.schema_name == "public":
            raise RuntimeError(
                f"Task {self.name} needs a tenant schema but ran in 'public'; "
                "enqueue it inside the tenant's context."
            )
        return super().__call__(*args, **kwargs)


def tenant_task(*args: Any, **kwargs: Any) -> Any:
    """Decorator for tasks that run inside one tenant's schema."""
    kwargs.setdefault("base", TenantScopedTask)
    return shared_task(*args, **kwargs)
