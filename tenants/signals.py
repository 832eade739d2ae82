"""Logins, failed logins, lockouts and admin changes go to the activity log."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from tenants.activity import describe_actor, record_activity, record_repeated_failure
from tenants.login_limits import address_failures, address_limit

deploy_starting = Signal()
"""Sent by `setup_hub` before its first statement, so the project can refuse a database
connection it must not deploy through (a transaction pooler)."""

schemas_deployed = Signal()
"""Sent by `setup_hub` after every schema is current: `schemas` lists the tenant, template and
spare schemas, migrated or not, so what a deploy must refresh without a migration (roles)
can be checked once and applied everywhere."""

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


@receiver(user_logged_in)
def log_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_activity("login", actor=describe_actor(user), request=request)


@receiver(user_login_failed)
def log_failed_login(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    """One row per address and window (the first failure's user name), the rest counted."""
    record_repeated_failure(
        "login.failed",
        actor=str(credentials.get("username", ""))[:150],
        message="Wrong user name or password.",
        request=request,
        window_seconds=settings.HUB_LOGIN_FAILURE_WINDOW,
    )


@receiver(user_locked_out)
def log_lockout(sender: Any, request: Any, username: str, ip_address: str, **kwargs: Any) -> None:
    """Every lockout is recorded when it starts: the address's (one row per window), or a user
    name's at the address (one row per name and window); attempts while it lasts are counted."""
    name = str(username or "")[:150]
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    if address_failures(request) >= address_limit():
        record_repeated_failure(
            "login.address_locked_out",
            actor=name,
            message=f"Too many failed logins from this address ({address_limit()} for any user "
            f"names); sign-in from this address is blocked for {minutes} min.",
            request=request,
            window_seconds=settings.HUB_LOGIN_FAILURE_WINDOW,
        )
        return
    record_repeated_failure(
        "login.locked_out",
        subject=name,
        message=f"Too many failed logins; sign-in is blocked for this user and address for "
        f"{minutes} min.",
        request=request,
        window_seconds=settings.HUB_LOGIN_FAILURE_WINDOW,
    )


@receiver(post_save, sender=LogEntry)
def log_admin_change(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type = instance.content_type
    record_activity(
        ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        actor=describe_actor(instance.user),
        object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        object_id=str(instance.object_id or ""),
        object_repr=instance.object_repr,
        message=instance.get_change_message(),
    )
