"""Platform admin for the inbox: read-only rows, filters, and an audited "retry" action."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin import WORK_FIELDS, ReadOnlyAdmin, WorkItemAdminMixin, retry_parked_action
from core.admin_sites import platform_admin
from core.json_limits import MAX_JSON_DEPTH, too_deep
from inbox.models import InboxItem

retry_inbox_items = retry_parked_action(
    "retry",
    description="Retry the selected items now (audited)",
    activity="inbox.retry",
    noun="inbox item(s)",
    pending=InboxItem.State.PENDING,
    processed_at=None,
)
"""The one retry of inbox items: platform staff's list, and a tenant's needs-attention page."""


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
    actions = [retry_inbox_items]
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
        "personal_data_removed_at",
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
        if obj.personal_data_removed_at is not None:
            notice = (
                f"Personal data removed on {obj.personal_data_removed_at:%Y-%m-%d}: the body "
                "keeps only the order's ids and a digest of what arrived, so a replay fetches "
                "the order from the store again."
            )
            text = obj.body
        elif too_deep(obj.body):
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


PARKED = [InboxItem.State.NEEDS_ATTENTION, InboxItem.State.FAILED]


def parked_store_events(limit: int) -> list[dict[str, Any]]:
    """Store events parked before they became this tenant's orders (`portal.worklist.parked_item`'s
    keywords): events of the tenant's stores, or of the tenant itself (ShipStation). The inbox is
    platform-wide, so the tenant sees each row's problem and retries it in place; the raw body
    stays on platform staff's page."""
    tenant = connection.tenant
    parked = (
        InboxItem.objects.filter(state__in=PARKED)
        .filter(Q(store__memberships__tenant=tenant) | Q(tenant=tenant))
        .select_related("store")
        .distinct()
        .order_by("-received_at")[:limit]
    )
    return [
        dict(
            item=item,
            kind="Store event",
            title=f"{item.store or item.get_source_display()}: "
            f"{item.entity}.{item.action} {item.entity_id}".rstrip(),
            url="",
            problem=item.last_error,
            retry_step="Fix what the message names, then retry the event here.",
            retry_action=retry_inbox_items,
        )
        for item in parked
    ]


# What the inbox offers the portal, which imports this list (it sits above the inbox).
WORKLIST_SOURCES = [parked_store_events]
