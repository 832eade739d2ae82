"""The beat tick that drives every registered sweep job, and the core's own upkeep."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core import sweeper, work


@shared_task(name="core.sweep")
def sweep() -> dict:
    """Resend due or stuck work and start due scheduled jobs (polls, replays), in the public
    schema and the tenant schemas woken for this tick."""
    return sweeper.sweep(visit_all=settings.HUB_SWEEP_VISIT_ALL)


@shared_task(name="core.prune_attempts")
def prune_attempts() -> int:
    """Drop attempt rows past `HUB_ATTEMPT_RETENTION_DAYS` in the schema the message names."""
    return work.prune_attempts()
