"""Binding store products to ERP items by SKU, and the public SKU-ownership claims.

The store catalog is read with cursor paging (`product.child_item.list`, then `product.list`):
a variant is bound by its own SKU, a product without variants by its SKU (or model). A SKU
is bound when the ERP's price list of the store has that item (the item number is the SKU) or
when a binding for it already names the ERP item. Everything else goes to the unmatched report
with the reason. On a store shared by several tenants, binding a SKU claims it in the public
SKU-ownership index used to route orders; a SKU another tenant owns is refused, naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from catalog.models import ItemBinding, StoreSync, UnmatchedProduct
from tenant_settings.connection_clients import erp_client
from tenants.activity import current_tenant
from tenants.models import SkuOwnership, Store, StoreMembership, Tenant
from tenants.store_clients import api2cart_for_store

CHUNK = 1000


class SkuClaimRefused(Exception):
    """The SKU belongs to another tenant on this shared store."""


@dataclass
class MatchReport:
    bound: int = 0
    updated: int = 0
    unmatched: int = 0
    refused: list[str] = field(default_factory=list)


def is_shared(store: Store) -> bool:
    return StoreMembership.objects.filter(store=store).count() > 1


def claim_skus(store: Store, skus: Iterable[str]) -> dict[str, str]:
    """Claim the SKUs for the current tenant on a shared store; returns {sku: refusal}."""
    skus = sorted(set(skus))
    if not skus or not is_shared(store):
        return {}
    tenant = current_tenant()
    assert tenant is not None, "SKUs are claimed from a tenant's schema"
    refused: dict[str, str] = {}
    for start in range(0, len(skus), CHUNK):
        chunk = skus[start : start + CHUNK]
        SkuOwnership.objects.bulk_create(
            [
                SkuOwnership(store=store, sku=sku, tenant_id=tenant.pk, source="catalog")
                for sku in chunk
            ],
            ignore_conflicts=True,
        )
        owners = SkuOwnership.objects.filter(store=store, sku__in=chunk).exclude(
            tenant_id=tenant.pk
        )
        names = dict(Tenant.objects.filter(owned_skus__in=owners).values_list("pk", "name"))
        for sku, owner_id in owners.values_list("sku", "tenant_id"):
            refused[sku] = (
                f"SKU {sku} on {store} belongs to {names.get(owner_id, 'another tenant')}; "
                "it cannot be bound here."
            )
    return refused


def claim_sku(store: Store, sku: str) -> None:
    """Claim one SKU; raises SkuClaimRefused naming the owner."""
    refusal = claim_skus(store, [sku]).get(sku)
    if refusal:
        raise SkuClaimRefused(refusal)


def release_skus(store: Store, skus: Iterable[str]) -> None:
    """Bindings gone: the catalog's claims on them go too (manual or demo claims stay)."""
    SkuOwnership.objects.filter(
        store=store, sku__in=list(skus), tenant=current_tenant(), source="catalog"
    ).delete()


@dataclass(frozen=True)
class Candidate:
    sku: str
    name: str
    product_id: str
    variant_id: str = ""


def match_store_catalog(store: Store) -> MatchReport:
    """Bind every store product or variant whose SKU is an ERP item of this tenant."""
    mapping, _ = StoreSync.objects.get_or_create(store=store)
    erp_items = {
        p.item_number for p in erp_client().list_prices(mapping.price_list, mapping.currency)
    }
    client = api2cart_for_store(store)
    report = MatchReport()
    UnmatchedProduct.objects.filter(store=store).delete()
    parents: set[str] = set()
    chunk: list[Candidate] = []
    for child in client.child_items():
        parents.add(child.parent_id)
        chunk.append(Candidate(child.sku, child.name, child.parent_id, child.id))
        if len(chunk) >= CHUNK:
            _bind(store, mapping, chunk, erp_items, report)
            chunk = []
    for product in client.products():
        if product.id in parents:
            continue
        chunk.append(Candidate(product.sku or product.model, product.name, product.id))
        if len(chunk) >= CHUNK:
            _bind(store, mapping, chunk, erp_items, report)
            chunk = []
    _bind(store, mapping, chunk, erp_items, report)
    return report


def _bind(
    store: Store,
    mapping: StoreSync,
    candidates: list[Candidate],
    erp_items: set[str],
    report: MatchReport,
) -> None:
    if not candidates:
        return
    existing = {
        b.sku: b
        for b in ItemBinding.objects.filter(store=store, sku__in=[c.sku for c in candidates])
    }
    unmatched: list[UnmatchedProduct] = []
    new = [c for c in candidates if c.sku and c.sku not in existing and c.sku in erp_items]
    refused = claim_skus(store, [c.sku for c in new])
    with transaction.atomic():
        for candidate in candidates:
            reason = ""
            binding = existing.get(candidate.sku)
            if not candidate.sku:
                reason = "The product has no SKU."
            elif candidate.sku in refused:
                reason = refused[candidate.sku]
                report.refused.append(reason)
            elif binding is not None:
                if (binding.store_product_id, binding.store_variant_id) != (
                    candidate.product_id,
                    candidate.variant_id,
                ):
                    ItemBinding.objects.filter(pk=binding.pk).update(
                        store_product_id=candidate.product_id,
                        store_variant_id=candidate.variant_id,
                    )
                    report.updated += 1
                continue
            elif candidate.sku not in erp_items:
                reason = (
                    f"No ERP item {candidate.sku} on price list "
                    f"{mapping.price_list}/{mapping.currency}."
                )
            else:
                try:
                    with transaction.atomic():
                        ItemBinding.objects.create(
                            store=store,
                            sku=candidate.sku,
                            erp_item_number=candidate.sku[:15],
                            store_product_id=candidate.product_id,
                            store_variant_id=candidate.variant_id,
                        )
                    report.bound += 1
                except IntegrityError:
                    reason = f"SKU {candidate.sku} appears twice in the store."
            if reason:
                report.unmatched += 1
                unmatched.append(
                    UnmatchedProduct(
                        store=store,
                        sku=candidate.sku,
                        name=candidate.name[:255],
                        store_product_id=candidate.product_id,
                        store_variant_id=candidate.variant_id,
                        reason=reason[:255],
                    )
                )
        UnmatchedProduct.objects.bulk_create(unmatched, ignore_conflicts=True)
