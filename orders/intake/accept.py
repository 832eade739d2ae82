"""Accepting an order into the current tenant, whatever its source (webhook, poll, API, CSV).

Idempotent: a store order (store + store order id), a storeless order (source + order number) or
an API idempotency key maps to exactly one Order row; a repeat returns the existing one.

An order that arrives already done (fulfilled, cancelled, refunded) is never sent to the ERP or
ShipStation: it is kept as *history only*, or not kept at all (`arrival`), as the person
importing chose or the tenant's default says (`done_orders_policy`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core import work
from core.dispatch import dispatch
from orders.addresses import ShipTo
from orders.models import Order, OrderEvent, OrderLine
from tenant_settings.models import ConnectionSettings

SEND = ""
HISTORY = "history"
SKIP = "skip"
DONE_ORDER_POLICIES = (HISTORY, SKIP)


def done_orders_policy() -> str:
    """The tenant's default for orders that arrive already done: history only, or skip."""
    chosen = ConnectionSettings.objects.values_list("done_orders_on_arrival", flat=True).first()
    return chosen if chosen in DONE_ORDER_POLICIES else HISTORY


@dataclass(frozen=True)
class IncomingLine:
    """An order line as it arrives; the field names are `OrderLine`'s."""

    sku: str
    quantity: Decimal
    unit_price: Decimal
    name: str = ""
    store_line_id: str = ""
    discount_amount: Decimal = Decimal(0)
    tax_amount: Decimal | None = None
    tax_rate: Decimal | None = None


@dataclass(frozen=True)
class IncomingOrder:
    source: str
    store_order_id: str
    order_number: str
    lines: tuple[IncomingLine, ...]
    ship_to: ShipTo
    email: str = ""
    store_id: int | None = None
    store_customer_id: str = ""
    ordered_at: datetime | None = None
    currency: str = ""
    total: Decimal | None = None
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    discount: Decimal | None = None
    other: Decimal | None = None
    """What the total holds beyond lines − discount + shipping + tax (docs/adr-0006)."""
    prices_include_tax: bool | None = None
    money_note: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    arrived_done: str = ""
    """How the order was already done when it arrived (cancelled, refunded, fulfilled), or ""."""
    arrival: str = SEND
    """For an order that arrived done: HISTORY (kept, never sent) or SKIP (not kept if new)."""
    sales_channel_id: int | None = None
    """The shop an order file named; the order is then known by its channel and number."""
    needs_shipping: bool = True
    """False for an order with nothing to ship: it is never sent to ShipStation."""

    def with_arrival(self, lifecycle: str, policy: str) -> IncomingOrder:
        """This order as it arrives in `lifecycle`: unchanged while open, else by `policy`."""
        if not lifecycle or lifecycle == "open":
            return self
        return replace(self, arrived_done=lifecycle, arrival=policy)


def without_nul(value: Any) -> Any:
    """PostgreSQL refuses NUL characters in text and JSON; outside data may carry them.

    Walks with an explicit stack rather than recursion, so no nesting depth raises
    RecursionError (the doors limit depth too, but payloads also arrive from stores).
    """

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            return item.replace("\x00", "")
        if isinstance(item, dict):
            copy: dict[Any, Any] = {}
            pending.append((item, copy))
            return copy
        if isinstance(item, list | tuple):
            items: list[Any] = []
            pending.append((item, items))
            return items
        return item

    pending: list[tuple[Any, Any]] = []
    result = clean(value)
    while pending:
        source, target = pending.pop()
        if isinstance(target, dict):
            for key, item in source.items():
                target[clean(key)] = clean(item)
        else:
            target.extend(clean(item) for item in source)
    return result


def _existing(incoming: IncomingOrder) -> Order | None:
    if incoming.idempotency_key:
        found = Order.objects.filter(idempotency_key=incoming.idempotency_key).first()
        if found:
            return found
    return Order.objects.filter(
        store_id=incoming.store_id,
        store_order_id=incoming.store_order_id,
        **({"source": incoming.source} if incoming.store_id is None else {}),
    ).first()


