"""The sweeper: PostgreSQL is the truth, Celery messages are hints.

Each app registers, in its `AppConfig.ready`, the work it owns as a `SweepJob`: a query for
what is due or stuck, and the task to send for each hit. Every beat tick runs them all, in the
public schema and in every active tenant schema, so a Redis restart, a killed worker or a crash
between commit and publish delays work but never loses it. The sweeper knows no business app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from core.dispatch import publish

logger = logging.getLogger("hub.sweeper")


@dataclass(frozen=True)
class SweepJob:
    """`find(now, stale)` returns the argument tuples of the `task` messages to send now.

    `stale` is `now` minus the grace period a fresh row's own message gets before the sweeper
    sends another.
    """

    name: str
    task: str
    in_tenants: bool
    find: Callable[[datetime, datetime], list[tuple]]


_jobs: dict[str, SweepJob] = {}

SweepReport = dict[str, dict[str, int]]


def register(job: SweepJob) -> None:
    _jobs[job.name] = job


def registered() -> list[SweepJob]:
    return list(_jobs.values())


def active_tenants() -> QuerySet:
    """Tenants that have work: active ones, never public or the provisioning template."""
    tenants = get_tenant_model().objects.filter(is_active=True, is_template=False)
    return tenants.exclude(schema_name=get_public_schema_name())


def tenant_schemas() -> Iterator[str]:
    """Active tenant schemas (never public or the provisioning template)."""
    yield from active_tenants().values_list("schema_name", flat=True)


def once_every(key: str, seconds: float) -> list[tuple]:
    """A `find` answer for a job run at most once per `seconds` in the schema in use: one
    message without arguments when the interval has passed, none otherwise (the cache key is
    per schema, and `cache.add` is atomic across processes)."""
    return [()] if cache.add(key, 1, timeout=seconds) else []


def sweep() -> SweepReport:
    """Send every registered job's due messages; returns {job name: {schema: messages}}."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.HUB_SWEEP_GRACE_SECONDS)
    report: SweepReport = {}
    public = get_public_schema_name()
    _run([job for job in _jobs.values() if not job.in_tenants], public, now, stale, report)
    tenant_jobs = [job for job in _jobs.values() if job.in_tenants]
    if tenant_jobs:
        for schema in list(tenant_schemas()):
            with schema_context(schema):
                _run(tenant_jobs, schema, now, stale, report)
    if report:
        logger.info("sweep sent %s", report)
    return report


def _run(
    jobs: list[SweepJob], schema: str, now: datetime, stale: datetime, report: SweepReport
) -> None:
    for job in jobs:
        try:
            hits = job.find(now, stale)
        except Exception:  # one broken job must not stop the others
            logger.exception("sweep job %s failed in %s", job.name, schema)
            continue
        for args in hits:
            publish(job.task, *args)
        if hits:
            report.setdefault(job.name, {})[schema] = len(hits)
