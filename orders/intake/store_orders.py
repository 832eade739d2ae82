"""Store orders from the inbox: fetch the authoritative order, split it by SKU owner.

The inbox calls `ingest_store_orders` with a batch's stored `order` events (webhook, poll,
replayed failed webhook); leasing, retries and parking are the work-item core's.

A single-member store sends every line to its tenant; a shared store routes each line by the
public SKU-ownership index. A line nobody owns, or a line with no SKU at all (not even on its
variant), parks the whole store order (nothing is sent to any ERP) until staff fix it and retry.
Each part carries its own lines, its own subtotal and a share of the order's shipping, tax and
discount (`orders.money.split_money`, docs/adr-0006-order-money.md).
"""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import islice
from typing import Any

from django_tenants.utils import schema_context

from connectors import api2cart
from connectors.errors import NotFoundError, PermanentError
from core.work import GiveUp, NeedsAttention
from inbox.minimise import is_minimised
from inbox.models import InboxItem
from inbox.polling import poll_dedupe_key
from orders.addresses import ship_to_of_store_order
from orders.changes.detection import note_store_version
from orders.changes.versions import OPEN, store_lifecycle
from orders.intake.accept import IncomingLine, IncomingOrder, accept_orders, done_orders_policy
from orders.models import Order, OrderEvent
from orders.money import LineMoney, PartMoney, StoreMoney, split_money, store_money_of
from tenants.models import SkuOwnership, Store, StoreOrderPart, Tenant, sku_key
from tenants.store_clients import api2cart_for_store
from tenants.store_order_parts import record_parts


@dataclass(frozen=True)
class RoutedPart:
    tenant: Tenant
    indexes: tuple[int, ...]
    """Positions of this part's lines in the store order's `products`."""

    def products(self, order: api2cart.Order) -> tuple[api2cart.OrderProduct, ...]:
        return tuple(order.products[n] for n in self.indexes)


class UnownedSkus(NeedsAttention):
    def __init__(self, store: Store, skus: list[str]) -> None:
        super().__init__(
            f"SKU(s) {', '.join(skus)} have no owner on store {store}.",
            hint="Map them under Platform › SKU owners, then retry this inbox item.",
        )
        self.skus = skus


class LinesWithoutSku(NeedsAttention):
    def __init__(self, store: Store, order: api2cart.Order, lines: list[str]) -> None:
        super().__init__(
            f"Order {order.order_id or order.id} on store {store} has line(s) without a SKU: "
            f"{'; '.join(lines)}.",
            hint="Neither the line nor its variant carries a SKU. Give the product a SKU in "
            "the store, then retry this inbox item.",
        )


@dataclass(frozen=True)
class AcceptedPart:
    """One tenant's part of one inbox item's store order, ready for `accept_orders`."""

    item: InboxItem
    order: api2cart.Order
    incoming: IncomingOrder
    tenant_id: int


def ingest_store_orders(items: list[InboxItem]) -> dict[int, bool | Exception]:
    """Accept each tenant's part of the store orders the items name; safe to repeat.

    The webhooks' store orders are fetched together, each is routed on its own, and each
    tenant's parts are accepted together (`accept_orders`). Returns each item's result, or the
    exception it failed with."""
    results: dict[int, bool | Exception] = {}
    parts: dict[str, list[AcceptedPart]] = defaultdict(list)
    stores: dict[int, tuple[Store, list[Tenant]]] = {}
    fetched = _fetch_together(items, stores)
    for item in items:
        try:
            for tenant, part in _parts_of(item, stores, fetched.get(item.pk)):
                parts[tenant.schema_name].append(part)
        except Exception as exc:  # this item's own outcome; the work-item core sorts it out
            results[item.pk] = exc
    _record_shared_parts(parts)
    for schema, accepted in parts.items():
        with schema_context(schema):
            results.update(_accept_parts(accepted))
    return {item.pk: results.get(item.pk, True) for item in items}


