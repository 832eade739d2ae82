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
from tenants.activity import current_tenant, record_activity
from tenants.models import ActivityEvent, SkuOwnership, Store, StoreMembership, sku_key
from tenants.store_clients import api2cart_for_store

CHUNK = 1000


class SkuClaimRefused(Exception):
    """The SKU belongs to another tenant on this shared store."""


REFUSED = "SKU {sku} on {store} belongs to another tenant of this store; it cannot be bound here."
NOT_CLAIMED = (
    "On a shared store a product is written only once the store's catalog shows it carries a "
    "SKU this tenant owns: match the store's catalog (Store syncs › Match products by SKU)."
)


@dataclass
class MatchReport:
    bound: int = 0
    updated: int = 0
    unmatched: int = 0
    refused: list[str] = field(default_factory=list)


def is_shared(store: Store) -> bool:
    return StoreMembership.objects.filter(store=store).count() > 1


def claim_skus(store: Store, skus: Iterable[str]) -> dict[str, str]:
    """Claim the SKUs for the current tenant on a shared store; returns {sku: refusal}.

    SKUs are compared case-insensitively (`sku_key`); every claim and refusal is audited.
    """
    by_key: dict[str, str] = {}
    for sku in skus:
        by_key.setdefault(sku_key(sku), sku)
    if not by_key or not is_shared(store):
        return {}
    tenant = current_tenant()
    assert tenant is not None, "SKUs are claimed from a tenant's schema"
    keys = sorted(by_key)
    refused: dict[str, str] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        SkuOwnership.objects.bulk_create(
            [
                SkuOwnership(
                    store=store, sku=by_key[key], sku_key=key, tenant_id=tenant.pk, source="catalog"
                )
                for key in chunk
            ],
            ignore_conflicts=True,
        )
        owners = SkuOwnership.objects.filter(store=store, sku_key__in=chunk).exclude(
            tenant_id=tenant.pk
        )
        for key in owners.values_list("sku_key", flat=True):
            refused[by_key[key]] = REFUSED.format(sku=by_key[key], store=store)
    _audit_claims(store, sorted(by_key.values()), sorted(refused))
    return refused


def _audit_claims(store: Store, asked: list[str], refused: list[str]) -> None:
    """One activity row per claim request (and one for its refusals), naming the SKUs."""
    refused_set = set(refused)
    kept = [sku for sku in asked if sku not in refused_set]
    if kept:
        record_activity(
            "catalog.sku_claimed",
            obj=store,
            message=f"{len(kept)} SKU(s) owned on {store}: {_some(kept)}",
        )
    if refused:
        record_activity(
            "catalog.sku_claim_refused",
            obj=store,
            outcome=ActivityEvent.Outcome.FAILURE,
            message=f"{len(refused)} SKU(s) owned by another tenant of {store}: {_some(refused)}",
        )


def _some(skus: list[str], shown: int = 20) -> str:
    more = f" and {len(skus) - shown} more" if len(skus) > shown else ""
    return ", ".join(skus[:shown]) + more


def claim_sku(store: Store, sku: str) -> None:
    """Claim one SKU; raises SkuClaimRefused."""
    refusal = claim_skus(store, [sku]).get(sku)
    if refusal:
        raise SkuClaimRefused(refusal)


def release_skus(store: Store, skus: Iterable[str]) -> None:
    """Bindings gone: the catalog's claims on them go too (manual or demo claims stay)."""
    SkuOwnership.objects.filter(
        store=store,
        sku_key__in=[sku_key(sku) for sku in skus],
        tenant=current_tenant(),
        source="catalog",
    ).delete()


def note_store_products(store: Store, found: list[Candidate]) -> None:
    """The store's catalog says which product carries each of this tenant's SKUs: note it on
    the tenant's claims, taking the product from any claim the store now contradicts."""
    if not found:
        return
    tenant = current_tenant()
    products = {(c.product_id, c.variant_id): sku_key(c.sku) for c in found}
    with transaction.atomic():
        claims = SkuOwnership.objects.select_for_update().filter(
            store=store, store_product_id__in={pid for pid, _ in products}
        )
        stale = [
            row.pk
            for row in claims
            if products.get((row.store_product_id, row.store_variant_id), row.sku_key)
            != row.sku_key
        ]
        SkuOwnership.objects.filter(pk__in=stale).update(store_product_id="", store_variant_id="")
        mine = SkuOwnership.objects.select_for_update().filter(
            store=store, tenant=tenant, sku_key__in=set(products.values())
        )
        by_key = {key: product for product, key in products.items()}
        changed = []
        for row in mine:
            product_id, variant_id = by_key[row.sku_key]
            if (row.store_product_id, row.store_variant_id) != (product_id, variant_id):
                row.store_product_id, row.store_variant_id = product_id, variant_id
                changed.append(row)
        SkuOwnership.objects.bulk_update(changed, ["store_product_id", "store_variant_id"])


def foreign_items(store: Store, items: list[dict]) -> dict[int, str]:
    """Push items (`push._item`) this tenant may not write on a shared store: {index: reason}.

    An item may be sent only when the tenant's claim on its SKU names the very store product
    the item writes, so a binding can never reach a product carrying another tenant's SKU.
    """
    if not items or not is_shared(store):
        return {}
    targets = [_target(item) for item in items]
    claims = set(
        SkuOwnership.objects.filter(
            store=store,
            tenant=current_tenant(),
            store_product_id__in={product_id for product_id, _ in targets},
        ).values_list("sku_key", "store_product_id", "store_variant_id")
    )
    return {
        index: NOT_CLAIMED
        for index, (item, target) in enumerate(zip(items, targets, strict=True))
        if (sku_key(item.get("sku", "")), *target) not in claims
    }


