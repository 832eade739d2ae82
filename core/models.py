"""Work items as data: every unit of background work is a row that is leased, retried and kept.

`WorkItem` is the abstract base of every flow's unit of work (an inbox item, a tenant order, a
CSV import, ...); `WorkAttempt` is one row per attempt, in the spirit of Saleor's
EventDeliveryAttempt, so a person can see what was tried, when, for how long and what the
upstream said. The functions that act on them are in `core.work`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models


class WorkItem(models.Model):
    """Leasing, retry and error fields shared by every kind of work item.

    The concrete model keeps its own `state` field with its own choices; which of those states
    mean "a worker has something to do", "needs attention" and "failed" is declared when the
    kind is registered (`core.work.register`).
    """

    attempts = models.PositiveIntegerField(
        default=0, help_text="Failed attempts since the last success or manual retry."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_holder = models.CharField(
        max_length=100, blank=True, help_text="The worker process holding the lease."
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_hint = models.TextField(blank=True, help_text="What a person can do about it.")
    failing_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The first failed attempt since the last success or manual retry; the retry "
        "schedule gives up a set time after it.",
    )
    failing_upstream = models.CharField(
        max_length=20,
        blank=True,
        default="",
        db_default="",  # rows inserted by hand-written SQL (the webhook hot path) get it too
        help_text="The upstream the last failed attempt was with; while its circuit breaker is "
        "open the item waits.",
    )

    class Meta:
        abstract = True

    @property
    def retrying_until(self) -> datetime | None:
        """When a failing item's retries end (None when it is not failing): for pages."""
        from core.work import retrying_until  # the work core builds on these models

        return retrying_until(self)


class WorkAttempt(models.Model):
    """One attempt at one work item: when, how long, what happened and the upstream's words."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRY = "retry", "Failed, will retry"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed for good"

    kind = models.CharField(max_length=60, help_text="The work item's model, e.g. orders.order.")
    item_id = models.BigIntegerField()
    number = models.PositiveIntegerField(help_text="Attempt number since the last success.")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    upstream = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "item_id", "started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.item_id} attempt {self.number}: {self.get_outcome_display()}"


class SchemaWakeUp(models.Model):
    """A wake-up, "visit this tenant schema at `due_at`": the sweeper's index of where work waits.

    Lives in the public schema only (its migration creates the table there), so every schema's
    writers reach the one table through the search path. Append-only: a writer INSERTs a row in
    the transaction that creates or leases the work it announces, so the row and the work
    become visible together and no writer ever waits on another's row; the sweeper deletes the
    rows that are due and visits their schemas (`core.sweeper`, docs/adr-0014-idle-tenants.md).
    """

    schema_name = models.CharField(max_length=63)
    due_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="wakeup_due"),
            models.Index(fields=["schema_name", "due_at"], name="wakeup_schema_due"),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name} at {self.due_at:%Y-%m-%d %H:%M:%S}"