def _record_shared_parts(parts: dict[str, list[AcceptedPart]]) -> None:
    """A store order split between tenants keeps its parts' progress in public, so its store
    status is written once, when every part is done (`tenants.store_order_parts`)."""
    tenants: dict[tuple[int, str], set[int]] = defaultdict(set)
    history: set[tuple[int, str]] = set()
    for accepted in parts.values():
        for part in accepted:
            key = (part.incoming.store_id, part.incoming.store_order_id)
            tenants[key].add(part.tenant_id)
            if _lifecycle(part.order) != OPEN:
                history.add(key)
    for (store_id, store_order_id), ids in tenants.items():
        if len(ids) > 1:
            arrived_done = (store_id, store_order_id) in history
            state = StoreOrderPart.State.HISTORY if arrived_done else StoreOrderPart.State.ROUTED
            record_parts(store_id, store_order_id, ids, state=state)


def _store_of(item: InboxItem, stores: dict[int, tuple[Store, list[Tenant]]]) -> Store:
    """The item's store and its member tenants, read once per batch."""
    if item.store_id not in stores:
        store = Store.objects.select_related("account").get(pk=item.store_id)
        members = list(Tenant.objects.filter(store_memberships__store=store, is_active=True))
        stores[item.store_id] = (store, members)
    return stores[item.store_id][0]


FETCH_THREADS = 5
"""Store calls of one batch in flight at once: API2Cart allows 5 per store (10 per account),
and the shared limiter (`connectors.ratelimit`) holds any call beyond that until a slot frees,
for at most its `max_wait`, then fails it as retryable."""

Fetched = api2cart.Order | Exception
OrderIds = tuple[str, str]
"""(internal id, store-facing order number) of a webhook's order."""


