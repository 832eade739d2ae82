"""Long work on the front page: done / total, rate and time left, refreshed by itself."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from catalog.models import SyncRun
from orders.models import CsvImport
from tests.portal.test_dashboards import store_of


def test_a_running_sync_shows_how_far_how_fast_and_how_long(acme_admin, acme):
    store = store_of(acme)
    with schema_context("acme"):
        SyncRun.objects.create(
            store=store, mode=SyncRun.Mode.FULL, state=SyncRun.State.PUSHING,
            items_total=100, items_done=38, items_failed=2,
            started_at=timezone.now() - timedelta(minutes=2),
        )  # fmt: skip
        SyncRun.objects.create(store=store, state=SyncRun.State.DONE, items_total=5, items_done=5)
        CsvImport.objects.create(uploaded_by="ops", file_name="june.csv", content=b"", rows=250)
    page = acme_admin.get("/admin/")
    work = page.context["orders"].long_work
    assert [(w.done, w.total) for w in work] == [(40, 100), (0, 250)]
    sync = work[0]
    assert sync.percent == 40
    assert 19 < sync.rate_per_minute < 21
    assert timedelta(minutes=2, seconds=50) < sync.time_left < timedelta(minutes=3, seconds=10)
    html = page.content.decode()
    assert 'id="long-work" data-live-refresh="5"' in html
    assert "40 / 100 (40 %)" in html and "about 3 min left" in html
    assert "CSV import june.csv" in html


def test_nothing_running_says_so(acme_admin, acme):
    page = acme_admin.get("/admin/")
    assert page.context["orders"].long_work == []
    assert b"Nothing long is running" in page.content
    assert b'id="long-work" data-live-refresh="30"' in page.content
