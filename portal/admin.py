"""The tenant portal's order page, assembled, and its front page's panel.

Orders' own admin (`orders.admin.OrderAdmin`) plus the inlines and actions the apps that follow
an order out offer in plain lists (`shipping.admin`, `invoicing.admin`: `ORDER_INLINES`,
`ORDER_ACTIONS`) plus the needs-attention worklist: registered here for `Order` on the tenant
site. No app changes another's admin; the model's app label stays `orders`, so every URL name
(`tenant_admin:orders_order_change`, ...), permission and template name is orders' own.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path

from core.admin_sites import FrontPagePanel, tenant_admin
from invoicing import admin as invoicing_admin
from orders.admin import OrderAdmin
from orders.erp.batch_orders import mark_stray_batches_checked
from orders.models import Order
from portal.front_page import order_dashboard
from portal.worklist import attention_items
from shipping import admin as shipping_admin


class PortalOrderAdmin(OrderAdmin):
    """The order page: orders' admin with what shipping and invoicing offer, and the worklist."""

    inlines = [*OrderAdmin.inlines, *shipping_admin.ORDER_INLINES, *invoicing_admin.ORDER_INLINES]
    actions = [
        *OrderAdmin.actions,
        *shipping_admin.ORDER_ACTIONS,
        *invoicing_admin.ORDER_ACTIONS,
        "mark_erp_batches_checked",
    ]

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

    def needs_attention_view(self, request: HttpRequest) -> TemplateResponse:
        """Everything of this tenant that waits for a person, each with its next step."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Needs attention",
            "items": attention_items(),
        }
        return TemplateResponse(request, "admin/orders/order/needs_attention.html", context)


tenant_admin.register(Order, PortalOrderAdmin)
tenant_admin.add_front_page_panel(FrontPagePanel("orders", "orders.view_order", order_dashboard))