def _target(item: dict) -> tuple[str, str]:
    """(product id, variant id) a push item writes."""
    if "product_id" in item:
        return str(item["product_id"]), str(item["id"])
    return str(item["id"]), ""


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
    shared = is_shared(store)
    UnmatchedProduct.objects.filter(store=store).delete()
    parents: set[str] = set()
    chunk: list[Candidate] = []
    for child in client.child_items():
        parents.add(child.parent_id)
        chunk.append(Candidate(child.sku, child.name, child.parent_id, child.id))
        if len(chunk) >= CHUNK:
            _bind(store, mapping, chunk, erp_items, report, shared)
            chunk = []
    for product in client.products():
        if product.id in parents:
            continue
        chunk.append(Candidate(product.sku or product.model, product.name, product.id))
        if len(chunk) >= CHUNK:
            _bind(store, mapping, chunk, erp_items, report, shared)
            chunk = []
    _bind(store, mapping, chunk, erp_items, report, shared)
    return report


def _bind(
    store: Store,
    mapping: StoreSync,
    candidates: list[Candidate],
    erp_items: set[str],
    report: MatchReport,
    shared: bool,
) -> None:
    """Bind one chunk of the store's catalog. On a shared store the tenant claims the SKUs it
    binds (new and already bound), and products whose SKU another tenant owns are left out of
    the unmatched report: their names and ids are that tenant's business."""
    if not candidates:
        return
    existing = {
        b.sku: b
        for b in ItemBinding.objects.filter(store=store, sku__in=[c.sku for c in candidates])
    }
    wanted = [c.sku for c in candidates if c.sku and (c.sku in existing or c.sku in erp_items)]
    refused = claim_skus(store, wanted)
    others = _owned_by_others(store, candidates) if shared else set()
    unmatched: list[UnmatchedProduct] = []
    found: list[Candidate] = []
    with transaction.atomic():
        for candidate in candidates:
            binding = existing.get(candidate.sku)
            if candidate.sku in refused:
                report.refused.append(refused[candidate.sku])
                if binding is not None:
                    _refuse_binding(binding, refused[candidate.sku])
                continue
            if binding is not None:
                report.updated += _point_at(binding, candidate)
                found.append(candidate)
                continue
            if sku_key(candidate.sku) in others:
                continue
            reason = _bind_new(store, mapping, candidate, erp_items)
            if reason:
                report.unmatched += 1
                unmatched.append(_unmatched(store, candidate, reason))
            else:
                report.bound += 1
                found.append(candidate)
        UnmatchedProduct.objects.bulk_create(unmatched, ignore_conflicts=True)
    if shared:
        note_store_products(store, found)


def _owned_by_others(store: Store, candidates: list[Candidate]) -> set[str]:
    keys = {sku_key(c.sku) for c in candidates if c.sku}
    return set(
        SkuOwnership.objects.filter(store=store, sku_key__in=keys)
        .exclude(tenant=current_tenant())
        .values_list("sku_key", flat=True)
    )


def _refuse_binding(binding: ItemBinding, reason: str) -> None:
    """A binding whose SKU another tenant owns writes nothing more to the store."""
    ItemBinding.objects.filter(pk=binding.pk).update(
        store_product_id="",
        store_variant_id="",
        push_state=ItemBinding.PushState.FAILED,
        push_error=reason,
    )


def _point_at(binding: ItemBinding, candidate: Candidate) -> int:
    """The binding names the product the store's catalog shows for its SKU; 1 if it moved.

    A binding whose pushes were refused for want of that product claim is pushed again now that
    the match has made it.
    """
    if binding.push_state == ItemBinding.PushState.FAILED and binding.push_error == NOT_CLAIMED:
        ItemBinding.objects.filter(pk=binding.pk).update(
            push_state=ItemBinding.PushState.PENDING, push_error="", push_failures=0
        )
    if (binding.store_product_id, binding.store_variant_id) == (
        candidate.product_id,
        candidate.variant_id,
    ):
        return 0
    ItemBinding.objects.filter(pk=binding.pk).update(
        store_product_id=candidate.product_id, store_variant_id=candidate.variant_id
    )
    return 1


def _bind_new(store: Store, mapping: StoreSync, candidate: Candidate, erp_items: set[str]) -> str:
    """Create the binding; returns why not, or an empty string."""
    if not candidate.sku:
        return "The product has no SKU."
    if candidate.sku not in erp_items:
        return f"No ERP item {candidate.sku} on price list {mapping.price_list}/{mapping.currency}."
    try:
        with transaction.atomic():
            ItemBinding.objects.create(
                store=store,
                sku=candidate.sku,
                erp_item_number=candidate.sku[:15],
                store_product_id=candidate.product_id,
                store_variant_id=candidate.variant_id,
            )
    except IntegrityError:
        return f"SKU {candidate.sku} appears twice in the store."
    return ""


def _unmatched(store: Store, candidate: Candidate, reason: str) -> UnmatchedProduct:
    return UnmatchedProduct(
        store=store,
        sku=candidate.sku,
        name=candidate.name[:255],
        store_product_id=candidate.product_id,
        store_variant_id=candidate.variant_id,
        reason=reason[:255],
    )
