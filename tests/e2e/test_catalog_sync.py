"""Done when: a price set in the ERP shows in the store after "sync now", pushed by a real
worker, in the sandbox's status and in the run history; the beat starts the first sync itself."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from catalog.bindings import match_store_catalog
from catalog.models import ItemBinding, PushBatch, StoreSync, SyncRun, UnmatchedProduct
from catalog.sync import request_run
from tenants.models import SkuOwnership
from tenants.store_clients import api2cart_for_store
from tests.support.catalog import CatalogWorld
from tests.support.harness import HubProcesses, hub_env, wait_until

OUTLET = "acme-outlet"


@pytest.fixture(scope="module")
def world(demo_world) -> CatalogWorld:
    return CatalogWorld.of(demo_world)


@pytest.fixture(scope="module")
def workers(world, django_db_blocker, tmp_path_factory) -> Iterator[HubProcesses]:
    """Two worker processes and beat on the tests' Redis; the acme-outlet catalog bound."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    with django_db_blocker.unblock(), schema_context("acme"):
        StoreSync.objects.create(store=world.stores[OUTLET], interval_minutes=1)
        match_store_catalog(world.stores[OUTLET])
    processes = HubProcesses(
        hub_env(connection.settings_dict, settings.REDIS_URL),
        tmp_path_factory.mktemp("catalog-hub"),
    )
    processes.start_worker(concurrency=2)
    processes.start_beat()
    yield processes
    processes.stop_all()
    with django_db_blocker.unblock():
        with schema_context("acme"):
            for model in (ItemBinding, PushBatch, SyncRun, UnmatchedProduct, StoreSync):
                model.objects.all().delete()
        SkuOwnership.objects.filter(source="catalog").delete()


def finished_runs(**filters) -> list[SyncRun]:
    with schema_context("acme"):
        return list(SyncRun.objects.filter(state=SyncRun.State.DONE, **filters))


def test_the_schedule_syncs_and_sync_now_pushes_a_new_price_at_once(world, workers, live_db):
    store = world.stores[OUTLET]
    [first] = wait_until(lambda: finished_runs(mode=SyncRun.Mode.FULL), timeout=90)
    assert first.requested_by == "" and first.items_done > 100  # started by the beat

    before = world.sandbox.status()["api2cart"]["product_batch_updates"]
    world.sandbox.control("m3", "set-price", sku="AC-1012", amount="12.34")
    with schema_context("acme"):
        run = request_run(store, SyncRun.Mode.CHANGES, actor="ops@acme.test")
    done = wait_until(lambda: finished_runs(pk=run.pk), timeout=60)[0]

    assert (done.items_total, done.items_done) == (1, 1)
    assert world.sandbox.status()["api2cart"]["product_batch_updates"] == before + 1
    with schema_context("acme"):
        product_id = ItemBinding.objects.get(store=store, sku="AC-1012").store_product_id
    assert api2cart_for_store(store).product_info(product_id).price == Decimal("12.34")
