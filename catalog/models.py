"""Store products bound to ERP items, each store's price and stock mapping, and the syncs.

A binding keeps what the ERP says now (`erp_price`, `erp_stock` per warehouse), the values the
store should show (`price`, `quantity`, computed with the store's mapping) and the values last
pushed to the store; it is *pending* while the two differ. Sync runs and push batches are work
items (docs/adr-0005), so leases, retries, parking and the attempt history come from the core.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import WorkItem

# Tenant rows pointing at a public Store use DO_NOTHING: the database constraint keeps them
# valid, and Django must not cascade across schemas (it would look for tenant tables in public).


class ItemBinding(models.Model):
    """A store SKU sold as an ERP item of this tenant."""

    class PushState(models.TextChoices):
        IN_SYNC = "in_sync", "In sync"
        PENDING = "pending", "To push"
        QUEUED = "queued", "Being pushed"
        FAILED = "failed", "Failed"
        NO_ERP_VALUE = "no_erp_value", "No ERP price or stock yet"

    store = models.ForeignKey("tenants.Store", on_delete=models.DO_NOTHING, related_name="+")
    sku = models.CharField(max_length=128)
    erp_item_number = models.CharField("ERP item (ITNO)", max_length=15)
    store_product_id = models.CharField(max_length=64, blank=True)
    store_variant_id = models.CharField(max_length=64, blank=True)
    erp_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    erp_special_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    erp_stock = models.JSONField(
        default=dict, blank=True, help_text="Available quantity per ERP warehouse (AV01)."
    )
    price = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="For the store."
    )
    special_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    quantity = models.IntegerField(null=True, blank=True, help_text="For the store.")
    pushed_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    pushed_special_price = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    pushed_quantity = models.IntegerField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    push_state = models.CharField(
        max_length=14, choices=PushState.choices, default=PushState.NO_ERP_VALUE
    )
    push_failures = models.PositiveSmallIntegerField(default=0)
    push_error = models.TextField(blank=True, help_text="The store's words on the last failure.")
    batch = models.ForeignKey(
        "catalog.PushBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="unique_binding_per_store_sku")
        ]
        indexes = [
            models.Index(fields=["store", "push_state", "id"], name="binding_push_queue"),
            models.Index(fields=["erp_item_number"]),
        ]
        permissions = [("run_price_sync", "Can run a price and stock sync now")]

    def __str__(self) -> str:
        return f"{self.sku} → {self.erp_item_number}"

    @property
    def is_variant(self) -> bool:
        return bool(self.store_variant_id)


class StoreSync(models.Model):
    """How one store gets this tenant's prices and stock, and when it is synced."""

    class Rounding(models.TextChoices):
        CENT = "0.01", "To the cent"
        FIVE_CENTS = "0.05", "To 5 cents"
        TEN_CENTS = "0.10", "To 10 cents"
        WHOLE = "1", "To whole units"
        NINETY_NINE = "x.99", "Ending in .99"

    store = models.OneToOneField("tenants.Store", on_delete=models.DO_NOTHING, related_name="+")
    price_list = models.CharField("ERP price list (PRRF)", max_length=10, default="WEBSHOP")
    currency = models.CharField("Currency (CUCD)", max_length=3, default="EUR")
    warehouses = models.CharField(
        "ERP warehouses (WHLO)",
        max_length=200,
        blank=True,
        help_text="Comma-separated; their available quantities are summed. Blank: all.",
    )
    safety_stock = models.PositiveIntegerField(
        default=0, help_text="Kept back from the store: it shows available minus this."
    )
    rounding = models.CharField(max_length=5, choices=Rounding.choices, default=Rounding.CENT)
    push_special_prices = models.BooleanField(default=False)
    special_price_list = models.CharField(
        "ERP special price list (PRRF)",
        max_length=10,
        blank=True,
        help_text="Its prices become the store's special price when special prices are pushed.",
    )
    interval_minutes = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1)], help_text="How often changes are read."
    )
    nightly_full_hour = models.PositiveSmallIntegerField(
        default=2, help_text="UTC hour of the nightly full reconciliation."
    )
    enabled = models.BooleanField(default=True)
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="ERP changes up to here have been read."
    )
    next_sync_at = models.DateTimeField(null=True, blank=True)
    next_full_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    applied_mapping = models.CharField(
        max_length=400, blank=True, editable=False,
        help_text="The mapping the bindings' store values were last computed with.",
    )  # fmt: skip
    batch_updates = models.BooleanField(
        null=True,
        blank=True,
        editable=False,
        help_text="Whether the store offers batch product updates (from cart.methods).",
    )

    class Meta:
        verbose_name = "store price and stock sync"

    def __str__(self) -> str:
        return f"Prices and stock for {self.store}"

    def mapping_key(self) -> str:
        """Everything the store values depend on; a change means every binding is recomputed."""
        return "|".join(
            str(value)
            for value in (self.price_list, self.currency, self.warehouses, self.safety_stock,
                          self.rounding, self.push_special_prices, self.special_price_list)
        )  # fmt: skip

    def warehouse_list(self) -> list[str]:
        return [w.strip() for w in self.warehouses.split(",") if w.strip()]


