"""The nightly run: each tenant at the hour it chose (UTC), over the default window.

The sweeper asks every active tenant each tick, but a tenant's setting is read at most once an
hour (a cache key per schema and hour), and only a tenant whose hour it is gets a run: idle
costs one cache lookup per tenant and tick.
"""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache

from reconciliation.models import ReconciliationRun
from reconciliation.services import request_run
from tenant_settings.models import ConnectionSettings


def due_runs(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: today's run once this tenant's hour has come (none when it has no hour)."""
    if not cache.add(f"reconciliation:nightly:{now:%Y%m%d%H}", 1, timeout=3600):
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