def _cleaned(incoming: IncomingOrder) -> IncomingOrder:
    return replace(
        incoming,
        payload=without_nul(incoming.payload),
        ship_to=ShipTo(**without_nul(asdict(incoming.ship_to))),
        lines=tuple(
            replace(line, sku=without_nul(line.sku), name=without_nul(line.name))
            for line in incoming.lines
        ),
        order_number=without_nul(incoming.order_number),
        store_order_id=without_nul(incoming.store_order_id),
        email=without_nul(incoming.email),
    )


def _order_row(incoming: IncomingOrder, **fields: Any) -> Order:
    if incoming.arrival == HISTORY:
        fields.update(
            state=Order.State.HISTORY,
            next_attempt_at=None,
            state_message=f"Arrived already {incoming.arrived_done}: kept as history only, "
            "never sent to the ERP or ShipStation.",
        )
    return Order(
        store_id=incoming.store_id,
        source=incoming.source,
        store_order_id=incoming.store_order_id,
        order_number=incoming.order_number,
        ordered_at=incoming.ordered_at,
        customer_email=incoming.email,
        store_customer_id=incoming.store_customer_id,
        currency=incoming.currency,
        total=incoming.total,
        subtotal=incoming.subtotal,
        shipping_amount=incoming.shipping,
        tax_amount=incoming.tax,
        discount_amount=incoming.discount,
        other_amount=incoming.other,
        prices_include_tax=incoming.prices_include_tax,
        money_note=incoming.money_note,
        ship_to=asdict(incoming.ship_to),
        payload=incoming.payload,
        idempotency_key=incoming.idempotency_key,
        sales_channel_id=incoming.sales_channel_id,
        needs_shipping=incoming.needs_shipping,
        **fields,
    )


def _line_rows(order: Order, incoming: IncomingOrder) -> Iterator[OrderLine]:
    for number, line in enumerate(incoming.lines, start=1):
        yield OrderLine(
            order=order,
            line_number=number,
            sku=line.sku,
            name=line.name[:300],
            quantity=line.quantity,
            unit_price=line.unit_price,
            store_line_id=line.store_line_id,
            discount_amount=line.discount_amount,
            tax_amount=line.tax_amount,
            tax_rate=line.tax_rate,
        )


def _received_event(order: Order, incoming: IncomingOrder, actor: str) -> OrderEvent:
    message = f"Received from {order.get_source_display()} with {len(incoming.lines)} line(s)."
    if incoming.arrival == HISTORY:
        message += f" {order.state_message}"
    return OrderEvent(
        order=order,
        step="received",
        outcome=OrderEvent.Outcome.SUCCESS,
        message=message,
        upstream_ref=incoming.store_order_id,
        actor=actor,
    )


def _needs_tenant(what: str) -> None:
    if connection.schema_name == "public":
        raise RuntimeError(f"{what} needs a tenant schema.")


def accept_order(incoming: IncomingOrder, *, actor: str = "") -> tuple[Order | None, bool]:
    """Create the order with its lines and queue its processing; returns (order, created).

    A new order that arrived done with `arrival` SKIP is not created: (None, False)."""
    _needs_tenant("accept_order")
    incoming = _cleaned(incoming)
    existing = _existing(incoming)
    if existing is not None:
        return existing, False
    if incoming.arrival == SKIP:
        return None, False
    try:
        with transaction.atomic():
            order = _order_row(incoming)
            order.save(force_insert=True)
            OrderLine.objects.bulk_create(_line_rows(order, incoming))
            _received_event(order, incoming, actor).save(force_insert=True)
            if incoming.arrival != HISTORY:
                work.schedule(order)
    except IntegrityError:
        existing = _existing(incoming)
        if existing is None:
            raise
        return existing, False
    return order, True


