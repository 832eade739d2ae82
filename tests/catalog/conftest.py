"""Prices and stock against the sandbox over HTTP: the hub's catalog services run in the test
process (the steps a worker would run), the ERP and the stores are the sandbox's fakes.

The demo tenants, stores and connection settings are committed for the module (the sandbox is
reached by its URL) and removed afterwards; each test's bindings and runs are rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context

from catalog import bindings, push, sync
from catalog.models import ItemBinding, PushBatch, StoreSync, SyncRun
from demo.seed import configure_tenant, connect_store
from integration_hub.core import work
from sandbox import demo_data
from sandbox.testing import SandboxHandle, start_sandbox
from tenants.models import Api2CartAccount, SkuOwnership, Store, StoreMembership


@dataclass
class CatalogWorld:
    sandbox: SandboxHandle
    stores: dict[str, Store]

    def store_writes(self) -> tuple[int, int]:
        """(single product updates, batch update jobs) the sandbox store has received."""
        status = self.sandbox.status()["api2cart"]
        return status["product_updates"], status["product_batch_updates"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[CatalogWorld]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("catalog-sandbox"))
    with django_db_blocker.unblock():
        account, _ = Api2CartAccount.objects.update_or_create(
            name="sandbox",
            defaults={
                "base_url": sandbox.api_url("api2cart"),
                "api_key": demo_data.API2CART_API_KEY,
            },
        )
        for tenant in demo_data.TENANTS:
            configure_tenant(tenant, sandbox.url)
        stores = {s.name: connect_store(s, account) for s in demo_data.STORES}
    try:
        yield CatalogWorld(sandbox, stores)
    finally:
        sandbox.stop()
        with django_db_blocker.unblock():
            SkuOwnership.objects.all().delete()
            StoreMembership.objects.all().delete()
            Store.objects.all().delete()
            Api2CartAccount.objects.all().delete()


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
            work.process(PushBatch, batch.pk, push.push_step)
        if open_batches.exists():
            time.sleep(0.2)  # the store's batch jobs take half a second
        elif ItemBinding.objects.filter(store=store, push_state="pending").exists():
            push.push_pending(store.pk, run.pk)
        else:
            break
    run.refresh_from_db()
    return run


def bound(store: Store) -> StoreSync:
    """The store's catalog matched by SKU and synced once in full (the starting point)."""
    bindings.match_store_catalog(store)
    drive(store, SyncRun.Mode.FULL)
    return StoreSync.objects.get(store=store)


@pytest.fixture
def acme_schema(db) -> Iterator[None]:
    with schema_context("acme"):
        yield
