"""The tenant portal's order page, assembled, and its front page's panel.

Orders' own admin (`orders.admin.OrderAdmin`) plus the inlines and actions the apps that follow
an order out offer in plain lists (`shipping.admin`, `invoicing.admin`: `ORDER_INLINES`,
`ORDER_ACTIONS`) plus the needs-attention worklist: registered here for `Order` on the tenant
site. No app changes another's admin; the model's app label stays `orders`, so every URL name
(`tenant_admin:orders_order_change`, ...), permission and template name is orders' own.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.timesince import timesince

from core.admin_sites import FrontPagePanel, tenant_admin
from invoicing import admin as invoicing_admin
from orders.admin import OrderAdmin
from orders.erp.batch_orders import mark_stray_batches_checked
from orders.models import Order
from orders.state import WAITING_STATES
from portal.flow_lag import ATTENTION_STATES
from portal.front_page import order_dashboard
from portal.onboarding import PERMISSION, first_run_checklist
from portal.worklist import attention_groups, attention_items, retry_in_place
from shipping import admin as shipping_admin


class SavedView(admin.SimpleListFilter):
    """The order list's saved views: what operations teams open the list for."""

    title = "view"
    parameter_name = "view"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [
            ("needs_person", "Needs a person"),
            ("stuck", "Stuck over an hour"),
            ("today", "Today"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        now = timezone.now()
        if self.value() == "needs_person":
            return queryset.filter(state__in=ATTENTION_STATES)
        if self.value() == "stuck":
            return queryset.filter(state__in=WAITING_STATES, updated_at__lt=now - STUCK_AFTER)
        if self.value() == "today":
            start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
            return queryset.filter(created_at__gte=start)
        return queryset


STUCK_AFTER = timedelta(hours=1)


class PortalOrderAdmin(OrderAdmin):
    """The order page: orders' admin with what shipping and invoicing offer, and the worklist.

    The list adds what both Shopify's and ShipStation's order lists show: the customer, the
    total, the items, the age and payment beside the state, and saved views.
    """

    list_display = [
        "order_number", "customer", "order_total", "items", "state_badge", "payment", "age",
        "store", "sales_channel", "source", "erp_order_number",
    ]  # fmt: skip
    list_filter = [SavedView, *OrderAdmin.list_filter]
    inlines = [*OrderAdmin.inlines, *shipping_admin.ORDER_INLINES, *invoicing_admin.ORDER_INLINES]
    actions = [
        *OrderAdmin.actions,
        *shipping_admin.ORDER_ACTIONS,
        *invoicing_admin.ORDER_ACTIONS,
        "mark_erp_batches_checked",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return (
            super()
            .get_queryset(request)
            .annotate(item_count=Sum("lines__quantity"))
            .prefetch_related("invoices")
        )

    @admin.display(description="Customer")
    def customer(self, obj: Order) -> str:
        ship_to = obj.ship_to or {}
        name = ship_to.get("name") or ship_to.get("company") or ""
        return name or obj.customer_email or "—"

    @admin.display(description="Total", ordering="total")
    def order_total(self, obj: Order) -> str:
        if obj.total is None:
            return "—"
        return f"{obj.currency} {obj.total}".strip()

    @admin.display(description="Items", ordering="item_count")
    def items(self, obj: Order) -> str:
        count = getattr(obj, "item_count", None)
        return "—" if count is None else f"{count.normalize():f}"

    @admin.display(description="Payment")
    def payment(self, obj: Order) -> str:
        return invoicing_admin.payment_state(obj) or "—"

    @admin.display(description="Age", ordering="created_at")
    def age(self, obj: Order) -> str:
        return timesince(obj.created_at, depth=1)

    def get_urls(self) -> list:
        return [
            path("needs-attention/", self.admin_site.admin_view(self.needs_attention_view),
                 name="orders_order_needs_attention"),
            *super().get_urls(),
        ]  # fmt: skip

    @admin.action(description="M3 batch orders checked", permissions=["retry"])
    def mark_erp_batches_checked(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        """A person deleted in M3 the batch orders a lost request may have left (front page)."""
        checked = mark_stray_batches_checked(queryset, request.user.get_username())
        self.message_user(
            request, f"{checked} order{'s' if checked != 1 else ''} no longer listed as M3 batch "
            "orders to check."
        )  # fmt: skip

    def needs_attention_view(self, request: HttpRequest) -> HttpResponse:
        """Everything of this tenant that waits for a person, identical problems grouped, each
        with its next step; a POST retries the chosen rows in place."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            handed = retry_in_place(request, request.POST.getlist("retry"), self)
            if not handed:
                self.message_user(
                    request, "Nothing was retried: the rows are gone or you may not retry them.",
                    messages.WARNING,
                )  # fmt: skip
            return HttpResponseRedirect(request.path)
        items = attention_items()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Needs attention",
            "items": items,
            "groups": attention_groups(items),
            "may_retry": self.has_retry_permission(request),
        }
        return TemplateResponse(request, "admin/orders/order/needs_attention.html", context)


tenant_admin.register(Order, PortalOrderAdmin)
tenant_admin.add_front_page_panel(FrontPagePanel("orders", "orders.view_order", order_dashboard))
tenant_admin.add_front_page_panel(FrontPagePanel("onboarding", PERMISSION, first_run_checklist))