def accept_orders(
    incomings: Sequence[IncomingOrder], *, actors: Sequence[str]
) -> list[tuple[Order | None, bool]]:
    """`accept_order` for a batch of store orders (an inbox batch's): the known ones are found
    in one query, the new ones written with a few bulk INSERTs in one transaction and scheduled
    together, after `HUB_ERP_GATHER_SECONDS` so that orders arriving meanwhile share their ERP
    calls. The same store order twice in the batch is created once. If another worker
    creates one of them meanwhile, the batch is accepted one order at a time instead.
    """
    _needs_tenant("accept_orders")
    cleaned = [_cleaned(incoming) for incoming in incomings]
    if any(incoming.idempotency_key or incoming.store_id is None for incoming in cleaned):
        return [accept_order(i, actor=a) for i, a in zip(incomings, actors, strict=True)]

    def key(incoming: IncomingOrder) -> tuple[int | None, str]:
        return incoming.store_id, incoming.store_order_id

    known = {
        (order.store_id, order.store_order_id): order
        for order in Order.objects.filter(
            store_id__in={i.store_id for i in cleaned},
            store_order_id__in={i.store_order_id for i in cleaned},
        )
    }
    new: dict[tuple, tuple[IncomingOrder, str]] = {}
    for incoming, actor in zip(cleaned, actors, strict=True):
        if key(incoming) not in known and incoming.arrival != SKIP:
            new.setdefault(key(incoming), (incoming, actor))
    if new:
        try:
            with transaction.atomic():
                created = _insert_new(
                    [incoming for incoming, _ in new.values()],
                    [actor for _, actor in new.values()],
                    timezone.now(),
                )
                work.schedule_many(
                    Order,
                    [order.pk for order in created if order.state != Order.State.HISTORY],
                    countdown=settings.HUB_ERP_GATHER_SECONDS or None,
                )
        except IntegrityError:  # created meanwhile by another worker: one at a time finds it
            return [accept_order(i, actor=a) for i, a in zip(incomings, actors, strict=True)]
        known.update(zip(new, created, strict=True))
    fresh = set(new)
    accepted = []
    for incoming in cleaned:
        accepted.append((known.get(key(incoming)), key(incoming) in fresh))
        fresh.discard(key(incoming))
    return accepted


BULK_BATCH = 1000


def accept_new_orders(
    incomings: Sequence[IncomingOrder],
    *,
    actor: str = "",
    progress: Callable[[int], None] | None = None,
) -> list[Order]:
    """Create many new orders at once (a CSV file's): a few bulk INSERTs instead of a dozen
    queries per order, each order due for the pipeline at once; after commit one message per
    `FAN_OUT` orders asks a worker to publish their pipeline messages.

    All or nothing: the caller has checked that none exists yet (and left out the ones to
    skip); one created meanwhile makes the INSERT fail with IntegrityError and nothing is
    kept. `progress` hears how many orders are written so far.
    """
    _needs_tenant("accept_new_orders")
    now = timezone.now()
    cleaned = [_cleaned(incoming) for incoming in incomings]
    orders: list[Order] = []
    with transaction.atomic():
        for start in range(0, len(cleaned), BULK_BATCH):
            batch = cleaned[start : start + BULK_BATCH]
            orders += _insert_new(batch, [actor] * len(batch), now)
            if progress:
                progress(len(orders))
        ids = [order.pk for order in orders if order.state != Order.State.HISTORY]
        for start in range(0, len(ids), FAN_OUT):
            dispatch("orders.schedule_orders", ids[start : start + FAN_OUT])
    return orders


def _insert_new(
    incomings: Sequence[IncomingOrder], actors: Sequence[str], now: datetime
) -> list[Order]:
    """Orders, their lines and their "received" events in three INSERTs; due from `now`."""
    rows = [_order_row(incoming, next_attempt_at=now) for incoming in incomings]
    Order.objects.bulk_create(rows)
    OrderLine.objects.bulk_create(
        line
        for order, incoming in zip(rows, incomings, strict=True)
        for line in _line_rows(order, incoming)
    )
    OrderEvent.objects.bulk_create(
        _received_event(order, incoming, actor)
        for order, incoming, actor in zip(rows, incomings, actors, strict=True)
    )
    return rows


FAN_OUT = 500
"""Orders per message that asks a worker to publish their pipeline messages."""


def schedule_new_orders(order_ids: list[int]) -> int:
    """Publish the pipeline messages of freshly accepted orders (a worker does this for a bulk
    intake, so thousands of messages do not hold up the import). Orders whose message is lost
    are still due: the sweeper sends them."""
    work.schedule_many(Order, order_ids)
    return len(order_ids)
