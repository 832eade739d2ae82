"""The inbox: every inbound event (webhook, poll hit, replayed failure) stored raw before work.

Persist, then acknowledge: a row is written in one short transaction with a unique dedupe key,
then workers process it. The row, not the Celery message, is the truth (the sweeper re-enqueues).
"""

from __future__ import annotations

from django.db import models


class InboxItem(models.Model):
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
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        permissions = [("retry_inboxitem", "Can retry an inbox item")]

    def __str__(self) -> str:
        what = f"{self.entity}.{self.action}" if self.entity else self.source
        return f"{what} {self.entity_id or ''} ({self.get_state_display()})".strip()


class StoreWebhook(models.Model):
    """A webhook the hub registered at API2Cart.

    `account.failed_webhooks` names only the webhook id, so this is how a missed delivery is
    traced back to its store. The callback URL holds the secret path token: only its hash is kept.
    """

    store = models.ForeignKey(
        "tenants.Store", on_delete=models.CASCADE, related_name="registered_webhooks"
    )
    remote_id = models.PositiveBigIntegerField(help_text="API2Cart's webhook id.")
    entity = models.CharField(max_length=30)
    action = models.CharField(max_length=30)
    callback_url_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "remote_id"], name="unique_store_webhook")
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.entity}.{self.action} #{self.remote_id}"
