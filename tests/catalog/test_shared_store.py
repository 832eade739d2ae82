"""A store shared by two tenants: each binds and pushes only its own SKUs and products.

The attacks tried here are the ones a tenant admin or catalog manager of one tenant can reach:
the binding form, a forged binding row, a SKU claimed in another letter case, and the
unmatched report as a source of another tenant's product ids.
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from catalog import bindings, store_push
from catalog.models import ItemBinding, PushBatch, UnmatchedProduct
from core import work
from orders.intake.store_orders import route
from tenants.models import ActivityEvent, SkuOwnership, Tenant, sku_key
from tenants.store_clients import api2cart_for_store
from tests.support.catalog import bound

SHARED = "northwind"
B = ItemBinding.PushState


def globex_product(store) -> ItemBinding:
    """One of Globex's pushed product bindings on the shared store (the victim)."""
    with schema_context("globex"):
        bound(store)
        return ItemBinding.objects.filter(
            store=store, store_variant_id="", pushed_price__isnull=False
        ).first()


def test_each_tenant_binds_and_pushes_only_its_own_skus(world, db):
    store = world.stores[SHARED]
    product_ids = {}
    for slug, prefix in (("acme", "AC-"), ("globex", "GX-")):
        with schema_context(slug):
            bound(store)
            skus = set(ItemBinding.objects.filter(store=store).values_list("sku", flat=True))
            assert skus and all(sku.startswith(prefix) for sku in skus)
            pushed = {i["sku"] for b in PushBatch.objects.filter(store=store) for i in b.items}
            assert pushed and all(sku.startswith(prefix) for sku in pushed)
            product_ids[slug] = set(
                ItemBinding.objects.filter(store=store).values_list("store_product_id", flat=True)
            )
    for slug, other, prefix in (("acme", "globex", "GX-"), ("globex", "acme", "AC-")):
        with schema_context(slug):
            bindings.match_store_catalog(store)
            shown = UnmatchedProduct.objects.filter(store=store)
            assert not shown.filter(sku__startswith=prefix).exists()
            assert not shown.filter(store_product_id__in=product_ids[other]).exists()
    claims = SkuOwnership.objects.filter(store=store).exclude(store_product_id="")
    assert not (
        set(claims.filter(tenant__slug="acme").values_list("store_product_id", flat=True))
        & set(claims.filter(tenant__slug="globex").values_list("store_product_id", flat=True))
    )


def test_a_sku_claimed_by_another_tenant_is_refused_in_any_letter_case(world, db):
    store = world.stores[SHARED]
    for sku in ("GX-1001", "gx-1001", " Gx-1001 "):
        with schema_context("acme"), pytest.raises(bindings.SkuClaimRefused) as refused:
            bindings.claim_sku(store, sku)
        assert "another tenant" in str(refused.value)
        assert "Globex" not in str(refused.value)
    with schema_context("globex"):
        bindings.claim_sku(store, "GX-NEW-1")
    assert SkuOwnership.objects.get(store=store, sku_key="gx-new-1").tenant.slug == "globex"
    with schema_context("acme"), pytest.raises(bindings.SkuClaimRefused):
        bindings.claim_sku(store, "gx-new-1")
    refusals = ActivityEvent.objects.filter(
        action="catalog.sku_claim_refused", tenant__slug="acme", message__icontains="gx-new-1"
    )
    assert refusals.count() == 1
    assert ActivityEvent.objects.filter(
        action="catalog.sku_claimed", tenant__slug="globex", message__contains="GX-NEW-1"
    ).exists()


def test_order_lines_route_to_the_owner_whatever_the_letter_case(world, db):
    store = world.stores[SHARED]
    members = list(Tenant.objects.filter(slug__in=["acme", "globex"]))
    lines = (SimpleNamespace(sku="gx-1001"), SimpleNamespace(sku="AC-1001 "))
    order = SimpleNamespace(products=lines)
    parts = route(store, members, order)
    assert {part.tenant.slug: [line.sku for line in part.products(order)] for part in parts} == {
        "globex": ["gx-1001"],
        "acme": ["AC-1001 "],
    }


def test_the_binding_form_cannot_point_a_binding_at_another_tenants_product(world, acme_admin):
    store = world.stores[SHARED]
    victim = globex_product(store)
    response = acme_admin.post(
        "/admin/catalog/itembinding/add/",
        {"store": store.pk, "sku": "AC-FORGED", "erp_item_number": "AC-1001",
         "store_product_id": victim.store_product_id, "store_variant_id": ""},
    )  # fmt: skip
    assert response.status_code == 302
    with schema_context("acme"):
        forged = ItemBinding.objects.get(store=store, sku="AC-FORGED")
        assert forged.store_product_id == ""
        bound(store)  # the store's catalog has no AC-FORGED: still no product, nothing sent
        forged.refresh_from_db()
        assert forged.store_product_id == ""
        sent = {i["id"] for b in PushBatch.objects.filter(store=store) for i in b.items}
        assert victim.store_product_id not in sent
    store_side = api2cart_for_store(store).product_info(victim.store_product_id)
    assert store_side.price == victim.pushed_price


