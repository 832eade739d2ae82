"""Orders in the tenant portal."""

from django.contrib import admin

from integration_hub.admin_sites import tenant_admin
from orders.csv_admin import CsvUploadMixin
from orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["line_number", "sku", "name", "quantity", "unit_price", "erp_item_number"]
    readonly_fields = fields


@admin.register(Order, site=tenant_admin)
class OrderAdmin(CsvUploadMixin, admin.ModelAdmin):
    list_display = [
        "order_number",
        "store",
        "source",
        "state",
        "erp_order_number",
        "shipstation_order_id",
        "created_at",
    ]
    list_filter = ["state", "store", "source", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["order_number", "store_order_id", "customer_email", "erp_order_number"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]
    list_select_related = ["store"]
