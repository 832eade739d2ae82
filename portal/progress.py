"""Progress of this tenant's long work still running (catalog syncs, CSV imports): how far, how
fast, and when it should be done, for the front page to follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from catalog.models import SyncRun
from orders.files import importing
from orders.intake import backfill
from orders.models import Backfill, CsvImport


@dataclass(frozen=True)
class Progress:
    what: str
    url: str
    phase: str
    done: int
    total: int
    started_at: datetime | None

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0

    @property
    def rate_per_minute(self) -> float | None:
        """Items per minute since the work started; None before anything is done."""
        if not (self.started_at and self.done):
            return None
        minutes = (timezone.now() - self.started_at).total_seconds() / 60
        return self.done / minutes if minutes > 0 else None

    @property
    def time_left(self) -> timedelta | None:
        rate = self.rate_per_minute
        if not rate or self.total <= self.done:
            return None
        return timedelta(minutes=(self.total - self.done) / rate)


def running_work() -> list[Progress]:
    """Open catalog sync runs, CSV imports and backfills, oldest first."""
    work = []
    runs = SyncRun.objects.filter(state__in=[SyncRun.State.PENDING, SyncRun.State.PUSHING])
    for run in runs.select_related("store").order_by("created_at"):
        work.append(
            Progress(
                what=f"{run} · {run.store.display_name}",
                url=reverse("tenant_admin:catalog_syncrun_change", args=[run.pk]),
                phase=run.get_state_display(),
                done=run.items_done + run.items_failed,
                total=run.items_total,
                started_at=run.started_at,
            )
        )
    for upload in CsvImport.objects.filter(state=CsvImport.State.QUEUED).order_by("created_at"):
        status = importing.status(upload)
        work.append(
            Progress(
                what=f"CSV import {upload.file_name}",
                url=reverse("tenant_admin:orders_csvimport_change", args=[upload.pk]),
                phase=status["phase"],
                done=status["done"],
                total=status["total"],
                started_at=upload.created_at,
            )
        )
    importing_now = Backfill.objects.filter(state=Backfill.State.IMPORTING)
    for run in importing_now.select_related("store").order_by("created_at"):
        figures = backfill.progress(run)
        work.append(
            Progress(
                what=f"{run} · {run.store.display_name}",
                url=reverse("tenant_admin:orders_backfill_change", args=[run.pk]),
                phase=run.get_state_display(),
                done=figures.done,
                total=figures.total,
                started_at=run.started_at,
            )
        )
    return work
