"""Accepting an order into the current tenant, whatever its source (webhook, poll, API, CSV).

Idempotent: a store order (store + store order id), a storeless order (source + order number) or
an API idempotency key maps to exactly one Order row; a repeat returns the existing one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction

from integration_hub.core import work
from orders.addresses import ShipTo
from orders.models import Order, OrderEvent, OrderLine


@dataclass(frozen=True)
class IncomingLine:
    sku: str
    quantity: Decimal
    unit_price: Decimal
    name: str = ""
    store_line_id: str = ""


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
    payload: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None


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


def accept_order(incoming: IncomingOrder, *, actor: str = "") -> tuple[Order, bool]:
    """Create the order with its lines and queue its processing; returns (order, created)."""
    if connection.schema_name == "public":
        raise RuntimeError("accept_order needs a tenant schema.")
    incoming = replace(
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
    existing = _existing(incoming)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            order = Order.objects.create(
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
                ship_to=asdict(incoming.ship_to),
                payload=incoming.payload,
                idempotency_key=incoming.idempotency_key,
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    line_number=number,
                    sku=line.sku,
                    name=line.name[:300],
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    store_line_id=line.store_line_id,
                )
                for number, line in enumerate(incoming.lines, start=1)
            )
            OrderEvent.objects.create(
                order=order,
                step="received",
                outcome=OrderEvent.Outcome.SUCCESS,
                message=f"Received from {order.get_source_display()} with "
                f"{len(incoming.lines)} line(s).",
                upstream_ref=incoming.store_order_id,
                actor=actor,
            )
            work.schedule(order)
    except IntegrityError:
        existing = _existing(incoming)
        if existing is None:
            raise
        return existing, False
    return order, True
