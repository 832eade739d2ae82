"""Prices and stock against the sandbox over HTTP: the hub's catalog services run in the test
process (the steps a worker would run), the ERP and the stores are the sandbox's fakes.

The world is the demo world of tests/support/demo_world.py (tenants, stores and connection
settings committed for the module, the sandbox reached by its URL), seen by the catalog;
each test's bindings and runs are rolled back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from catalog import bindings, store_push, sync
from catalog.models import ItemBinding, PushBatch, StoreSync, SyncRun
from core import work
from sandbox.testing import SandboxHandle
from tenants.models import Store
from tests.support.demo_world import DemoWorld


@dataclass
class CatalogWorld:
    sandbox: SandboxHandle
    stores: dict[str, Store]

    def store_writes(self) -> tuple[int, int]:
        """(single product updates, batch update jobs) the sandbox store has received."""
        status = self.sandbox.status()["api2cart"]
        return status["product_updates"], status["product_batch_updates"]

    @classmethod
    def of(cls, demo: DemoWorld) -> CatalogWorld:
        """The committed demo world (tenants, stores, sandbox), seen by the catalog."""
        return cls(demo.sandbox, demo.stores)


def drive(store: Store, mode: str = SyncRun.Mode.CHANGES, rounds: int = 60) -> SyncRun:
    """Run one sync as the workers would: the run, its batches, and the retries they ask for."""
    run = sync.request_run(store, mode, actor="test")
    assert run is not None
    work.process(SyncRun, run.pk, sync.run_step)
    for _ in range(rounds):
        open_batches = PushBatch.objects.filter(
            store=store, state__in=[PushBatch.State.PENDING, PushBatch.State.SUBMITTED]
        )
        for batch in open_batches:
            PushBatch.objects.filter(pk=batch.pk).update(next_attempt_at=None)
            work.process(PushBatch, batch.pk, store_push.push_step)
        if open_batches.exists():
            time.sleep(0.2)  # the store's batch jobs take half a second
        elif ItemBinding.objects.filter(store=store, push_state="pending").exists():
            store_push.push_pending(store.pk, run.pk)
        else:
            break
    run.refresh_from_db()
    return run


def bound(store: Store) -> StoreSync:
    """The store's catalog matched by SKU and synced once in full (the starting point)."""
    bindings.match_store_catalog(store)
    drive(store, SyncRun.Mode.FULL)
    return StoreSync.objects.get(store=store)
