"""From an inbox item to tenant orders: fetch the authoritative order, split it by SKU owner.

A single-member store sends every line to its tenant; a shared store routes each line by the
public SKU-ownership index. A line nobody owns parks the whole store order (nothing is sent to
any ERP) until staff map the SKU and retry.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from integration_hub.connectors import api2cart
from integration_hub.connectors.errors import NotFoundError, PermanentError, RetryableError
from integration_hub.core.retry import backoff_seconds, claim, max_attempts
from integration_hub.inbox.models import InboxItem
from orders.intake import IncomingLine, IncomingOrder, ShipTo, accept_order
from orders.models import Order, OrderEvent
from tenants.activity import record_activity
from tenants.models import SkuOwnership, Store, Tenant
from tenants.upstreams import api2cart_for_store

logger = logging.getLogger("hub.routing")
ORDER_ENTITIES = {"order"}


@dataclass(frozen=True)
class RoutedPart:
    tenant: Tenant
    products: tuple[api2cart.OrderProduct, ...]


class UnownedSkus(Exception):
    def __init__(self, skus: list[str]) -> None:
        super().__init__(", ".join(skus))
        self.skus = skus


def ingest_inbox_item(item_id: int) -> str:
    """Process one inbox item; safe to call any number of times, concurrently."""
    if not claim(InboxItem, item_id, state=InboxItem.State.PENDING):
        return "skipped"
    item = InboxItem.objects.select_related("store__account").get(pk=item_id)
    item.attempts += 1
    try:
        outcome = _ingest(item)
    except RetryableError as exc:
        return _retry_later(item, exc)
    except UnownedSkus as exc:
        return _park(item, InboxItem.State.NEEDS_ATTENTION, _unowned_message(item.store, exc))
    except NotFoundError as exc:
        return _park(item, InboxItem.State.FAILED, f"The store does not know this order: {exc}")
    except PermanentError as exc:
        return _park(item, InboxItem.State.NEEDS_ATTENTION, f"{exc} — {exc.hint}")
    except Exception as exc:
        # A bug or a database refusal must not leave the item leased and silent for ever.
        logger.exception("inbox item %s: unexpected error", item.pk)
        return _retry_later(item, RetryableError(f"Unexpected error: {exc!r}"))
    _finish(item, InboxItem.State.DONE if outcome else InboxItem.State.IGNORED, "")
    return "done" if outcome else "ignored"


def _ingest(item: InboxItem) -> bool:
    if item.entity and item.entity not in ORDER_ENTITIES:
        return False
    store = item.store
    if store is None:
        return False
    members = list(Tenant.objects.filter(store_memberships__store=store, is_active=True))
    if not members:
        raise PermanentError(
            f"Store {store} has no member tenants", hint="Add the store to a tenant first."
        )
    internal_id, order_number = _order_ids(item)
    client = api2cart_for_store(store)
    store_order = client.order_info(order_number or None, id=internal_id or None)
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
        raise UnownedSkus(unowned)
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
        ship_to=ship_to_of(order),
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


def ship_to_of(order: api2cart.Order) -> ShipTo:
    address = order.shipping_address
    return ShipTo(
        name=f"{address.first_name} {address.last_name}".strip(),
        company=address.company,
        street1=address.address1,
        street2=address.address2,
        city=address.city,
        state=address.state,
        postal_code=address.postcode,
        country=address.country,
        phone=address.phone,
    )


def lines_of(products: tuple[api2cart.OrderProduct, ...]) -> tuple[IncomingLine, ...]:
    return tuple(
        IncomingLine(sku=p.sku, name=p.name[:300], quantity=p.quantity, unit_price=p.price or 0)
        for p in products
    )


def _unowned_message(store: Store | None, exc: UnownedSkus) -> str:
    return (
        f"SKU(s) {', '.join(exc.skus)} have no owner on store {store}. Map them under "
        "Platform › SKU owners, then retry this inbox item."
    )


def _retry_later(item: InboxItem, exc: RetryableError) -> str:
    if item.attempts >= max_attempts():
        return _park(item, InboxItem.State.FAILED, f"Gave up after {item.attempts} attempts: {exc}")
    from integration_hub.inbox.tasks import process_inbox_item

    delay = backoff_seconds(item.attempts, exc.retry_after)
    InboxItem.objects.filter(pk=item.pk).update(
        attempts=item.attempts,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        lease_until=None,
        last_error=str(exc),
    )
    process_inbox_item.apply_async((item.pk,), countdown=delay)
    logger.info("inbox item %s will retry in %.1fs: %s", item.pk, delay, exc)
    return "retry"


def _park(item: InboxItem, state: str, message: str) -> str:
    _finish(item, state, message)
    record_activity(
        "inbox.needs_attention" if state == InboxItem.State.NEEDS_ATTENTION else "inbox.failed",
        actor="worker",
        obj=item,
        outcome="failure",
        message=message,
    )
    return state


def _finish(item: InboxItem, state: str, message: str) -> None:
    with transaction.atomic():
        InboxItem.objects.filter(pk=item.pk).update(
            state=state,
            attempts=item.attempts,
            lease_until=None,
            next_attempt_at=None,
            last_error=message,
            processed_at=timezone.now(),
        )
