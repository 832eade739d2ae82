"""Shipments reported by ShipStation or the ERP, and their delivery to the store."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import WorkItem
from orders.models import Order


class Shipment(WorkItem):
    """One remote shipment (a ShipStation label or an ERP delivery), posted to the store once."""

    class Origin(models.TextChoices):
        SHIPSTATION = "shipstation", "ShipStation"
        ERP = "erp", "ERP delivery"

    class State(models.TextChoices):
        PENDING = "pending", "To post to the store"
        POSTED = "posted", "Posted to the store"
        NOTHING_TO_POST = "nothing_to_post", "Nothing to post (already shipped, voided or no store)"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    origin = models.CharField(max_length=12, choices=Origin.choices)
    source_id = models.CharField(max_length=64, help_text="ShipStation shipmentId or ERP DLIX.")
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    carrier_code = models.CharField(
        max_length=60, blank=True, help_text="ShipStation carrier code or ERP forwarding agent."
    )
    service = models.CharField(max_length=60, blank=True)
    tracking_numbers = models.JSONField(default=list, blank=True)
    shipped_on = models.DateField(null=True, blank=True)
    voided = models.BooleanField(default=False)
    store_carrier_id = models.CharField(max_length=60, blank=True)
    store_shipment_id = models.CharField(max_length=64, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="Why nothing was posted, or what was flagged.")
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["origin", "source_id"], name="unique_remote_shipment")
        ]
        permissions = [("retry_shipment", "Can retry posting a shipment")]

    def __str__(self) -> str:
        return f"Shipment {self.get_origin_display()} {self.source_id}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="+")
    quantity = models.DecimalField(max_digits=12, decimal_places=3)

    class Meta:
        ordering = ["shipment", "order_line__line_number"]

    def __str__(self) -> str:
        return f"line {self.order_line.line_number} × {self.quantity}"


class CarrierMapping(models.Model):
    """A carrier as ShipStation or the ERP names it → the store's own carrier id."""

    class Origin(models.TextChoices):
        SHIPSTATION = "shipstation", "ShipStation carrier code"
        ERP = "erp", "ERP forwarding agent"

    class Source(models.TextChoices):
        DEFAULT = "default", "From the store's carrier list"
        MANUAL = "manual", "Set by staff"

    store = models.ForeignKey(
        "tenants.Store", on_delete=models.DO_NOTHING, db_constraint=True, related_name="+"
    )
    origin = models.CharField(max_length=12, choices=Origin.choices)
    code = models.CharField(max_length=60, help_text="e.g. stamps_com, ups_walleted, DHL01.")
    store_carrier_id = models.CharField(
        max_length=60, help_text="The carrier id in the store (cart.info carrier list)."
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "origin", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "origin", "code"], name="unique_carrier_mapping"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} → {self.store_carrier_id}"


class ShipStationSubscription(models.Model):
    """A webhook this tenant's ShipStation account sends to the hub (deleted = unsubscribed)."""

    event = models.CharField(max_length=30, default="SHIP_NOTIFY", editable=False)
    webhook_id = models.BigIntegerField(null=True, blank=True, editable=False)
    subscribed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "ShipStation webhook"
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=Q(webhook_id__isnull=False), name="one_hook_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} (ShipStation webhook {self.webhook_id})"


class PollWatermark(models.Model):
    """How far a shipment poll has read (one row per poll)."""

    name = models.CharField(max_length=30, unique=True)
    value = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.value:%Y-%m-%d %H:%M}"


class OrdersToShip(models.Manager):
    """Only orders that need shipping are ever pushed: an order its file marked as needing
    none (digital goods, pick-up) stays *in ERP* and goes on in M3 alone."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(needs_shipping=True)


class ShipStationPush(Order):
    """An order *in ERP* as the ShipStation push's work item: the order row itself, seen as a
    second kind of work (docs/adr-0005), the way the ERP step works the order row.

    A proxy, so the work-item core leases, backs off, limits and parks the push on the order's
    own work fields and keeps its attempts in the order's history, while `orders.state` still
    writes every state change. Nothing is stored here.
    """

    objects = OrdersToShip()

    class Meta:
        proxy = True
        verbose_name = "ShipStation push"
        verbose_name_plural = "ShipStation pushes"
        default_permissions = ()
