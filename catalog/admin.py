"""Item bindings in the tenant portal."""

from django.contrib import admin
from django.db import connection

from catalog.models import ItemBinding
from integration_hub.admin_sites import tenant_admin
from tenants.models import Store


@admin.register(ItemBinding, site=tenant_admin)
class ItemBindingAdmin(admin.ModelAdmin):
    list_display = ["sku", "erp_item_number", "store", "updated_at"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sku", "erp_item_number"]
    list_select_related = ["store"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Only the stores this tenant sells through; other tenants' stores stay invisible."""
        if db_field.name == "store":
            kwargs["queryset"] = Store.objects.filter(memberships__tenant=connection.tenant)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
