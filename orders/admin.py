"""Orders in the tenant portal: state, timeline, and the retry / replay / cancel actions.

`OrderAdmin` is orders' own part of the order page and is not registered here: the portal
assembles the page from it and from what the apps that follow an order out offer (shipping's and
invoicing's inlines and actions) and registers that (`portal/admin.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from core.admin import WORK_FIELDS, WorkItemAdminMixin
from orders.admin_actions import Outcome, cancel_order, replay_order, retry_order
from orders.changes.admin import OrderChangeInline
from orders.files.admin import CsvUploadMixin
from orders.intake import admin as backfill_admin  # noqa: F401  (registers the backfill pages)
from orders.intake.manual_entry import ManualOrderForms, sku_choices
from orders.models import Order
from orders.order_page import address_lines, order_lines
from orders.timeline import order_timeline
from tenants.activity import record_activity
from tenants.store_order_parts import other_parts_summary

SKU_SEARCH_LIMIT = 50

STATE_COLOURS = {
    Order.State.SENT_TO_SHIPSTATION: "#2e7d32",
    Order.State.PARTIALLY_SHIPPED: "#2e7d32",
    Order.State.SHIPPED: "#2e7d32",
    Order.State.INVOICED: "#1b5e20",
    Order.State.IN_ERP: "#1565c0",
    Order.State.NEEDS_ATTENTION: "#e65100",
    Order.State.FAILED: "#c62828",
    Order.State.CANCELLED: "#757575",
    Order.State.HISTORY: "#757575",
}


class OrderAdmin(CsvUploadMixin, WorkItemAdminMixin, admin.ModelAdmin):
    list_display = [
        "order_number",
        "store",
        "sales_channel",
        "source",
        "state_badge",
        "erp_order_number",
        "shipstation_order_id",
        "created_at",
    ]
    list_filter = [
        "state",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("sales_channel", admin.RelatedOnlyFieldListFilter),
        "source",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["order_number", "store_order_id", "customer_email", "erp_order_number"]
    date_hierarchy = "created_at"
    inlines: list = [OrderChangeInline]
    change_form_template = "admin/orders/order/change_form.html"
    list_select_related = ["store", "sales_channel"]
    actions = ["retry_orders", "replay_orders", "cancel_orders"]
    fieldsets = (
        (
            "Upstream references",
            {
                "fields": (
                    "store",
                    "sales_channel",
                    "source",
                    "store_order_id",
                    "ordered_at",
                    "store_customer_id",
                    "erp_customer_number",
                    "erp_temporary_order_number",
                    "erp_order_number",
                    "shipstation_order_key",
                    "shipstation_order_id",
                ),
                "classes": ["collapse"],
            },
        ),
        ("Work", {"fields": WORK_FIELDS, "classes": ["collapse"]}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None):
        return [f for fs in self.fieldsets for f in fs[1]["fields"]]

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        """An order mirrors its store, the ERP and ShipStation: the actions change it, not edits."""
        return False

    def get_urls(self) -> list:
        return [
            path("skus/", self.admin_site.admin_view(self.sku_search_view),
                 name="orders_order_skus"),
            *super().get_urls(),
        ]  # fmt: skip

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """A person types an order; the API's rules accept or refuse it (intake.manual_entry)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        forms = ManualOrderForms.bind(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            actor = request.user.get_username()
            order = forms.place(actor)
            if order is not None:
                record_activity(
                    "order.manual_entered", actor=actor, obj=order, request=request,
                    message=f"Order {order.order_number} typed in with {order.lines.count()} "
                    "line(s).",
                )  # fmt: skip
                messages.success(request, f"{order} accepted; it is on its way to the ERP.")
                return redirect("tenant_admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Add order",
            "forms": forms,
            "skus": sku_choices(),
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/orders/order/manual_order.html", context)

    def sku_search_view(self, request: HttpRequest) -> JsonResponse:
        """The line picker's suggestions as the person types: SKUs containing the text."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        search = request.GET.get("q", "")[:128]
        choices = sku_choices(search, limit=SKU_SEARCH_LIMIT)
        return JsonResponse({"skus": [[c.sku, c.erp_item_number] for c in choices]})

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context=None):  # fmt: skip
        """The order as a sheet: address, lines, totals, timeline, and the actions to run."""
        order = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if order is not None:
            extra_context.update(
                order=order,
                ship_to_lines=address_lines(order.ship_to),
                lines=order_lines(order),
                timeline=order_timeline(order),
                action_choices=[c for c in self.get_action_choices(request, default_choices=[])],
                state_colour=STATE_COLOURS.get(order.state, "#455a64"),
                other_parts=other_parts_summary(order),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def response_action(self, request: HttpRequest, queryset: QuerySet[Order]):
        """An action run from an order's page comes back to that page."""
        response = super().response_action(request, queryset)
        order_id = request.POST.get("_back_to_order", "")
        if response is not None and response.status_code == 302 and order_id.isdigit():
            return redirect("tenant_admin:orders_order_change", int(order_id))
        return response

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