def _fetch_together(
    items: list[InboxItem], stores: dict[int, tuple[Store, list[Tenant]]]
) -> dict[int, Fetched]:
    """The store orders of a batch's webhooks, fetched with overlapping calls.

    Webhooks carry little more than ids; a poll hit holds its order already. A store's orders
    come in one `order.list` by internal ids; an order alone on its store (or named by its
    number only), one the list does not return (or cannot read), and all of a store's when the
    platform refuses the list come by `order.info`, which says why. The calls run on a few
    threads at once, each with its own client; a call's failure is each of its items' error
    (an outage, to retry; `_parts_of` reads a missing or unreadable order). Reading stores and
    writing results stay on this thread, the only one that touches the database.
    """
    wanted: dict[int, dict[OrderIds, list[InboxItem]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        if item.store_id is not None and not _is_poll_hit(item):
            try:
                _store_of(item, stores)
            except Store.DoesNotExist:
                continue  # `_parts_of` fails this item alone
            wanted[item.store_id][_order_ids(item)].append(item)
    fetched: dict[int, Fetched] = {}
    if not wanted:
        return fetched
    with ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix="fetch") as pool:
        lists, alone = [], []
        for store_id, by_ids in wanted.items():
            store = stores[store_id][0]
            listed: dict[str, list[InboxItem]] = defaultdict(list)
            for (internal_id, _), waiting in by_ids.items():
                if internal_id:
                    listed[internal_id] += waiting
            if len(listed) > 1:
                lists.append((pool.submit(_listed_orders, store, list(listed)), listed))
            alone += [
                (pool.submit(_order_info, store, ids), waiting)
                for ids, waiting in by_ids.items()
                if len(listed) < 2 or not ids[0]
            ]
        for future, listed in lists:
            answer = _answer(future)
            if isinstance(answer, PermanentError):
                continue  # the platform refuses the list (the `ids` filter, say): order.info
            if isinstance(answer, Exception):
                fetched.update({item.pk: answer for w in listed.values() for item in w})
                continue
            for order in answer:
                fetched.update({item.pk: order for item in listed.get(order.id, [])})
        for future, waiting in alone:
            fetched.update(dict.fromkeys((item.pk for item in waiting), _answer(future)))
        again = [
            (pool.submit(_order_info, stores[store_id][0], ids), waiting)
            for store_id, by_ids in wanted.items()
            for ids, waiting in by_ids.items()
            if waiting[0].pk not in fetched
        ]
        for future, waiting in again:
            fetched.update(dict.fromkeys((item.pk for item in waiting), _answer(future)))
    return fetched


def _answer(future: Future) -> Any:
    """The call's answer, or the exception it raised (its items' error)."""
    try:
        return future.result()
    except Exception as exc:  # each waiting item's error; the work-item core sorts it out
        return exc


def _listed_orders(store: Store, internal_ids: list[str]) -> list[api2cart.Order]:
    """`order.list` by internal ids (on a fetch thread: no database)."""
    client = api2cart_for_store(store)
    # Never more than asked for: a platform ignoring the filter is not read to its end.
    orders = []
    for row in islice(client.order_rows(ids=internal_ids), len(internal_ids)):
        try:
            orders.append(api2cart.Order.from_api(row))
        except api2cart.UnreadableOrder:
            continue  # fetched alone by order.info, which says why
    return orders


def _order_info(store: Store, ids: OrderIds) -> api2cart.Order:
    """`order.info` by internal id or number (on a fetch thread: no database)."""
    internal_id, order_number = ids
    return api2cart_for_store(store).order_info(order_number or None, id=internal_id or None)


def _parts_of(
    item: InboxItem,
    stores: dict[int, tuple[Store, list[Tenant]]],
    fetched: Fetched | None,
) -> list[tuple[Tenant, AcceptedPart]]:
    store = _store_of(item, stores)
    members = stores[item.store_id][1]
    if not members:
        raise NeedsAttention(
            f"Store {store} has no member tenants", hint="Add the store to a tenant first."
        )
    internal_id, order_number = _order_ids(item)
    client = api2cart_for_store(store)
    try:
        if isinstance(fetched, Exception):
            raise fetched
        store_order = (
            fetched
            or _polled_order(item)
            or client.order_info(order_number or None, id=internal_id or None)
        )
    except NotFoundError as exc:
        raise GiveUp(f"The store does not know this order: {exc}") from exc
    except api2cart.UnreadableOrder as exc:
        raise NeedsAttention(
            f"The store's order {order_number or internal_id} cannot be read: {exc}",
            hint="The platform sent the order in a shape the hub does not know; check the "
            "order in the store, then retry this inbox item.",
        ) from exc
    store_order = client.with_variant_skus(store_order)
    missing = [
        f"line {number} {line.label}"
        for number, line in enumerate(store_order.products, start=1)
        if not line.sku
    ]
    if missing:
        raise LinesWithoutSku(store, store_order, missing)
    source = Order.Source.POLL if item.source == InboxItem.Source.POLL else Order.Source.WEBHOOK
    return [
        (tenant, AcceptedPart(item, store_order, incoming, tenant.pk))
        for tenant, incoming in store_order_parts(store, members, store_order, source)
    ]


def store_order_parts(
    store: Store, members: list[Tenant], order: api2cart.Order, source: str
) -> list[tuple[Tenant, IncomingOrder]]:
    """Each member tenant's part of a store order (routed by SKU owner), with its own lines and
    share of the money, ready to accept; raises `UnownedSkus` for a line nobody owns."""
    routed = route(store, members, order)
    money = store_money_of(order)
    shares = split_money(money, [part.indexes for part in routed])
    whole = len(routed) == 1
    return [
        (part.tenant, _incoming(store, order, part, money, share, source, whole=whole))
        for part, share in zip(routed, shares, strict=True)
    ]


def versions_held(store: Store, polled: list[api2cart.Order]) -> set[str]:
    """The poll keys of the polled versions a member tenant keeps as its store order's
    snapshot (`Order.payload`), so the poll does not turn them into work a second time.

    Only a snapshot of the whole order can match: a part of an order split between tenants
    holds its own lines and money, so such an order is still polled in (and found a repeat).
    One query per member tenant.
    """
    references = {ref for order in polled for ref in (order.id, order.order_id) if ref}
    schemas = Tenant.objects.filter(store_memberships__store=store, is_active=True).values_list(
        "schema_name", flat=True
    )
    held: set[str] = set()
    for schema in schemas:
        with schema_context(schema):
            payloads = Order.objects.filter(
                store_id=store.pk,
                store_order_id__in=references,
                personal_data_removed_at__isnull=True,
            ).values_list("payload", flat=True)
            for payload in payloads:
                try:
                    held.add(poll_dedupe_key(store.pk, api2cart.Order.from_api(payload)))
                except api2cart.UnreadableOrder:
                    continue
    return held


def _polled_order(item: InboxItem) -> api2cart.Order | None:
    """A poll hit holds the whole order as `order.list` answered it: no second call needed.

    Webhooks carry little more than ids, so their order is fetched (`order.info`).
    """
    if not _is_poll_hit(item):
        return None
    try:
        raw = json.loads(item.body)
    except ValueError:
        return None
    return api2cart.Order.from_api(raw) if isinstance(raw, dict) else None


def _is_poll_hit(item: InboxItem) -> bool:
    """A poll item whose body still holds the order (a minimised body holds only its ids)."""
    return item.source == InboxItem.Source.POLL and bool(item.body) and not is_minimised(item)


def _order_ids(item: InboxItem) -> tuple[str, str]:
    """(internal id, store-facing order number) from the raw body, as the API2Cart connector
    reads webhook bodies (`read_webhook_body`: wrappers, one-element arrays); the stored entity
    id when the body names neither."""
    try:
        ids = api2cart.read_webhook_body(item.body)
    except ValueError:
        ids = api2cart.WebhookIds()
    internal, number = ids.internal_id, ids.order_number
    if not (internal or number):
        internal = item.entity_id
    return internal, number


def route(store: Store, members: list[Tenant], order: api2cart.Order) -> list[RoutedPart]:
    if len(members) == 1:
        return [RoutedPart(members[0], tuple(range(len(order.products))))]
    by_member = {t.pk: t for t in members}
    keys = {sku_key(p.sku) for p in order.products}
    owners = dict(
        SkuOwnership.objects.filter(store=store, sku_key__in=keys, tenant__in=members).values_list(
            "sku_key", "tenant_id"
        )
    )
    unowned = sorted({p.sku for p in order.products if sku_key(p.sku) not in owners})
    if unowned:
        raise UnownedSkus(store, unowned)
    grouped: dict[int, list[int]] = defaultdict(list)
    for number, product in enumerate(order.products):
        grouped[owners[sku_key(product.sku)]].append(number)
    return [RoutedPart(by_member[pk], tuple(lines)) for pk, lines in grouped.items()]


def part_payload(
    order: api2cart.Order, part: RoutedPart, money: PartMoney, *, whole: bool
) -> dict[str, Any]:
    """The store order as this tenant may keep it: its own lines and money, nobody else's.

    A line whose SKU came from its variant carries that SKU in `model`, so a replay from the
    payload routes it the same way. A one-part order keeps the store's own totals.
    """
    raw = dict(order.raw)
    raw_lines = api2cart.entries(raw.get("order_products"))
    kept = []
    for number, (raw_line, line) in enumerate(zip(raw_lines, order.products, strict=False)):
        if number in part.indexes:
            copied = dict(raw_line) if isinstance(raw_line, dict) else {}
            if not copied.get("model"):
                copied["model"] = line.sku
            kept.append(copied)
    raw["order_products"] = kept
    if whole:
        return raw
    raw["bundles"] = []
    raw["totals"] = {
        "total": float(money.total),
        "subtotal": float(money.subtotal),
        "shipping": float(money.shipping),
        "tax": float(money.tax),
        "discount": float(money.discount),
    }
    raw["total"] = {
        "subtotal_ex_tax": float(money.subtotal),
        "shipping_ex_tax": float(money.shipping),
        "total_tax": float(money.tax),
        "total_discount": float(money.discount),
        "total": float(money.total),
    }
    return raw


def _incoming(
    store: Store,
    order: api2cart.Order,
    part: RoutedPart,
    money: StoreMoney,
    share: PartMoney,
    source: str,
    *,
    whole: bool,
) -> IncomingOrder:
    return IncomingOrder(
        source=source,
        store_id=store.pk,
        store_order_id=order.reference,
        order_number=order.order_id or order.id,
        email=order.customer.email,
        store_customer_id=order.customer.id,
        ordered_at=order.created_at,
        currency=order.currency,
        total=share.total,
        subtotal=share.subtotal,
        shipping=share.shipping,
        tax=share.tax,
        discount=share.discount,
        other=share.rest,
        prices_include_tax=money.prices_include_tax,
        money_note=money.note,
        ship_to=ship_to_of_store_order(order),
        lines=lines_of(order, part.indexes, money),
        payload=part_payload(order, part, share, whole=whole),
    )


def _accept_parts(parts: list[AcceptedPart]) -> dict[int, Exception]:
    """Accept one tenant's parts together; a store order it already had gets a timeline note.

    When the batch cannot be written together (one order the database refuses, say), each part
    is accepted on its own, so only the item whose order is refused fails. Returns the failed
    items' errors (a part already accepted is found again when its item is retried).
    """
    parts = _as_known(parts)
    try:
        _accept_together(parts)
    except Exception:
        failed: dict[int, Exception] = {}
        for part in parts:
            try:
                _accept_together([part])
            except Exception as exc:  # this item's own outcome; the work-item core sorts it out
                failed[part.item.pk] = exc
        return failed
    return {}


def _accept_together(parts: list[AcceptedPart]) -> None:
    """New store orders are created (as history only, or not at all, when they arrive already
    done); a known one is compared with the version kept, and a repeat gets a timeline note."""
    policy = done_orders_policy()
    accepted = accept_orders(
        [part.incoming.with_arrival(_lifecycle(part.order), policy) for part in parts],
        actors=[f"inbox #{part.item.pk}" for part in parts],
    )
    repeats = []
    for part, (tenant_order, created) in zip(parts, accepted, strict=True):
        if tenant_order is None or created:
            continue
        if not note_store_version(tenant_order, part.incoming.payload, seen=_seen(part.item)):
            repeats.append((part, tenant_order))
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=tenant_order,
            step="store_update",
            message=f"{_seen(part.item)} (store status: {part.order.status_name or 'unknown'}); "
            "already known, no change.",
            upstream_ref=part.incoming.store_order_id,
        )
        for part, tenant_order in repeats
    )


