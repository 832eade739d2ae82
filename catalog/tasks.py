"""Tenant tasks of the catalog area (thin: the work is in the services)."""

from __future__ import annotations

from dataclasses import asdict

from catalog import bindings, store_push, sync
from catalog.models import PushBatch, SyncRun
from core import work
from core.tenant_tasks import tenant_task
from tenants.models import Store


@tenant_task(name=sync.RUN_TASK)
def run_sync(run_id: int) -> str:
    return work.process(SyncRun, run_id, sync.run_step)


@tenant_task(name=store_push.PUSH_TASK)
def push_batch(batch_id: int) -> str:
    return work.process(PushBatch, batch_id, store_push.push_step)


@tenant_task(name=store_push.PENDING_TASK)
def push_pending(store_id: int, run_id: int | None = None) -> tuple[int, int]:
    return store_push.push_pending(store_id, run_id)


@tenant_task(name="catalog.match_store_catalog")
def match_store_catalog(store_id: int) -> dict:
    store = Store.objects.select_related("account").get(pk=store_id)
    report = bindings.match_store_catalog(store)
    if report.bound:
        sync.request_run(store, SyncRun.Mode.FULL, actor="catalog match")
    return asdict(report)
