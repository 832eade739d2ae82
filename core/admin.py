"""Admin pieces pages share: a work item's lease, last error and attempts; read-only records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core import work
from core.admin_sites import tenant_admin
from core.models import WorkAttempt, WorkItem
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
    "attempts_in_run",
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

    @admin.display(description="Attempts since the last success or retry")
    def attempts_in_run(self, obj: WorkItem) -> int:
        """The count a retry resets, so it may be 0 above older attempts listed below."""
        return obj.attempts

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


class AttemptOutcome(admin.SimpleListFilter):
    """Failures first: the page failure counts link to (retried, parked or failed attempts)."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("failures", "Failures"), *WorkAttempt.Outcome.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "failures":
            return queryset.exclude(outcome=WorkAttempt.Outcome.SUCCEEDED)
        if self.value():
            return queryset.filter(outcome=self.value())
        return queryset


@admin.register(WorkAttempt, site=tenant_admin)
class WorkAttemptAdmin(ReadOnlyAdmin):
    """Every attempt at this tenant's work, newest first, each linking to the item it was for."""

    list_display = ["started_at", "item", "number", "outcome", "upstream", "duration_ms", "error"]
    list_filter = [AttemptOutcome, "upstream", "kind", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["error"]
    ordering = ["-started_at"]
    list_per_page = 100

    @admin.display(description="For")
    def item(self, obj: WorkAttempt) -> str:
        app_label, _, model = obj.kind.partition(".")
        try:
            url = reverse(f"tenant_admin:{app_label}_{model}_change", args=[obj.item_id])
        except NoReverseMatch:
            return f"{obj.kind} #{obj.item_id}"
        return format_html('<a href="{}">{} #{}</a>', url, model, obj.item_id)
