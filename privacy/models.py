"""The audit of erasure requests: who erased one customer of which tenant, when, and how many
records of each kind. Never the person's e-mail, customer id, name or address.

Kept in public beside the activity log, so platform staff see every tenant's erasures and a
tenant admin sees the tenant's own (`privacy.admin`).
"""

from __future__ import annotations

from django.db import models


class Erasure(models.Model):
    class FoundBy(models.TextChoices):
        EMAIL = "email", "E-mail address"
        CUSTOMER_ID = "customer_id", "Store customer id"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    requested_by = models.CharField(max_length=200, help_text="The person who erased.")
    via = models.CharField(max_length=20, help_text="Portal or management command.")
    found_by = models.CharField(max_length=12, choices=FoundBy.choices)
    records = models.JSONField(
        default=dict, help_text="Records whose personal data was removed, per kind."
    )
    outside = models.JSONField(
        default=dict,
        help_text="How many records outside systems still hold, per system (ERP, ShipStation, "
        "store): the page that erased named them and what to do there.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "customer erasure"

    def __str__(self) -> str:
        return f"Erasure #{self.pk} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def summary(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in self.records.items() if count)
