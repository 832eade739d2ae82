"""Store changes in the tenant portal: on the order page, in their own list, in the worklist.

A change parked for a person says what to do next (a return to arrange, an address to set in
M3); once done, "Mark handled" closes it and says who did; "Retry" runs the hub's part again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from core.admin import WORK_FIELDS, WorkItemAdminMixin, retry_parked_action
from core.admin_sites import tenant_admin
from orders.changes.actions import changes_needing_attention, resolve
from orders.models import OrderChange

PARKED = [OrderChange.State.NEEDS_ATTENTION, OrderChange.State.FAILED]
CHANGE_FIELDS = ["order", "kind", "summary", "state", "what_was_done", "created_at", "resolved_by"]


@admin.register(OrderChange, site=tenant_admin)
class OrderChangeAdmin(WorkItemAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "kind", "summary", "state", "what_was_done"]
    list_filter = ["state", "kind"]
    search_fields = ["order__order_number", "summary"]
    list_select_related = ["order"]
    actions = [
        "mark_handled",
        retry_parked_action(
            "retry_changes",
            description="Retry the hub's part",
            activity="order_change.retry",
            noun="change(s)",
            pending=OrderChange.State.PENDING,
            parked=PARKED,
        ),
    ]
    fieldsets = ((None, {"fields": CHANGE_FIELDS}), ("Work", {"fields": WORK_FIELDS}))

    def get_readonly_fields(self, request: HttpRequest, obj: OrderChange | None = None):
        return [*CHANGE_FIELDS, *WORK_FIELDS]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        """A change is the store's fact: the actions act on it, nobody edits it."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.retry_order")

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.resolve_order_change")

    @admin.action(description="Mark handled (the next step is done)", permissions=["resolve"])
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[OrderChange]) -> None:
        actor = request.user.get_username()
        handled = sum(resolve(change, actor) for change in queryset.filter(state__in=PARKED))
        self.message_user(request, f"{handled} change(s) marked handled.")

    @admin.display(description="What the hub did")
    def what_was_done(self, obj: OrderChange) -> str:
        return what_was_done(obj)


def what_was_done(change: OrderChange) -> str:
    if change.state == OrderChange.State.PENDING:
        return f"Waiting: {change.last_error}" if change.last_error else "Being acted on."
    if change.state in PARKED:
        hint = f" Next step: {change.last_error_hint}" if change.last_error_hint else ""
        return f"{change.last_error}{hint}"
    return change.outcome


class OrderChangeInline(admin.TabularInline):
    """The order page's store changes and what was done about each."""

    model = OrderChange
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Changes from the store"
    fields = ["created_at", "kind", "summary", "state", "what_was_done"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="What the hub did")
    def what_was_done(self, obj: OrderChange) -> str:
        return what_was_done(obj)


def parked_order_changes(limit: int) -> list[dict[str, Any]]:
    """Store changes waiting for a person (`portal.worklist.parked_item`'s keywords)."""
    return [
        dict(
            item=change,
            kind="Store change",
            title=f"{change.order.order_number}: {change.get_kind_display()}",
            url=reverse("tenant_admin:orders_orderchange_change", args=[change.pk]),
            problem=change.last_error or change.summary,
            retry_step="Do what the message names, then run 'Mark handled' on the change.",
            retry_action="retry_changes",
        )
        for change in changes_needing_attention().order_by("-updated_at")[:limit]
    ]
