"""A store shared by two tenants: each binds and pushes only its own SKUs."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from catalog import bindings
from catalog.models import ItemBinding, PushBatch, UnmatchedProduct
from tenants.models import SkuOwnership
from tests.catalog.conftest import bound

SHARED = "northwind"


def test_each_tenant_binds_and_pushes_only_its_own_skus(world, db):
    store = world.stores[SHARED]
    for slug, prefix in (("acme", "AC-"), ("globex", "GX-")):
        with schema_context(slug):
            bound(store)
            skus = set(ItemBinding.objects.filter(store=store).values_list("sku", flat=True))
            assert skus and all(sku.startswith(prefix) for sku in skus)
            pushed = {i["sku"] for b in PushBatch.objects.filter(store=store) for i in b.items}
            assert pushed and all(sku.startswith(prefix) for sku in pushed)
            other = UnmatchedProduct.objects.filter(store=store).exclude(sku__startswith=prefix)
            assert other.exists()


def test_a_sku_claimed_by_another_tenant_is_refused_naming_the_owner(world, db):
    store = world.stores[SHARED]
    with schema_context("acme"), pytest.raises(bindings.SkuClaimRefused, match="Globex"):
        bindings.claim_sku(store, "GX-1001")
    with schema_context("globex"):
        bindings.claim_sku(store, "GX-NEW-1")
    assert SkuOwnership.objects.get(store=store, sku="GX-NEW-1").tenant.slug == "globex"
    with schema_context("acme"), pytest.raises(bindings.SkuClaimRefused, match="Globex"):
        bindings.claim_sku(store, "GX-NEW-1")
