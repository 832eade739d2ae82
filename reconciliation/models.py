"""Reconciliation runs and what they found: proof that every store order of a window is in the
hub, the ERP and ShipStation once, and the one action that fixes each order that is not."""

from __future__ import annotations

from django.db import models

from core.models import WorkItem


class ReconciliationRun(WorkItem):
    """One comparison of store, hub, ERP and ShipStation over a window of order dates.

    The counts per kind are kept on the run, so pages, panels and metrics read one row.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    store = models.ForeignKey(
        "tenants.Store",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        help_text="Empty: every store of the tenant.",
    )
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    requested_by = models.CharField(max_length=150, blank=True, help_text="Empty: nightly.")
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.QUEUED, db_index=True
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    store_orders = models.PositiveIntegerField(default=0, help_text="Store orders listed.")
    hub_orders = models.PositiveIntegerField(default=0, help_text="Hub orders in the window.")
    mismatches = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Mismatches by kind.")
    calls = models.JSONField(default=dict, blank=True, help_text="Upstream calls made.")
    seconds = models.FloatField(null=True, blank=True, help_text="How long the run took.")
    notes = models.TextField(blank=True, help_text="What the run could not check, and why.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("fix_finding", "Can fix what a reconciliation found")]

    def __str__(self) -> str:
        return f"Reconciliation {self.window_start:%Y-%m-%d} to {self.window_end:%Y-%m-%d}"

    @property
    def upstream_calls(self) -> int:
        return sum(self.calls.values())


class Finding(WorkItem):
    """One order on which store, hub, ERP and ShipStation disagree, with its one fix.

    Fixing is work on the core (`reconciliation.fixes`): it calls the outside, so it is a
    worker's job, retried and parked like any other.
    """

    class Kind(models.TextChoices):
        MISSING_IN_HUB = "missing_in_hub", "Missing in the hub"
        MISSING_IN_ERP = "missing_in_erp", "Missing in the ERP"
        MISSING_IN_SHIPSTATION = "missing_in_shipstation", "Missing in ShipStation"
        DUPLICATED_IN_HUB = "duplicated_in_hub", "Duplicated in the hub"
        DUPLICATED_IN_ERP = "duplicated_in_erp", "Duplicated in the ERP"
        DUPLICATED_IN_SHIPSTATION = "duplicated_in_shipstation", "Duplicated in ShipStation"
        TOTALS_DIFFER = "totals_differ", "Totals differ"
        STATUSES_DISAGREE = "statuses_disagree", "Statuses disagree"

    class Fix(models.TextChoices):
        IMPORT = "import", "Import now"
        RETRY = "retry", "Retry"
        CANCEL_IN_SHIPSTATION = "cancel_in_shipstation", "Cancel in ShipStation"
        OPEN_ORDER = "open_order", "Open the order"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        FIXING = "fixing", "Being fixed"
        FIXED = "fixed", "Fixed"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    fix = models.CharField(max_length=24, choices=Fix.choices)
    store = models.ForeignKey(
        "tenants.Store", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    store_order_id = models.CharField(max_length=100, blank=True)
    order_number = models.CharField(max_length=100, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    outcome = models.TextField(blank=True, help_text="What the fix did.")
    fixed_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "id"]
        indexes = [models.Index(fields=["run", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.order_number or self.store_order_id}"
