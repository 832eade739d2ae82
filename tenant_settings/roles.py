"""The roles every tenant starts with, as auth groups with model and custom permissions.

Seeded in the template schema (so clones inherit them) and re-applied after each migrate so
new permissions reach existing tenants.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django_tenants.utils import schema_context

from tenants.signals import schemas_deployed

TENANT_ADMIN = "Tenant admin"
ORDER_MANAGER = "Order manager"
CATALOG_MANAGER = "Catalog manager"
FINANCE = "Finance"
VIEWER = "Viewer"

VIEW_BUSINESS_DATA = (
    "orders.view_*",
    "catalog.view_*",
    "shipping.view_*",
    "invoicing.view_*",
    "reconciliation.view_*",
    "tenants.view_activityevent",
    "core.view_workattempt",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    TENANT_ADMIN: (
        "auth.add_user",
        "auth.change_user",
        "auth.view_user",
        "auth.delete_user",
        "auth.view_group",
        "tenant_settings.*",
        "orders.*",
        "catalog.*",
        "shipping.*",
        "invoicing.*",
        "reconciliation.*",
        "tenants.view_activityevent",
        "core.view_workattempt",
        "privacy.*",
    ),
    ORDER_MANAGER: (
        *VIEW_BUSINESS_DATA,
        "orders.add_order",
        "orders.change_order",
        "orders.retry_order",
        "orders.replay_order",
        "orders.cancel_order",
        "orders.add_backfill",
        "reconciliation.add_reconciliationrun",
        "reconciliation.fix_finding",
    ),
    CATALOG_MANAGER: (
        *VIEW_BUSINESS_DATA,
        "catalog.add_itembinding",
        "catalog.change_itembinding",
        "catalog.delete_itembinding",
        "catalog.add_storesync",
        "catalog.change_storesync",
        "catalog.run_price_sync",
    ),
    FINANCE: (*VIEW_BUSINESS_DATA, "invoicing.change_invoice", "invoicing.generate_invoice"),
    VIEWER: VIEW_BUSINESS_DATA,
}


def _matching_permissions(pattern: str, permissions: list[Permission]) -> list[Permission]:
    app_label, codename = pattern.split(".", 1)
    in_app = [perm for perm in permissions if perm.content_type.app_label == app_label]
    if codename == "*":
        return in_app
    if codename.endswith("*"):
        return [perm for perm in in_app if perm.codename.startswith(codename[:-1])]
    return [perm for perm in in_app if perm.codename == codename]


def _wanted_roles(every_permission: list[Permission]) -> dict[str, set[Permission]]:
    return {
        role: {
            perm
            for pattern in patterns
            for perm in _matching_permissions(pattern, every_permission)
        }
        for role, patterns in ROLE_PERMISSIONS.items()
    }


def roles_are_current() -> bool:
    """Whether the current schema's roles hold exactly what `ROLE_PERMISSIONS` says."""
    wanted = _wanted_roles(list(Permission.objects.select_related("content_type")))
    held: dict[str, set[Permission]] = {role: set() for role in wanted}
    for group in Group.objects.filter(name__in=wanted).prefetch_related("permissions"):
        held[group.name] = set(group.permissions.all())
    return held == wanted


def seed_roles() -> dict[str, int]:
    """Create or refresh the roles in the current schema; returns permission counts by role.

    The permissions are read once and matched here: a deploy seeds every schema it migrates,
    so the statements per schema count (docs/benchmarks.md, deploys)."""
    counts = {}
    for role, permissions in _wanted_roles(
        list(Permission.objects.select_related("content_type"))
    ).items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions)
        counts[role] = len(permissions)
    return counts


@receiver(post_migrate)
def seed_roles_after_migrate(sender: Any, app_config: Any, **kwargs: Any) -> None:
    """Runs once per migrate, after the last app with models so every permission exists."""
    last_app = [config for config in apps.get_app_configs() if config.models_module][-1]
    if app_config.label != last_app.label or connection.schema_name == "public":
        return
    seed_roles()


@receiver(schemas_deployed)
def refresh_roles_after_deploy(sender: Any, schemas: list[str], **kwargs: Any) -> None:
    """A change to `ROLE_PERMISSIONS` needs no migration: when the template's roles differ from
    it, every schema is re-seeded (a deploy otherwise seeds only the schemas it migrates)."""
    with schema_context(schemas[0]):
        if roles_are_current():
            return
    for schema in schemas:
        with schema_context(schema):
            seed_roles()
