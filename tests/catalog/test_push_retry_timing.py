"""When a catalog push's items left pending go out again: the work-item core decides, as for
every retry (`core.work.backoff_seconds` for the item's failures), not a policy of the catalog's.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from catalog import store_push
from catalog.models import ItemBinding, PushBatch
from tenants.models import Api2CartAccount, Store

B = ItemBinding.PushState


@pytest.fixture
def store(acme) -> Store:
    account = Api2CartAccount.objects.create(name="retry-timing", api_key="k")
    return Store.objects.create(
        name="retry-timing", display_name="Retry timing", platform="Shopify",
        url="https://shop.example", account=account, store_key="k",
    )  # fmt: skip


@pytest.fixture
def dispatched(monkeypatch) -> list[tuple[tuple, dict]]:
    sent: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(store_push, "dispatch", lambda *args, **kwargs: sent.append((args, kwargs)))
    return sent


def one_item_batch(store: Store, failures: int) -> PushBatch:
    binding = ItemBinding.objects.create(
        store=store, sku="RT-1", erp_item_number="RT-1", store_product_id="501",
        price=Decimal("10.00"), push_state=B.QUEUED, push_failures=failures,
    )  # fmt: skip
    batch = PushBatch.objects.create(
        store=store,
        kind=PushBatch.Kind.PRODUCTS,
        items=[{"binding": binding.pk, "sku": "RT-1", "id": "501", "price": "10.00"}],
    )
    ItemBinding.objects.filter(pk=binding.pk).update(batch=batch)
    return batch


@pytest.mark.parametrize(("failures_before", "seconds"), [(0, 2.0), (1, 4.0)])
def test_a_refused_item_goes_out_again_after_the_cores_backoff_for_its_failures(
    store, dispatched, monkeypatch, failures_before: int, seconds: float
):
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the top of the jitter
    failures = failures_before + 1

    with schema_context("acme"):
        batch = one_item_batch(store, failures_before)
        store_push.settle(batch, [store_push.Outcome(0, False, "locked by the marketplace")])
        binding = ItemBinding.objects.get(sku="RT-1")

    assert (binding.push_state, binding.push_failures) == (B.PENDING, failures)
    assert dispatched == [((store_push.PENDING_TASK, store.pk, None), {"countdown": seconds})]


def test_an_item_out_of_attempts_is_not_sent_again(store, dispatched):
    with schema_context("acme"):
        batch = one_item_batch(store, store_push.ITEM_ATTEMPTS - 1)
        store_push.settle(batch, [store_push.Outcome(0, False, "locked by the marketplace")])
        binding = ItemBinding.objects.get(sku="RT-1")

    assert (binding.push_state, binding.push_failures) == (B.FAILED, store_push.ITEM_ATTEMPTS)
    assert dispatched == []
