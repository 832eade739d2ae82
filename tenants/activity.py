"""Writing the cross-tenant activity log from anywhere in the hub."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

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


@dataclass(frozen=True)
class RepeatedFailure:
    """One failed attempt from an address, seen against the others in its window."""

    count: int
    """Failures from the address in the window so far, this one included."""
    recorded: bool
    """Whether this attempt wrote the window's audit row."""


def _failure_keys(action: str, ip: str | None, subject: str = "") -> tuple[str, str]:
    """(count in the current window, count of the last window) cache keys; the cache key
    function adds the schema, so counts are per tenant. A `subject` (e.g. the user name a
    lockout is about) counts apart from the address's other failures; it is hashed, since a
    sender chooses it."""
    address = ip or "-"
    if subject:
        address += ":" + hashlib.sha256(subject.encode()).hexdigest()[:16]
    return f"failures:{action}:{address}", f"failures-last:{action}:{address}"


def failures_in_window(action: str, request: HttpRequest | None) -> int:
    """Failures counted from the request's address in the current window (0 if uncountable)."""
    try:
        return int(cache.get(_failure_keys(action, client_ip(request))[0]) or 0)
    except Exception:
        logger.warning("cache unreachable; failed attempts are not counted", exc_info=True)
        return 0


def count_failure(
    action: str, request: HttpRequest | None, window_seconds: int, subject: str = ""
) -> tuple[int, int]:
    """Count a failed attempt in the cache only: (failures in the window so far, this one
    included; the previous window's count when this attempt opens a new window, else 0).

    The window opens with the address's first failure and lasts `window_seconds`. With the
    cache unreachable every attempt is taken for the first of its window: (1, 0).
    """
    current, last = _failure_keys(action, client_ip(request), subject)
    try:
        if cache.add(current, 1, timeout=window_seconds):
            count, previous = 1, int(cache.get(last) or 0)
        else:
            count, previous = cache.incr(current), 0
        cache.set(last, count, timeout=window_seconds * 24)
    except Exception:
        logger.warning("cache unreachable; recording every failed attempt", exc_info=True)
        return 1, 0
    return count, previous


def record_repeated_failure(
    action: str,
    *,
    message: str,
    request: HttpRequest | None,
    window_seconds: int,
    actor: str = "",
    subject: str = "",
) -> RepeatedFailure:
    """Count a failed attempt; write one audit row per address and window, not one per attempt.

    The count lives in the cache (`count_failure`); the audit row is written when the window
    opens, since the table is append-only and the row cannot be updated as the count grows.
    That row says how many failures the address's previous window counted. Whether the
    window's row exists is asked of the table itself, so a row rolled back with its transaction
    is written again. The row names `actor` (e.g. the user name of the attempt that opened the
    window). With a `subject`, the count and the row are per address and subject, and the
    subject is the row's actor.
    """
    ip = client_ip(request)
    count, previous = count_failure(action, request, window_seconds, subject)
    since = timezone.now() - timedelta(seconds=window_seconds)
    tenant = current_tenant()
    rows = ActivityEvent.objects.filter(
        tenant=tenant, action=action, ip_address=ip, created_at__gte=since
    )
    if subject:
        actor = subject
        rows = rows.filter(actor=subject[:200])
    if rows.exists():
        return RepeatedFailure(count=count, recorded=False)
    text = (
        f"{message} Further failures from this address in the next {window_seconds} s are "
        "counted, not recorded one by one."
    )
    if previous > 1:
        text += f" The previous window counted {previous} failed attempts from this address."
    record_activity(
        action,
        actor=actor,
        outcome=ActivityEvent.Outcome.FAILURE,
        message=text,
        request=request,
        tenant=tenant,
    )
    return RepeatedFailure(count=count, recorded=True)
