"""ERP invoices of store orders, their payment status, and the store status update they cause."""

from __future__ import annotations

from django.db import models

from core.models import WorkItem


class Invoice(models.Model):
    """A read-only mirror of one M3 invoice (`OIS350MI/LstAllInvByCO`), keyed like M3 keys it."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="invoices")
    erp_invoice_number = models.CharField("ERP invoice (IVNO)", max_length=20)
    year = models.PositiveIntegerField("Invoice year (YEA4)")
    extended_number = models.CharField("Extended invoice no. (EXIN)", max_length=30, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField("Amount incl. VAT (IVAV)", max_digits=14, decimal_places=2)
    remaining_amount = models.DecimalField(
        "Remaining to pay (RAFC)", max_digits=14, decimal_places=2
    )
    currency = models.CharField(max_length=3, blank=True)
    paid_at = models.DateTimeField(
        null=True, blank=True, help_text="When the hub first read a remaining amount of 0."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(auto_now=True, help_text="Last read from the ERP.")

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

    @property
    def is_paid(self) -> bool:
        return self.remaining_amount == 0


class StoreStatusMapping(models.Model):
    """Which store order status means *Invoiced* at one store (ids differ per platform)."""

    store = models.OneToOneField(
        "tenants.Store",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Stores live in the public schema; this tenant's choice for one of them.",
    )
    invoiced_status = models.CharField(
        max_length=100, help_text="An order status id from the store's order.status.list."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "store status mapping"

    def __str__(self) -> str:
        return f"{self.store_id}: Invoiced → {self.invoiced_status}"


class StoreStatusUpdate(WorkItem):
    """The one `order.update` telling the store an order is invoiced (one row per order).

    A store order split between tenants is told once, when every part is invoiced or cancelled:
    until then a part's update waits (not work: nothing to sweep), and the part invoiced last
    writes the status for all; the others' updates end as sent by another part
    (`tenants.store_order_parts`).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        WAITING = "waiting_for_parts", "Waiting for the other parts"
        SENT_BY_OTHER_PART = "sent_by_other_part", "Sent by another part"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, related_name="store_status_update"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    order_status = models.CharField(max_length=100, blank=True, help_text="The status sent.")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Store status update of order #{self.order_id}"
