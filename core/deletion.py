"""Deleting a row of a model every schema has (a user) where tenant-only tables are absent.

`auth.User` has a table in the public schema and in each tenant's; a tenant-only model pointing
at it (an API token) has its table in tenant schemas only. Django's delete collects the related
rows of every model it knows, so deleting a platform user queried `tenant_settings_apitoken` in
the public schema, which has no such table (a 500 in the platform admin). A tenant's row can
never point at a public-schema user (its foreign key references its own schema's table), so
there is nothing to collect there.
"""

from __future__ import annotations

from typing import Any

from django.db import models, router


def cascade_where_present(collector: Any, field: Any, sub_objs: Any, using: str) -> None:
    """`on_delete`: CASCADE in a schema that has the related model's table, nothing elsewhere.

    Whether it has the table is the router's answer for the connection's current schema
    (django-tenants: SHARED_APPS in public, TENANT_APPS in a tenant's).
    """
    if router.allow_migrate_model(using, field.model):
        models.CASCADE(collector, field, sub_objs, using)


# Called with the related rows unevaluated, so the absent table is never queried.
cascade_where_present.lazy_sub_objs = True  # type: ignore[attr-defined]
