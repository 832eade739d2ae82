"""Shipments reported by ShipStation or the ERP, and their delivery to the store."""

from __future__ import annotations

from django.db import models


class Shipment(models.Model):
    """One remote shipment, posted to the store at most once."""

    class Origin(models.TextChoices):
        SHIPSTATION = "shipstation", "ShipStation"
        ERP = "erp", "ERP delivery"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="shipments")
    origin = models.CharField(max_length=12, choices=Origin.choices)
    remote_id = models.CharField(max_length=64, help_text="ShipStation shipmentId or ERP DLIX.")
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    store_shipment_id = models.CharField(max_length=64, blank=True)
    pushed_to_store_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["origin", "remote_id"], name="unique_remote_shipment")
        ]

    def __str__(self) -> str:
        return f"Shipment {self.remote_id} ({self.carrier} {self.tracking_number})".strip()
