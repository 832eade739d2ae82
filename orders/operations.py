"""What people do to an order from the portal: retry, replay from its payload, cancel.

Each is refused (with the reason) when it could create a second ERP or ShipStation order, and
each is written to the order's timeline and to the activity log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import connection, transaction
from django.utils import timezone

from integration_hub.connectors import api2cart
from orders.intake import schedule_processing
from orders.models import Order, OrderEvent, OrderLine
from orders.routing import lines_of, ship_to_of
from orders.serializers import OrderInputSerializer
from tenants.activity import record_activity
from tenants.models import SkuOwnership, StoreMembership, Tenant

RETRYABLE_STATES = (
    Order.State.NEEDS_ATTENTION,
    Order.State.FAILED,
    Order.State.ROUTED,
    Order.State.CUSTOMER_LINKED,
    Order.State.RECEIVED,
)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def _resume_state(order: Order) -> str:
    """Where the pipeline picks up again, derived from what is already recorded."""
    if order.erp_order_number:
        return Order.State.IN_ERP
    if order.erp_customer_number:
        return Order.State.CUSTOMER_LINKED
    return Order.State.ROUTED


def _log(order: Order, action: str, message: str, actor: str) -> None:
    OrderEvent.objects.create(order=order, step=action, message=message, actor=actor)
    record_activity(f"order.{action}", actor=actor, obj=order, message=message)


def _busy(order: Order) -> Outcome | None:
    """A worker holds the order right now: acting under it could duplicate its ERP order."""
    if order.lease_until and order.lease_until > timezone.now():
        return Outcome(False, f"{order} is being processed right now; try again in a minute.")
    return None


def retry_order(order: Order, actor: str) -> Outcome:
    if busy := _busy(order):
        return busy
    if order.state not in RETRYABLE_STATES:
        return Outcome(False, f"{order}: nothing to retry in state {order.get_state_display()}.")
    with transaction.atomic():
        order.state = _resume_state(order)
        order.state_message = ""
        order.attempts = 0
        order.lease_until = None
        order.save(update_fields=["state", "state_message", "attempts", "lease_until"])
        _log(order, "retried", f"Retry requested; resuming at {order.get_state_display()}.", actor)
        _resume(order)
    return Outcome(True, f"{order}: retrying.")


def replay_order(order: Order, actor: str) -> Outcome:
    """Rebuild lines and address from the stored payload and run the pipeline from the start."""
    if busy := _busy(order):
        return busy
    if order.erp_order_number:
        return Outcome(
            False,
            f"{order} is already ERP order {order.erp_order_number}; change it in the ERP "
            "instead (a replay would create a second one).",
        )
    lines, ship_to = _from_payload(order)
    if not lines:
        return Outcome(False, f"{order}: the stored payload has no lines for this tenant.")
    with transaction.atomic():
        order.lines.all().delete()
        OrderLine.objects.bulk_create(
            OrderLine(order=order, line_number=n, **line) for n, line in enumerate(lines, 1)
        )
        order.ship_to = ship_to or order.ship_to
        order.state = Order.State.ROUTED
        order.state_message = ""
        order.erp_customer_number = ""
        order.attempts = 0
        order.lease_until = None
        order.save()
        _log(order, "replayed", f"Replayed from the stored payload ({len(lines)} line(s)).", actor)
        schedule_processing(order)
    return Outcome(True, f"{order}: replayed from its stored payload.")


def cancel_order(order: Order, actor: str) -> Outcome:
    """A running worker notices the cancellation: its next state change is conditional."""
    if order.erp_order_number or order.shipstation_order_id:
        return Outcome(
            False,
            f"{order} already reached the ERP ({order.erp_order_number}); cancel it there.",
        )
    if order.state == Order.State.CANCELLED:
        return Outcome(False, f"{order} is already cancelled.")
    with transaction.atomic():
        order.state = Order.State.CANCELLED
        order.state_message = f"Cancelled by {actor} on {timezone.now():%Y-%m-%d %H:%M} UTC."
        order.lease_until = None
        order.next_attempt_at = None
        order.save(update_fields=["state", "state_message", "lease_until", "next_attempt_at"])
        _log(order, "cancelled", "Cancelled in the hub; it will not be sent anywhere.", actor)
    return Outcome(True, f"{order}: cancelled.")


def _resume(order: Order) -> None:
    if order.state == Order.State.IN_ERP:
        from shipping.push import request_shipstation_push

        request_shipstation_push(connection.schema_name)
    else:
        schedule_processing(order)


def _from_payload(order: Order) -> tuple[list[dict], dict]:
    if order.source in (Order.Source.API, Order.Source.CSV):
        serializer = OrderInputSerializer(data=order.payload)
        if not serializer.is_valid():
            return [], {}
        data = serializer.validated_data
        return [dict(line) for line in data["lines"]], dict(data["ship_to"])
    store_order = api2cart.Order.from_api(order.payload)
    products = store_order.products
    if StoreMembership.objects.filter(store_id=order.store_id).count() > 1:
        tenant = Tenant.objects.get(schema_name=connection.schema_name)
        owned = set(
            SkuOwnership.objects.filter(store_id=order.store_id, tenant=tenant).values_list(
                "sku", flat=True
            )
        )
        products = tuple(p for p in products if p.sku in owned)
    lines = [asdict(line) for line in lines_of(products)]
    ship_to = asdict(ship_to_of(store_order))
    return lines, ship_to
