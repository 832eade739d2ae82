"""Platform staff's list of alerts: every tenant's episodes, how often seen, whom they reached."""

from __future__ import annotations

from django.contrib import admin

from alerts.models import Alert
from core.admin import ReadOnlyAdmin
from core.admin_sites import platform_admin


@admin.register(Alert, site=platform_admin)
class AlertAdmin(ReadOnlyAdmin):
    list_display = [
        "last_seen_at", "tenant", "kind", "title", "occurrences", "delivery", "resolved_at",
    ]  # fmt: skip
    list_filter = ["kind", "delivery", ("resolved_at", admin.EmptyFieldListFilter), "tenant"]
    search_fields = ["title", "key"]
    list_select_related = ["tenant"]
    fields = [
        "tenant", "kind", "key", "title", "detail", "url", "opened_at", "last_seen_at",
        "occurrences", "resolved_at", "delivery", "notified_at", "delivery_error",
    ]  # fmt: skip
    readonly_fields = fields
