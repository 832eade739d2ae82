"""Flow 5: ERP prices and stock reach the stores, only what changed, in batches, per tenant."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import ItemBinding, PushBatch, StoreSync, SyncRun
from tenants.store_clients import api2cart_for_store
from tests.support.catalog import bound, drive

pytestmark = pytest.mark.usefixtures("acme_schema")
OUTLET = "acme-outlet"
B = ItemBinding.PushState


def store_product(world, sku: str):
    client = api2cart_for_store(world.stores[OUTLET])
    binding = ItemBinding.objects.get(store=world.stores[OUTLET], sku=sku)
    if binding.store_variant_id:
        return client.child_item_info(binding.store_product_id, binding.store_variant_id)
    return client.product_info(binding.store_product_id)


def test_set_price_and_set_stock_reach_exactly_those_products_and_a_second_run_pushes_nothing(
    world,
):
    store = world.stores[OUTLET]
    mapping = bound(store)
    assert ItemBinding.objects.filter(store=store).count() > 100
    assert not ItemBinding.objects.filter(store=store).exclude(push_state=B.IN_SYNC).exists()
    singles, jobs = world.store_writes()

    world.sandbox.control("m3", "set-price", sku="AC-1003", amount="12.34")
    world.sandbox.control("m3", "set-stock", sku="AC-1001-M", warehouse="110", qty=7)
    run = drive(store)

    assert run.state == SyncRun.State.DONE
    assert (run.items_total, run.items_done, run.items_failed) == (2, 2, 0)
    sent = [item for b in PushBatch.objects.filter(run=run) for item in b.items]
    assert sorted(item["sku"] for item in sent) == ["AC-1001-M", "AC-1003"]
    assert world.store_writes() == (singles, jobs + 2)  # one product job, one variant job
    assert store_product(world, "AC-1003").price == Decimal("12.34")
    variant = ItemBinding.objects.get(store=store, sku="AC-1001-M")
    assert variant.erp_stock["110"] == "7"
    expected = sum(Decimal(q) for q in variant.erp_stock.values()) - mapping.safety_stock
    assert store_product(world, "AC-1001-M").quantity == expected
    assert variant.pushed_quantity == int(expected)

    again = drive(store)
    assert again.state == SyncRun.State.DONE
    assert again.items_total == 0
    assert world.store_writes() == (singles, jobs + 2)


def test_mapping_rounds_prices_and_keeps_safety_stock_back(world):
    store = world.stores[OUTLET]
    mapping = bound(store)
    StoreSync.objects.filter(pk=mapping.pk).update(
        rounding=StoreSync.Rounding.NINETY_NINE, safety_stock=5, warehouses="100"
    )
    world.sandbox.control("m3", "set-price", sku="AC-1005", amount="20.40")
    world.sandbox.control("m3", "set-stock", sku="AC-1005", warehouse="100", qty=3)
    drive(store, SyncRun.Mode.FULL)

    binding = ItemBinding.objects.get(store=store, sku="AC-1005")
    assert binding.pushed_price == Decimal("19.99")
    assert binding.pushed_quantity == 0  # 3 available in 100 (110 not mapped), less 5 kept back
    assert store_product(world, "AC-1005").price == Decimal("19.99")


def test_a_refused_item_is_retried_then_reported_with_the_stores_words(world):
    store = world.stores[OUTLET]
    bound(store)
    message = "Product AC-1007-GRE is locked by the marketplace."
    world.sandbox.control("api2cart", "refuse-updates", skus=["AC-1007-GRE"], message=message)
    try:
        world.sandbox.control("m3", "set-price", sku="AC-1007-GRE", amount="31.00")
        world.sandbox.control("m3", "set-price", sku="AC-1007-BLA", amount="32.00")
        run = drive(store)
    finally:
        world.sandbox.control("api2cart", "refuse-updates", clear=True)

    refused = ItemBinding.objects.get(store=store, sku="AC-1007-GRE")
    assert refused.push_state == B.FAILED
    assert refused.push_failures == 3
    assert message in refused.push_error
    tries = [
        b
        for b in PushBatch.objects.filter(run=run)
        if any(i["sku"] == "AC-1007-GRE" for i in b.items)
    ]
    assert len(tries) == 3
    assert ItemBinding.objects.get(store=store, sku="AC-1007-BLA").push_state == B.IN_SYNC
    assert (run.state, run.items_done, run.items_failed) == (SyncRun.State.DONE, 1, 1)


def test_a_change_the_watermark_moved_past_is_caught_by_the_full_reconciliation(world):
    store = world.stores[OUTLET]
    mapping = bound(store)
    StoreSync.objects.filter(pk=mapping.pk).update(watermark=timezone.now() + timedelta(hours=1))
    world.sandbox.control("m3", "set-price", sku="AC-1006-S", amount="44.44")

    missed = drive(store)
    assert missed.items_total == 0
    assert ItemBinding.objects.get(store=store, sku="AC-1006-S").pushed_price != Decimal("44.44")

    caught = drive(store, SyncRun.Mode.FULL)
    assert caught.items_total == 1
    assert ItemBinding.objects.get(store=store, sku="AC-1006-S").pushed_price == Decimal("44.44")
    assert store_product(world, "AC-1006-S").price == Decimal("44.44")


def test_a_store_without_batch_methods_gets_single_updates(world):
    store = world.stores[OUTLET]
    bound(store)
    world.sandbox.control("api2cart", "store-settings", store=OUTLET, profile="basic")
    try:
        StoreSync.objects.filter(store=store).update(batch_updates=None)
        singles, jobs = world.store_writes()
        world.sandbox.control("m3", "set-price", sku="AC-1011", amount="15.15")
        run = drive(store)
    finally:
        world.sandbox.control("api2cart", "store-settings", store=OUTLET, profile="clean")
    assert run.items_done == 1
    assert world.store_writes() == (singles + 1, jobs)
    assert StoreSync.objects.get(store=store).batch_updates is False


def test_a_full_reconciliation_with_nothing_changed_writes_nothing(world):
    store = world.stores[OUTLET]
    bound(store)
    writes = world.store_writes()
    run = drive(store, SyncRun.Mode.FULL)
    assert run.erp_rows > 100
    assert (run.changed, run.items_total) == (0, 0)
    assert world.store_writes() == writes
