"""The Celery app: tenant-aware (tenant-schemas-celery carries the schema in each message)."""

from __future__ import annotations

import os
from typing import Any

from django.db import connection
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")


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


app = CeleryApp("integration_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def tenant_task(*args: Any, **kwargs: Any) -> Any:
    """Decorator for tasks that run inside one tenant's schema."""
    kwargs.setdefault("base", TenantScopedTask)
    return app.task(*args, **kwargs)
