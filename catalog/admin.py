"""Item bindings in the tenant portal."""

from django.contrib import admin

from catalog.models import ItemBinding
from integration_hub.admin_sites import tenant_admin


@admin.register(ItemBinding, site=tenant_admin)
class ItemBindingAdmin(admin.ModelAdmin):
    list_display = ["sku", "erp_item_number", "store", "updated_at"]
    list_filter = ["store"]
    search_fields = ["sku", "erp_item_number"]
    list_select_related = ["store"]
