"""Admin pieces pages share: a work item's lease, last error and attempts; read-only records."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.models import WorkItem
from core.work import attempts_of

WORK_FIELDS = (
    "attempts",
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
