"""ERP invoices of store orders and their payment status."""

from __future__ import annotations

from django.db import models


class Invoice(models.Model):
    """An ERP invoice; when fully paid the store order becomes Invoiced."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="invoices")
    erp_invoice_number = models.CharField("ERP invoice (IVNO)", max_length=20)
    year = models.PositiveIntegerField("Invoice year (YEA4)")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    remaining_amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True)
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    store_status_pushed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["erp_invoice_number", "year"], name="unique_erp_invoice"
            )
        ]
        permissions = [("generate_invoice", "Can generate an invoice document")]

    def __str__(self) -> str:
        return f"Invoice {self.erp_invoice_number}/{self.year}"
