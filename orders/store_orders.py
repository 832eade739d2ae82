"""Store orders from the inbox: fetch the authoritative order, split it by SKU owner.

The inbox calls `ingest_store_order` for every stored `order` event (webhook, poll, replayed
failed webhook); leasing, retries and parking are the work-item core's.

A single-member store sends every line to its tenant; a shared store routes each line by the
public SKU-ownership index. A line nobody owns parks the whole store order (nothing is sent to
any ERP) until staff map the SKU and retry.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from django_tenants.utils import schema_context

from integration_hub.connectors import api2cart
from integration_hub.connectors.errors import NotFoundError
from integration_hub.core.work import GiveUp, NeedsAttention
from integration_hub.inbox.models import InboxItem
from orders.addresses import ship_to_of_store_order
from orders.intake import IncomingLine, IncomingOrder, accept_order
from orders.models import Order, OrderEvent
from tenants.models import SkuOwnership, Store, Tenant
from tenants.store_clients import api2cart_for_store


@dataclass(frozen=True)
class RoutedPart:
    tenant: Tenant
    products: tuple[api2cart.OrderProduct, ...]


class UnownedSkus(NeedsAttention):
    def __init__(self, store: Store, skus: list[str]) -> None:
        super().__init__(
            f"SKU(s) {', '.join(skus)} have no owner on store {store}.",
            hint="Map them under Platform › SKU owners, then retry this inbox item.",
        )
        self.skus = skus


def ingest_store_order(item: InboxItem) -> bool:
    """Accept each tenant's part of the store order the item names; safe to repeat."""
    store = item.store
    members = list(Tenant.objects.filter(store_memberships__store=store, is_active=True))
    if not members:
        raise NeedsAttention(
            f"Store {store} has no member tenants", hint="Add the store to a tenant first."
        )
    internal_id, order_number = _order_ids(item)
    try:
        store_order = api2cart_for_store(store).order_info(
            order_number or None, id=internal_id or None
        )
    except NotFoundError as exc:
        raise GiveUp(f"The store does not know this order: {exc}") from exc
    for part in route(store, members, store_order):
        with schema_context(part.tenant.schema_name):
            _accept_part(store, store_order, part, item)
    return True


def _order_ids(item: InboxItem) -> tuple[str, str]:
    """(internal id, store-facing order number) from the raw body, tolerant of wrappers."""
    try:
        body = json.loads(item.body) if item.body else {}
    except ValueError:
        body = {}
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        body = inner if isinstance(inner, dict) else body
    if not isinstance(body, dict):
        body = {}
    internal = str(body.get("id") or "")
    number = str(body.get("order_id") or "")
    if not (internal or number):
        internal = item.entity_id
    return internal, number


def route(store: Store, members: list[Tenant], order: api2cart.Order) -> list[RoutedPart]:
    if len(members) == 1:
        return [RoutedPart(members[0], order.products)]
    by_member = {t.pk: t for t in members}
    skus = {p.sku for p in order.products}
    owners = dict(
        SkuOwnership.objects.filter(store=store, sku__in=skus, tenant__in=members).values_list(
            "sku", "tenant_id"
        )
    )
    unowned = sorted(skus - owners.keys())
    if unowned:
        raise UnownedSkus(store, unowned)
    grouped: dict[int, list[api2cart.OrderProduct]] = defaultdict(list)
    for product in order.products:
        grouped[owners[product.sku]].append(product)
    return [RoutedPart(by_member[pk], tuple(lines)) for pk, lines in grouped.items()]


def _accept_part(store: Store, order: api2cart.Order, part: RoutedPart, item: InboxItem) -> None:
    incoming = IncomingOrder(
        source=Order.Source.POLL if item.source == InboxItem.Source.POLL else Order.Source.WEBHOOK,
        store_id=store.pk,
        store_order_id=order.id or order.order_id,
        order_number=order.order_id or order.id,
        email=order.customer.email,
        store_customer_id=order.customer.id,
        ordered_at=order.created_at,
        currency=order.currency,
        total=sum((p.total_price or (p.price or 0) * p.quantity) for p in part.products),
        ship_to=ship_to_of_store_order(order),
        lines=lines_of(part.products),
        payload=order.raw,
    )
    tenant_order, created = accept_order(incoming, actor=f"inbox #{item.pk}")
    if not created:
        seen = (
            "Polling saw the order again"
            if item.source == InboxItem.Source.POLL
            else f"The store sent {item.entity or 'order'}.{item.action or 'event'}"
        )
        OrderEvent.objects.create(
            order=tenant_order,
            step="store_update",
            message=f"{seen} (store status: {order.status_name or 'unknown'}); "
            "already known, nothing created.",
            upstream_ref=incoming.store_order_id,
        )


def lines_of(products: tuple[api2cart.OrderProduct, ...]) -> tuple[IncomingLine, ...]:
    return tuple(
        IncomingLine(sku=p.sku, name=p.name[:300], quantity=p.quantity, unit_price=p.price or 0)
        for p in products
    )