class SyncRun(WorkItem):
    """One read of the ERP for one store (changes since the watermark, or everything)."""

    class Mode(models.TextChoices):
        CHANGES = "changes", "Changes since the last sync"
        FULL = "full", "Full reconciliation"

    class State(models.TextChoices):
        PENDING = "pending", "Reading the ERP"
        PUSHING = "pushing", "Pushing to the store"
        DONE = "done", "Done"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    store = models.ForeignKey("tenants.Store", on_delete=models.DO_NOTHING, related_name="+")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.CHANGES)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    requested_by = models.CharField(max_length=150, blank=True, help_text="Empty: the schedule.")
    read_since = models.DateTimeField(null=True, blank=True)
    erp_rows = models.PositiveIntegerField(default=0, help_text="Price and stock rows read.")
    changed = models.PositiveIntegerField(default=0, help_text="Bindings whose values changed.")
    items_total = models.PositiveIntegerField(default=0, help_text="Items to push.")
    items_done = models.PositiveIntegerField(default=0)
    items_failed = models.PositiveIntegerField(default=0)
    batch_jobs = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["store"], condition=Q(state="pending"), name="one_reading_run_per_store"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} #{self.pk}"

    @property
    def progress(self) -> str:
        return f"{self.items_done + self.items_failed} / {self.items_total}"


class PushBatch(WorkItem):
    """Up to 250 products or variants sent to a store together (one batch job, or singly)."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", "Products"
        VARIANTS = "variants", "Variants"

    class State(models.TextChoices):
        PENDING = "pending", "To send"
        SUBMITTED = "submitted", "Waiting for the store's batch job"
        DONE = "done", "Done"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    store = models.ForeignKey("tenants.Store", on_delete=models.DO_NOTHING, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    items = models.JSONField(help_text="What was sent: binding id and the store's update.")
    job_id = models.CharField(max_length=64, blank=True)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    outcomes = models.JSONField(
        default=list, blank=True, help_text="Each item's outcome and the store's words."
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "push batches"

    def __str__(self) -> str:
        return f"Push batch #{self.pk} ({len(self.items)} {self.kind})"


class UnmatchedProduct(models.Model):
    """A store product or variant whose SKU could not be bound, and why (the unmatched report)."""

    store = models.ForeignKey("tenants.Store", on_delete=models.DO_NOTHING, related_name="+")
    sku = models.CharField(max_length=128, blank=True)
    name = models.CharField(max_length=255, blank=True)
    store_product_id = models.CharField(max_length=64)
    store_variant_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=255)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "store_product_id", "store_variant_id"],
                name="unique_unmatched_product",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku or '(no SKU)'}: {self.reason}"
