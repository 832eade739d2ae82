"""Shipments in the tenant portal."""

from django.contrib import admin

from integration_hub.admin_sites import tenant_admin
from shipping.models import Shipment


@admin.register(Shipment, site=tenant_admin)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = [
        "remote_id",
        "order",
        "origin",
        "carrier",
        "tracking_number",
        "shipped_at",
        "pushed_to_store_at",
    ]
    list_filter = ["origin", "carrier"]
    search_fields = ["remote_id", "tracking_number", "order__order_number"]
    list_select_related = ["order"]
