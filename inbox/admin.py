"""Platform admin for the inbox: read-only rows, filters, and an audited "retry" action."""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin import WORK_FIELDS, ReadOnlyAdmin, WorkItemAdminMixin, retry_parked_action
from core.admin_sites import platform_admin
from core.json_limits import MAX_JSON_DEPTH, too_deep
from inbox.models import InboxItem


@admin.register(InboxItem, site=platform_admin)
class InboxItemAdmin(WorkItemAdminMixin, ReadOnlyAdmin):
    list_display = [
        "received_at",
        "source",
        "store",
        "event",
        "entity_id",
        "state",
        "attempts",
        "duplicates",
        "short_error",
        "next_step",
    ]
    list_filter = ["state", "source", "store"]
    search_fields = ["entity_id"]
    list_select_related = ["store"]
    date_hierarchy = "received_at"
    actions = [
        retry_parked_action(
            "retry",
            description="Retry the selected items now (audited)",
            activity="inbox.retry",
            noun="inbox item(s)",
            pending=InboxItem.State.PENDING,
            processed_at=None,
        )
    ]
    fields = [
        "source",
        "store",
        "entity",
        "action",
        "entity_id",
        "state",
        "received_at",
        "processed_at",
        "duplicates",
        "dedupe_key",
        "pretty_headers",
        "pretty_body",
        *WORK_FIELDS,
    ]
    readonly_fields = fields

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inbox.retry_inboxitem")

    @admin.display(description="Event")
    def event(self, obj: InboxItem) -> str:
        return f"{obj.entity}.{obj.action}" if obj.entity else "—"

    @admin.display(description="Last error")
    def short_error(self, obj: InboxItem) -> str:
        return obj.last_error if len(obj.last_error) <= 80 else obj.last_error[:79] + "…"

    @admin.display(description="What to do")
    def next_step(self, obj: InboxItem) -> str:
        if obj.state not in (InboxItem.State.NEEDS_ATTENTION, InboxItem.State.FAILED):
            return ""
        return obj.last_error_hint or "Fix what the error names, then retry the item."

    @admin.display(description="Headers")
    def pretty_headers(self, obj: InboxItem) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.headers, indent=2, sort_keys=True))

    @admin.display(description="Raw body")
    def pretty_body(self, obj: InboxItem) -> str:
        """Indented when it is JSON of sane depth; any other stored body is shown as received,
        with a notice, so no body (however deep) can break the page."""
        notice = ""
        if too_deep(obj.body):
            notice = f"Nested deeper than {MAX_JSON_DEPTH} levels; shown as received."
            text = obj.body
        else:
            try:
                text = json.dumps(json.loads(obj.body), indent=2, ensure_ascii=False)
            except (ValueError, RecursionError):
                notice = "Not valid JSON; shown as received."
                text = obj.body
        if notice:
            return format_html("<p><strong>{}</strong></p><pre>{}</pre>", notice, text)
        return format_html("<pre>{}</pre>", text)
