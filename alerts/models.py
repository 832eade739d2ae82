"""Alerts: what went wrong that a person should hear about, told once per episode.

One row per open episode of (tenant, kind, key): raising it again while it is open only counts
(`occurrences`, `last_seen_at`); the people are told when it opens and again only after
`HUB_ALERT_REPEAT_HOURS` of it going on. An episode ends when its cause clears (the store is
reached again) or when it has not been seen for the repeat period; the next occurrence is a new
episode. Rows live in the public schema, so the platform's digest and metrics read one table.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Alert(models.Model):
    class Kind(models.TextChoices):
        STORE_DISCONNECTED = "store_disconnected", "Store disconnected"
        STORE_POLLING_ONLY = "store_polling_only", "Store's webhooks off: orders by polling only"
        CREDENTIALS_REFUSED = "credentials_refused", "Credentials refused"
        NEEDS_ATTENTION = "needs_attention", "Needs attention growing"
        FLOW_BEHIND = "flow_behind", "Flow falling behind"
        RECONCILIATION = "reconciliation", "Reconciliation found mismatches"

    class Delivery(models.TextChoices):
        PENDING = "pending", "To be sent"
        SENT = "sent", "Sent"
        DIGEST = "digest", "Left for the daily digest"
        NOBODY = "nobody", "Nobody to tell"

    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    key = models.CharField(max_length=100, help_text="What the alert is about, e.g. store:12.")
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True, help_text="Where to look, in the portal.")
    opened_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    occurrences = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(
        max_length=8, choices=Delivery.choices, default=Delivery.PENDING, db_index=True
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "key"],
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_episode",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["tenant", "opened_at"], name="alert_tenant_opened")]

    def __str__(self) -> str:
        return self.title