def _lifecycle(order: api2cart.Order) -> str:
    return store_lifecycle(
        order.status_name or order.status_id, order.financial_status, order.fulfillment_status
    )


def _seen(item: InboxItem) -> str:
    if item.source == InboxItem.Source.POLL:
        return "Polling saw the order again"
    return f"The store sent {item.entity or 'order'}.{item.action or 'event'}"


def _as_known(parts: list[AcceptedPart]) -> list[AcceptedPart]:
    """Each part keyed as this tenant knows its store order: by `id` (`order.reference`), or
    by `order_id` where an answer without `id` (earlier, or in the same batch) keyed it so. The
    same store order then never becomes a second tenant order when another answer carries the
    `id`. One query."""
    both = [p for p in parts if p.order.id and p.order.order_id]
    if not both:
        return parts
    known = set(
        Order.objects.filter(
            store_id__in={p.incoming.store_id for p in both},
            store_order_id__in={k for p in both for k in (p.order.id, p.order.order_id)},
        ).values_list("store_id", "store_order_id", "order_number")
    )
    by_id = {(store, key) for store, key, _ in known}
    by_number = {(store, key) for store, key, number in known if key == number}
    # An answer without `id` in this very batch keys its order by number too.
    by_number |= {(p.incoming.store_id, p.order.order_id) for p in parts if not p.order.id}
    keyed = []
    for part in parts:
        store, order = part.incoming.store_id, part.order
        if order.id and (store, order.order_id) in by_number and (store, order.id) not in by_id:
            part = replace(part, incoming=replace(part.incoming, store_order_id=order.order_id))
        keyed.append(part)
    return keyed


def lines_of(
    order: api2cart.Order,
    indexes: tuple[int, ...] | None = None,
    money: StoreMoney | None = None,
) -> tuple[IncomingLine, ...]:
    """The store order's lines (those at `indexes`, else all) as the store reports them, with
    each line's tax and discount as the money module reads them (`orders.money`)."""
    money = money or store_money_of(order)
    chosen = range(len(order.products)) if indexes is None else indexes
    return tuple(_line_of(order.products[n], money.lines[n]) for n in chosen)


def _line_of(product: api2cart.OrderProduct, money: LineMoney) -> IncomingLine:
    return IncomingLine(
        sku=product.sku,
        name=product.name[:300],
        quantity=product.quantity,
        unit_price=product.price if product.price is not None else _unit_of(product),
        store_line_id=product.order_product_id,
        discount_amount=money.discount,
        tax_amount=money.tax,
        tax_rate=money.tax_rate,
    )


def _unit_of(product: api2cart.OrderProduct) -> Decimal:
    """A line with no unit price: its total over its quantity."""
    if product.total_price is None or not product.quantity:
        return Decimal(0)
    return (product.total_price / product.quantity).quantize(Decimal("0.0001"))
