"""Admin pieces pages share: a work item's lease, last error and attempts; read-only records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core import work
from core.models import WorkItem
from core.work import attempts_of

_audit: Callable[..., Any] | None = None


def audit_admin_actions_with(record: Callable[..., Any]) -> None:
    """The activity log's writer (tenants registers it): record(action, obj, request, message)."""
    global _audit
    _audit = record


def retry_parked_action(
    name: str,
    *,
    description: str,
    activity: str,
    noun: str,
    pending: str,
    parked: Iterable[str] | None = None,
    where: dict[str, Any] | None = None,
    **changes: Any,
) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet], None]:
    """The one "retry" admin action of every work kind, called `name` (needs the admin's
    `has_retry_permission`).

    The chosen items in a `parked` state (any state when None) matching `where` go back to
    `pending` with a fresh retry schedule (`work.retry_now`); items a worker holds right now are
    left alone, and each retry is audited as `activity`.
    """

    def retry(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        if parked is not None:
            queryset = queryset.filter(state__in=list(parked))
        items = {item.pk: item for item in queryset.filter(**(where or {}))}
        chosen = work.retry_now(queryset.model, items, state=pending, **changes)
        for pk in chosen:
            if _audit is not None:
                item = items[pk]
                message = f"Retried from state {item.get_state_display()}."
                _audit(activity, obj=item, request=request, message=message)
        modeladmin.message_user(request, f"{len(chosen)} {noun} will be tried again.")
        if busy := len(items) - len(chosen):
            modeladmin.message_user(
                request,
                f"{busy} are being worked right now and were left alone.",
                messages.WARNING,
            )

    retry.__name__ = name
    return admin.action(description=description, permissions=["retry"])(retry)


WORK_FIELDS = (
    "attempts",
    "failing_since",
    "failing_upstream",
    "retrying_until",
    "next_attempt_at",
    "lease_holder",
    "lease_until",
    "last_error",
    "last_error_hint",
    "attempt_history",
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that mirror an upstream or record what happened: nobody adds, edits or deletes them
    here; actions are the way to change them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class WorkItemAdminMixin:
    """Add `WORK_FIELDS` to a ModelAdmin's read-only fields to show the attempt history."""

    @admin.display(description="Attempts (newest first)")
    def attempt_history(self, obj: WorkItem) -> SafeString | str:
        rows = attempts_of(obj)
        if not rows:
            return "No attempt yet."
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    a.number,
                    f"{a.started_at:%Y-%m-%d %H:%M:%S}",
                    a.duration_ms,
                    a.get_outcome_display(),
                    a.upstream or "—",
                    a.error or "",
                )
                for a in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>Started (UTC)</th><th>Took</th><th>Outcome</th>"
            "<th>Upstream</th><th>Error</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )
