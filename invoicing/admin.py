"""Invoices in the tenant portal."""

from django.contrib import admin

from integration_hub.admin_sites import tenant_admin
from invoicing.models import Invoice


@admin.register(Invoice, site=tenant_admin)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["erp_invoice_number", "year", "order", "amount", "remaining_amount", "paid_at"]
    search_fields = ["erp_invoice_number", "order__order_number"]
    list_select_related = ["order"]
