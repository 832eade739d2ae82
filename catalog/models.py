"""Links between store products and ERP items; the source of the SKU-ownership index."""

from __future__ import annotations

from django.db import models

# Tenant rows pointing at a public Store use DO_NOTHING: the database constraint keeps them
# valid, and Django must not cascade across schemas (it would look for tenant tables in public).


class ItemBinding(models.Model):
    """A store SKU sold as an ERP item of this tenant."""

    store = models.ForeignKey("tenants.Store", on_delete=models.DO_NOTHING, related_name="+")
    sku = models.CharField(max_length=128)
    erp_item_number = models.CharField("ERP item (ITNO)", max_length=15)
    store_product_id = models.CharField(max_length=64, blank=True)
    store_variant_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="unique_binding_per_store_sku")
        ]
        permissions = [("run_price_sync", "Can run a price and stock sync now")]

    def __str__(self) -> str:
        return f"{self.sku} → {self.erp_item_number}"
