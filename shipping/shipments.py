"""Recording shipments from ShipStation and the ERP, and the order's shipping state.

Every source (a SHIP_NOTIFY webhook, the ShipStation poll, the ERP delivery poll) ends in
`record`: one `Shipment` per (origin, source id), whatever the number of deliveries of the
news. Quantities are capped at what is still unshipped, so a label and an ERP delivery of the
same goods never ship a line twice at the store. The order is *partially shipped* until every
line's quantity has shipped, then *shipped*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from connectors import shipstation as ss
from core import keys, work
from orders import state
from orders.models import Order, OrderEvent, OrderLine
from shipping.models import Shipment, ShipmentLine

logger = logging.getLogger("hub.shipping")
OrderState = Order.State
SHIPPABLE = (OrderState.IN_ERP, OrderState.SENT_TO_SHIPSTATION, OrderState.PARTIALLY_SHIPPED)
"""Orders whose shipments move them to *partially shipped* or *shipped*."""


@dataclass(frozen=True)
class Reported:
    """A shipment as its source reports it; `lines` None means every unshipped line."""

    origin: str
    source_id: str
    carrier_code: str = ""
    service: str = ""
    tracking_numbers: tuple[str, ...] = ()
    shipped_on: date | None = None
    voided: bool = False
    lines: tuple[tuple[OrderLine, Decimal], ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def record(order: Order, reported: Reported) -> Shipment:
    """Keep the shipment once; a repeat only applies a void. Safe to call concurrently."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        existing = (
            Shipment.objects.select_for_update()
            .filter(origin=reported.origin, source_id=reported.source_id)
            .first()
        )
        if existing is not None:
            if reported.voided and not existing.voided:
                _void(existing, order)
            return existing
        if reported.voided:
            return Shipment.objects.create(
                order=order,
                **_fields(reported),
                state=Shipment.State.NOTHING_TO_POST,
                note="The label was voided before the hub saw it; nothing is posted.",
            )
        lines = _capped(order, reported.lines)
        problem = _why_not_posted(order, lines)
        shipment = Shipment.objects.create(
            order=order,
            **_fields(reported),
            state=Shipment.State.NOTHING_TO_POST if problem else Shipment.State.PENDING,
            note=problem,
        )
        ShipmentLine.objects.bulk_create(
            ShipmentLine(shipment=shipment, order_line=line, quantity=quantity)
            for line, quantity in lines
        )
        if not problem:
            work.schedule_many(Shipment, [shipment.pk])
        if lines:
            _advance_order(order, shipment, lines)
    return shipment


def _fields(reported: Reported) -> dict[str, Any]:
    return {
        "origin": reported.origin,
        "source_id": reported.source_id,
        "carrier_code": reported.carrier_code[:60],
        "service": reported.service[:60],
        "tracking_numbers": [t for t in reported.tracking_numbers if t],
        "shipped_on": reported.shipped_on,
        "voided": reported.voided,
        "raw": reported.raw,
    }


def unshipped(order: Order) -> dict[int, Decimal]:
    """Each line's quantity not yet covered by a shipment that was not voided."""
    shipped = dict(
        ShipmentLine.objects.filter(shipment__order=order, shipment__voided=False)
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values_list("order_line", "total")
    )
    return {
        line.pk: max(line.quantity - shipped.get(line.pk, Decimal(0)), Decimal(0))
        for line in order.lines.all()
    }


def _capped(
    order: Order, wanted: tuple[tuple[OrderLine, Decimal], ...] | None
) -> list[tuple[OrderLine, Decimal]]:
    left = unshipped(order)
    lines = {line.pk: line for line in order.lines.all()}
    if wanted is None:
        wanted = tuple((line, left[line.pk]) for line in lines.values())
    capped = []
    for line, quantity in wanted:
        take = min(quantity, left.get(line.pk, Decimal(0)))
        if take > 0:
            left[line.pk] -= take
            capped.append((lines[line.pk], take))
    return capped


def _why_not_posted(order: Order, lines: list[tuple[OrderLine, Decimal]]) -> str:
    if not lines:
        return "Every line in it had already shipped; nothing is posted."
    if order.store_id is None:
        return "The order did not come from a store; nothing is posted."
    missing = [str(line.line_number) for line, _ in lines if not line.store_line_id]
    if missing:
        return f"Line(s) {', '.join(missing)} carry no store line id; nothing is posted."
    return ""


