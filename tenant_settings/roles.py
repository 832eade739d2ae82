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


def _matching_permissions(pattern: str) -> list[Permission]:
    app_label, codename = pattern.split(".", 1)
    perms = Permission.objects.filter(content_type__app_label=app_label)
    if codename == "*":
        return list(perms)
    if codename.endswith("*"):
        return list(perms.filter(codename__startswith=codename[:-1]))
    return list(perms.filter(codename=codename))


def seed_roles() -> dict[str, int]:
    """Create or refresh the roles in the current schema; returns permission counts by role."""
    counts = {}
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = {perm for pattern in patterns for perm in _matching_permissions(pattern)}
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
