"""The nightly run: each tenant at the hour it chose (UTC), over the default window.

The sweeper asks every active tenant each tick, but a tenant's setting is read at most once an
hour (a cache key per schema and hour), and only a tenant whose hour it is gets a run: idle
costs one cache lookup per tenant and tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache

from reconciliation.models import ReconciliationRun
from reconciliation.services import request_run
from tenant_settings.models import ConnectionSettings


def _asked_key(now: datetime) -> str:
    return f"reconciliation:nightly:{now:%Y%m%d%H}"


def next_run_due(now: datetime) -> datetime | None:
    """The start of this tenant's reconciliation hour (now, within it, until it has been
    asked this hour); None when it has no hour, so such a tenant is never visited for it."""
    hour = ConnectionSettings.objects.values_list("reconciliation_hour", flat=True).first()
    if hour is None:
        return None
    start = now.replace(hour=hour % 24, minute=0, second=0, microsecond=0)
    if start <= now < start + timedelta(hours=1) and cache.get(_asked_key(now)) is None:
        return now
    return start if start > now else start + timedelta(days=1)


def due_runs(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: today's run once this tenant's hour has come (none when it has no hour)."""
    if not cache.add(_asked_key(now), 1, timeout=3600):
        return []
    hour = ConnectionSettings.objects.values_list("reconciliation_hour", flat=True).first()
    if hour is None or hour != now.hour:
        return []
    today = ReconciliationRun.objects.filter(
        requested_by="", created_at__date=now.date(), store__isnull=True
    )
    if today.exists():
        return []
    request_run()
    return []  # `request_run` sent the run's message itself