def test_a_forged_binding_is_refused_at_send_time_and_the_store_is_untouched(world, db):
    store = world.stores[SHARED]
    victim = globex_product(store)
    client = api2cart_for_store(store)
    before = client.product_info(victim.store_product_id)
    writes = world.store_writes()
    with schema_context("acme"):
        bound(store)
        writes = world.store_writes()
        bindings.claim_sku(store, "AC-FORGED")
        forged = ItemBinding.objects.create(
            store=store, sku="AC-FORGED", erp_item_number="AC-1001",
            store_product_id=victim.store_product_id, price=Decimal("0.01"), quantity=0,
            push_state=B.PENDING,
        )  # fmt: skip
        store_push.queue_pushes(store, None)
        batch = PushBatch.objects.get(store=store, state=PushBatch.State.PENDING)
        work.process(PushBatch, batch.pk, store_push.push_step)
        batch.refresh_from_db()
        forged.refresh_from_db()
    assert batch.state == PushBatch.State.DONE and batch.items == []
    assert forged.push_state == B.FAILED
    assert "match the store's catalog" in forged.push_error
    assert world.store_writes() == writes
    after = client.product_info(victim.store_product_id)
    assert (after.price, after.quantity) == (before.price, before.quantity)


def test_one_store_product_has_one_owner_and_the_stores_catalog_settles_disputes(world, db):
    store = world.stores[SHARED]
    victim = globex_product(store)
    product = {"store_product_id": victim.store_product_id, "store_variant_id": ""}
    with schema_context("acme"):
        bindings.claim_sku(store, "AC-FORGED")
    forged = SkuOwnership.objects.filter(store=store, sku_key="ac-forged")
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.update(**product)

    # A claim made before the index knew products (or by hand) names Globex's product ...
    SkuOwnership.objects.filter(store=store, sku_key=sku_key(victim.sku)).update(
        store_product_id="", store_variant_id=""
    )
    forged.update(**product)
    # ... and Globex's next match, reading the store, takes it back.
    with schema_context("globex"):
        bindings.match_store_catalog(store)
    assert forged.get().store_product_id == ""
    owner = SkuOwnership.objects.get(store=store, sku_key=sku_key(victim.sku))
    assert (owner.tenant.slug, owner.store_product_id) == ("globex", victim.store_product_id)


def test_after_the_upgrade_claims_name_their_bound_products_and_a_match_frees_refused_items(
    world, db
):
    """Claims made before products were claimed: the migration fills them from the bindings,
    and a binding refused meanwhile is pushed again once a match has made its claim."""
    migration = importlib.import_module("catalog.migrations.0004_claim_bound_store_products")
    store = world.stores[SHARED]
    with schema_context("acme"):
        bound(store)
        binding = ItemBinding.objects.filter(store=store, store_variant_id="").first()
    claims = SkuOwnership.objects.filter(store=store, tenant__slug="acme")
    claims.update(store_product_id="", store_variant_id="")  # as the upgrade leaves them
    with schema_context("acme"):
        migration.claim_bound_products(django_apps, None)
    claim = claims.get(sku_key=sku_key(binding.sku))
    assert claim.store_product_id == binding.store_product_id
    with schema_context("acme"):
        bound_products = ItemBinding.objects.filter(store=store).exclude(store_product_id="")
        assert claims.exclude(store_product_id="").count() == bound_products.count()

    claims.update(store_product_id="", store_variant_id="")
    with schema_context("acme"):
        ItemBinding.objects.filter(pk=binding.pk).update(
            price=binding.price + 1, push_state=B.PENDING
        )
        store_push.queue_pushes(store, None)
        batch = PushBatch.objects.get(store=store, state=PushBatch.State.PENDING)
        work.process(PushBatch, batch.pk, store_push.push_step)
        binding.refresh_from_db()
        assert (binding.push_state, binding.push_error) == (B.FAILED, bindings.NOT_CLAIMED)
        bindings.match_store_catalog(store)
        binding.refresh_from_db()
        assert binding.push_state == B.PENDING
    assert claims.get(sku_key=sku_key(binding.sku)).store_product_id == binding.store_product_id
