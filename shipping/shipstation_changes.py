"""A store change reaching ShipStation: cancel by upsert, or send the changed order again.

ShipStation V1 has no cancel endpoint: an upsert under the order's `orderKey` with
`orderStatus: cancelled` cancels it (contract shipstation.md §2.2), and creates it cancelled when
the push never got there, so a late push can never make it shippable. ShipStation refuses to
update a shipped or cancelled order; its wording is unconfirmed, so the refusal is checked by
reading the order's status back rather than by parsing the message. An open order whose cancel
is refused all the same is put on hold far ahead, so no label can be bought for it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from connectors import shipstation as ss
from connectors.errors import ValidationError
from core import work
from orders.changes.actions import AlreadyShipped, ShipStationSide
from orders.models import Order
from shipping.shipstation_push import REFUSED, shipstation_order_key, shipstation_request
from tenant_settings.connection_clients import shipstation_client

CANCELLED = "cancelled"
SHIPPED = "shipped"
OPEN = {"awaiting_payment", "awaiting_shipment", "on_hold", "pending_fulfillment"}
HOLD_FOR = timedelta(days=3650)
"""How long an order whose cancel was refused stays on hold: until a person looks."""


def cancel_in_shipstation(order: Order) -> str:
    """The order cancelled in ShipStation under its orderKey; safe to repeat."""
    client = shipstation_client()
    request = replace(shipstation_request(order), order_status=CANCELLED)
    try:
        answer = client.create_order(request)
    except ValidationError as exc:
        current = _current(client, order)
        if current is not None and current.order_status == CANCELLED:
            return f"ShipStation order {current.order_id} was already cancelled."
        if current is not None and current.order_status in OPEN:
            return _hold(client, order, current, exc)
        raise _refusal(order, current, exc) from exc
    _remember(order, answer)
    return f"ShipStation order {answer.order_id} cancelled (orderKey {answer.order_key})."


def update_in_shipstation(order: Order) -> str:
    """The order sent again under its orderKey with what changed (a new ship-to)."""
    client = shipstation_client()
    try:
        answer = client.create_order(shipstation_request(order))
    except ValidationError as exc:
        raise _refusal(order, _current(client, order), exc) from exc
    _remember(order, answer)
    return f"ShipStation order {answer.order_id} updated with the new ship-to."


def _hold(
    client: ss.ShipStationClient, order: Order, current: ss.Order, exc: ValidationError
) -> str:
    """The cancel was refused on an open order: hold it so no label can be bought."""
    until = date.today() + HOLD_FOR
    client.hold_until(current.order_id, until)
    _remember(order, current)
    return (
        f"ShipStation refused to cancel order {current.order_id} ({exc}); it is on hold until "
        f"{until:%Y-%m-%d} instead, so no label can be bought. Cancel it in ShipStation."
    )


def _current(client: ss.ShipStationClient, order: Order) -> ss.Order | None:
    """The ShipStation order as it stands: by its id when known, else by its orderKey."""
    if order.shipstation_order_id:
        return client.get_order(int(order.shipstation_order_id))
    key = shipstation_order_key(order)
    for found in client.list_orders(order_number=order.order_number):
        if found.order_key == key:
            return found
    return None


def _refusal(order: Order, current: ss.Order | None, exc: ValidationError) -> Exception:
    if current is not None and current.order_status == SHIPPED:
        return AlreadyShipped(f"ShipStation order {current.order_id} is shipped ({exc}).")
    if current is not None and current.order_status == CANCELLED:
        return work.NeedsAttention(
            f"ShipStation order {current.order_id} is cancelled; the change was not sent.",
            hint="Check the order in ShipStation, then mark this change handled.",
        )
    return work.NeedsAttention(f"{REFUSED}{exc}", hint=exc.hint)


def _remember(order: Order, answer: ss.Order) -> None:
    if not order.shipstation_order_id:
        Order.objects.filter(pk=order.pk).update(
            shipstation_order_id=str(answer.order_id), shipstation_order_key=answer.order_key
        )


SHIPSTATION_SIDE = ShipStationSide(cancel=cancel_in_shipstation, update=update_in_shipstation)