def _advance_order(
    order: Order, shipment: Shipment, lines: list[tuple[OrderLine, Decimal]]
) -> None:
    """Partially shipped until every line has shipped, then shipped; the timeline says which."""
    done = not any(unshipped(order).values())
    tracking = ", ".join(shipment.tracking_numbers) or "no tracking number"
    what = "; ".join(
        f"line {line.line_number} × {quantity.normalize()}" for line, quantity in lines
    )
    message = f"{shipment}: {what} ({shipment.carrier_code or 'carrier unknown'}, {tracking})."
    target = OrderState.SHIPPED if done else OrderState.PARTIALLY_SHIPPED
    if order.state in SHIPPABLE and state.can_move(order, target):
        state.move(order, target, message=message, upstream_ref=shipment.source_id)
        return
    OrderEvent.objects.create(
        order=order,
        step="shipment",
        outcome=OrderEvent.Outcome.INFO,
        message=message,
        upstream_ref=shipment.source_id,
    )


def _void(shipment: Shipment, order: Order) -> None:
    """Voided before posting: nothing goes to the store. After: a person must correct the store."""
    fields: dict[str, Any] = {"voided": True}
    if shipment.state == Shipment.State.POSTED:
        message = (
            f"The label was voided after store shipment {shipment.store_shipment_id} was "
            "posted; correct the shipment in the store."
        )
        fields |= {
            "state": Shipment.State.NEEDS_ATTENTION,
            "last_error": message,
            "last_error_hint": "The hub does not delete store shipments by itself.",
        }
    else:
        message = "The label was voided before it was posted to the store; nothing is posted."
        fields |= {"state": Shipment.State.NOTHING_TO_POST, "next_attempt_at": None}
    fields["note"] = message
    Shipment.objects.filter(pk=shipment.pk).update(**fields)
    OrderEvent.objects.create(
        order=order,
        step="shipment_voided",
        outcome=OrderEvent.Outcome.WARNING,
        message=f"{shipment}: {message}",
        upstream_ref=shipment.source_id,
    )


# --- ShipStation ------------------------------------------------------------------------------


def order_of_shipstation(shipment: ss.Shipment) -> Order | None:
    """The hub order behind a label: by our orderKey, else by ShipStation's order id."""
    order_id = keys.record_id_of(shipment.order_key, keys.ORDER)
    if order_id is not None:
        return Order.objects.filter(pk=order_id).first()
    if shipment.order_id:
        return Order.objects.filter(shipstation_order_id=str(shipment.order_id)).first()
    return None


def record_shipstation(shipment: ss.Shipment) -> Shipment | None:
    """Record one ShipStation label; None when it is not for an order of this tenant."""
    order = order_of_shipstation(shipment)
    if order is None:
        return None
    return record(
        order,
        Reported(
            origin=Shipment.Origin.SHIPSTATION,
            source_id=str(shipment.shipment_id),
            carrier_code=shipment.carrier_code or "",
            service=shipment.service_code or "",
            tracking_numbers=(shipment.tracking_number,) if shipment.tracking_number else (),
            shipped_on=shipment.ship_date,
            voided=shipment.voided,
            lines=_shipstation_lines(order, shipment.items),
            raw=shipment.raw,
        ),
    )


def _shipstation_lines(
    order: Order, items: tuple[ss.ShipmentItem, ...] | None
) -> tuple[tuple[OrderLine, Decimal], ...] | None:
    """Items by `lineItemKey` (our line number), else by SKU; no item list means everything."""
    if not items:
        return None
    lines = list(order.lines.all())
    by_number = {str(line.line_number): line for line in lines}
    by_sku = {line.sku: line for line in lines}
    found = []
    for item in items:
        line = by_number.get(item.line_item_key or "") or by_sku.get(item.sku or "")
        if line is None:
            logger.warning("ShipStation item %s (%s) matches no line of %s", item.sku, item, order)
            continue
        found.append((line, Decimal(item.quantity)))
    return tuple(found)
