"""The inbox: every inbound event (webhook, poll hit, replayed failure) stored raw before work.

Persist, then acknowledge: a row is written in one short transaction with a unique dedupe key,
then workers process it. The row, not the Celery message, is the truth (the sweeper re-enqueues).
"""

from __future__ import annotations

from django.db import models

from integration_hub.core.models import WorkItem


class InboxItem(WorkItem):
    class Source(models.TextChoices):
        WEBHOOK = "webhook", "API2Cart webhook"
        POLL = "poll", "Store polling"
        FAILED_WEBHOOK = "failed_webhook", "API2Cart failed-webhook replay"
        SHIPSTATION = "shipstation", "ShipStation webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        IGNORED = "ignored", "Ignored (nothing to do)"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=16, choices=Source.choices)
    store = models.ForeignKey(
        "tenants.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="inbox"
    )
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbox",
        help_text="The tenant a tenant-level event (a ShipStation webhook) belongs to.",
    )
    dedupe_key = models.CharField(max_length=64, unique=True)
    entity = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=30, blank=True)
    entity_id = models.CharField(max_length=100, blank=True, db_index=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    duplicates = models.PositiveIntegerField(
        default=0, help_text="Further deliveries of the same event, acknowledged and dropped."
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        permissions = [("retry_inboxitem", "Can retry an inbox item")]

    def __str__(self) -> str:
        what = f"{self.entity}.{self.action}" if self.entity else self.source
        return f"{what} {self.entity_id or ''} ({self.get_state_display()})".strip()
