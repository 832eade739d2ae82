"""Logins, failed logins, lockouts and admin changes go to the activity log."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from tenants.activity import describe_actor, record_activity
from tenants.models import ActivityEvent

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


@receiver(user_logged_in)
def log_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_activity("login", actor=describe_actor(user), request=request)


@receiver(user_login_failed)
def log_failed_login(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    record_activity(
        "login.failed",
        actor=str(credentials.get("username", ""))[:150],
        outcome=ActivityEvent.Outcome.FAILURE,
        message="Wrong user name or password.",
        request=request,
    )


@receiver(user_locked_out)
def log_lockout(sender: Any, request: Any, username: str, ip_address: str, **kwargs: Any) -> None:
    record_activity(
        "login.locked_out",
        actor=str(username or "")[:150],
        outcome=ActivityEvent.Outcome.FAILURE,
        message="Too many failed logins; sign-in is blocked for this user and address.",
        request=request,
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
