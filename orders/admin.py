"""Orders in the tenant portal: state, timeline, and the retry / replay / cancel actions."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from integration_hub.admin_sites import FrontPagePanel, tenant_admin
from integration_hub.core.admin import WORK_FIELDS, WorkItemAdminMixin
from orders.admin_actions import Outcome, cancel_order, replay_order, retry_order
from orders.csv_admin import CsvUploadMixin
from orders.dashboard import order_dashboard
from orders.models import CsvImport, Order, OrderEvent, OrderLine

STATE_COLOURS = {
    Order.State.SENT_TO_SHIPSTATION: "#2e7d32",
    Order.State.IN_ERP: "#1565c0",
    Order.State.NEEDS_ATTENTION: "#e65100",
    Order.State.FAILED: "#c62828",
    Order.State.CANCELLED: "#757575",
}


tenant_admin.add_front_page_panel(FrontPagePanel("orders", "orders.view_order", order_dashboard))


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["line_number", "sku", "name", "quantity", "unit_price", "erp_item_number"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TimelineInline(admin.TabularInline):
    model = OrderEvent
    verbose_name_plural = "Timeline"
    extra = 0
    can_delete = False
    fields = ["created_at", "step", "outcome", "message", "upstream_ref", "actor"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Order, site=tenant_admin)
class OrderAdmin(CsvUploadMixin, WorkItemAdminMixin, admin.ModelAdmin):
    list_display = [
        "order_number",
        "store",
        "source",
        "state_badge",
        "erp_order_number",
        "shipstation_order_id",
        "created_at",
    ]
    list_filter = [
        "state",
        ("store", admin.RelatedOnlyFieldListFilter),
        "source",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["order_number", "store_order_id", "customer_email", "erp_order_number"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, TimelineInline]
    list_select_related = ["store"]
    actions = ["retry_orders", "replay_orders", "cancel_orders"]
    fieldsets = (
        (None, {"fields": ("order_number", "store", "source", "store_order_id", "ordered_at")}),
        ("Pipeline", {"fields": ("state", "state_message")}),
        (
            "Upstream references",
            {
                "fields": (
                    "erp_customer_number",
                    "erp_temporary_order_number",
                    "erp_order_number",
                    "shipstation_order_key",
                    "shipstation_order_id",
                )
            },
        ),
        ("Customer", {"fields": ("customer_email", "store_customer_id", "ship_to")}),
        ("Totals", {"fields": ("currency", "total")}),
        ("Work", {"fields": WORK_FIELDS, "classes": ["collapse"]}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None):
        return [f for fs in self.fieldsets for f in fs[1]["fields"]]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """Orders come from stores, the API or a CSV file; the upload page is the manual way."""
        return HttpResponseRedirect(reverse("tenant_admin:orders_order_upload_csv"))

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="State", ordering="state")
    def state_badge(self, obj: Order) -> str:
        colour = STATE_COLOURS.get(obj.state, "#455a64")
        return format_html(
            '<span style="color:{};font-weight:bold" title="{}">{}</span>',
            colour,
            obj.state_message,
            obj.get_state_display(),
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.retry_order")

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.replay_order")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.cancel_order")

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Order],
        operation: Callable[[Order, str], Outcome],
    ) -> None:
        actor = request.user.get_username()
        for order in queryset:
            outcome = operation(order, actor)
            messages.add_message(
                request, messages.SUCCESS if outcome.ok else messages.WARNING, outcome.message
            )

    @admin.action(description="Retry selected orders", permissions=["retry"])
    def retry_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(request, queryset, retry_order)

    @admin.action(description="Replay from the stored payload", permissions=["replay"])
    def replay_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(request, queryset, replay_order)

    @admin.action(description="Cancel in the hub", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(request, queryset, cancel_order)


@admin.register(CsvImport, site=tenant_admin)
class CsvImportAdmin(WorkItemAdminMixin, admin.ModelAdmin):
    """Background CSV imports: state, counts and every problem of a rejected file."""

    list_display = ["file_name", "uploaded_by", "created_at", "progress", "rows", "orders_created"]
    list_filter = ["state"]
    readonly_fields = [
        "file_name", "uploaded_by", "created_at", "progress", "rows", "orders_created",
        "lines_created", "problem_list", "finished_at", *WORK_FIELDS,
    ]  # fmt: skip
    fields = readonly_fields

    @admin.display(description="State", ordering="state")
    def progress(self, obj: CsvImport) -> str:
        """A queued file a worker holds right now is being imported."""
        leased = obj.lease_until and obj.lease_until > timezone.now()
        if obj.state == CsvImport.State.QUEUED and leased:
            return "Importing"
        return obj.get_state_display()

    @admin.display(description="Problems")
    def problem_list(self, obj: CsvImport) -> str:
        if not obj.problems:
            return "—"
        return format_html_join("\n", "<div>{}</div>", ((p,) for p in obj.problems))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
