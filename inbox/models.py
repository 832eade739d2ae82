"""The inbox: every inbound event (webhook, poll hit, replayed failure) stored raw before work.

Persist, then acknowledge: a row is written in one short transaction with a unique dedupe key,
then workers process it. The row, not the Celery message, is the truth (the sweeper re-enqueues).
"""

from __future__ import annotations

from django.db import models

from core.models import WorkItem


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
    # No database constraint: every webhook would otherwise lock its store's row (KEY SHARE) at
    # commit, and concurrent webhooks of one store turn that lock into a new multixact each,
    # serialised on the one row. The store is looked up just before the insert, and PROTECT
    # still refuses deleting a store with inbox items (the ORM checks, through the index below).
    store = models.ForeignKey(
        "tenants.Store",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbox",
        db_index=False,
        db_constraint=False,
    )
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbox",
        db_index=False,
        help_text="The tenant a tenant-level event (a ShipStation webhook) belongs to.",
    )
    dedupe_key = models.CharField(max_length=64)
    entity = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=30, blank=True)
    entity_id = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    duplicates = models.PositiveIntegerField(
        default=0, help_text="Further deliveries of the same event, acknowledged and dropped."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Due items are found through (state, received_at): no index of its own on the inbox.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    personal_data_removed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the body was cut to the order's ids and a digest of what arrived "
        "(`inbox.minimise`); from then on a replay fetches the order from the store again.",
    )

    class Meta:
        """Every webhook is one insert, so the inbox keeps only the indexes its readers need.

        Dedupe key: the webhook's `ON CONFLICT` and duplicate counting. (state, received_at):
        the sweeper, the metrics and health figures, the needs-attention counts. received_at:
        the admin list, newest first. (store, entity_id): an order's store deliveries and the
        store's protected delete. tenant: only ShipStation rows carry one, so only they pay.
        Store-order bodies still whole after their work (ignored, or done before bodies were
        cut): the retention job's question; a done item's body is cut as it moves, so it never
        enters.
        """

        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="inbox_dedupe_key")]
        indexes = [
            models.Index(fields=["state", "received_at"], name="inbox_state_received"),
            models.Index(fields=["received_at"], name="inbox_received"),
            models.Index(fields=["store", "entity_id"], name="inbox_store_entity"),
            models.Index(
                fields=["tenant"], name="inbox_tenant", condition=models.Q(tenant__isnull=False)
            ),
            models.Index(
                fields=["received_at"],
                name="inbox_personal_data_kept",
                condition=models.Q(
                    entity="order",
                    state__in=["done", "ignored"],
                    personal_data_removed_at__isnull=True,
                ),
            ),
        ]
        permissions = [("retry_inboxitem", "Can retry an inbox item")]

    def __str__(self) -> str:
        what = f"{self.entity}.{self.action}" if self.entity else self.source
        return f"{what} {self.entity_id or ''} ({self.get_state_display()})".strip()
