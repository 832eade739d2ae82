"""Writing the cross-tenant activity log from anywhere in the hub."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django.http import HttpRequest

from tenants.models import ActivityEvent, Tenant

logger = logging.getLogger("hub.activity")


def current_tenant() -> Tenant | None:
    """The tenant whose schema is active, or None in public."""
    schema = connection.schema_name
    if schema == "public":
        return None
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant) and tenant.schema_name == schema:
        return tenant
    return Tenant.objects.filter(schema_name=schema).first()


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def describe_actor(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return user.get_username()


def record_activity(
    action: str,
    *,
    actor: str = "",
    obj: Any = None,
    outcome: str = ActivityEvent.Outcome.SUCCESS,
    message: str = "",
    request: HttpRequest | None = None,
    tenant: Tenant | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> ActivityEvent:
    """Append one event; the tenant defaults to the schema in use."""
    if not actor and request is not None:
        actor = describe_actor(getattr(request, "user", None))
    if obj is not None:
        object_type = object_type or getattr(getattr(obj, "_meta", None), "label", "")
        object_id = object_id or str(getattr(obj, "pk", "") or "")
        object_repr = object_repr or str(obj)
    event = ActivityEvent.objects.create(
        tenant=tenant or current_tenant(),
        actor=actor[:200],
        action=action,
        object_type=object_type[:100],
        object_id=object_id[:100],
        object_repr=object_repr[:300],
        outcome=outcome,
        message=message,
        ip_address=client_ip(request),
    )
    logger.info(
        "activity tenant=%s actor=%s action=%s outcome=%s object=%s",
        event.tenant_id or "-",
        event.actor or "-",
        action,
        outcome,
        event.object_repr or "-",
    )
    return event
