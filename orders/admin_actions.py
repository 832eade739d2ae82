"""What people do to an order from the portal: retry, replay from its payload, cancel.

Each is refused (with the reason) when it could create a second ERP or ShipStation order, and
each is written to the order's timeline and to the activity log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import connection, transaction
from django.utils import timezone

from connectors import api2cart
from core import work
from core.dispatch import dispatch
from orders import state
from orders.addresses import ship_to_of_store_order
from orders.intake.serializers import OrderInputSerializer
from orders.intake.store_orders import lines_of
from orders.models import Order, OrderEvent, OrderLine
from tenants.activity import record_activity
from tenants.models import SkuOwnership, StoreMembership, Tenant, sku_key

RETRYABLE_STATES = (Order.State.NEEDS_ATTENTION, Order.State.FAILED, *state.WORK_STATES)


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


def _audit(order: Order, action: str, message: str, actor: str) -> None:
    record_activity(f"order.{action}", actor=actor, obj=order, message=message)


def _refusal(order: Order, to: str) -> Outcome | None:
    """Why the order cannot go to `to` now, or None.

    A worker holding the order could duplicate its ERP order if we acted under it.
    """
    if order.lease_until and order.lease_until > timezone.now():
        return Outcome(False, f"{order} is being processed right now; try again in a minute.")
    if not state.can_move(order, to):
        return Outcome(
            False, f"{order} is {order.get_state_display()}; it cannot go back to "
            f"{Order.State(to).label}.",
        )  # fmt: skip
    return None


def retry_order(order: Order, actor: str) -> Outcome:
    if order.state not in RETRYABLE_STATES:
        return Outcome(False, f"{order}: nothing to retry in state {order.get_state_display()}.")
    resume = _resume_state(order)
    if refusal := _refusal(order, resume):
        return refusal
    message = f"Retry requested; resuming at {Order.State(resume).label}."
    with transaction.atomic():
        if not state.move(
            order, resume, message=message, step="retried", outcome=OrderEvent.Outcome.INFO,
            actor=actor, attempts=0, lease_until=None,
        ):  # fmt: skip
            return Outcome(False, f"{order} changed meanwhile; look at it again.")
        _audit(order, "retried", message, actor)
        if resume in state.WORK_STATES:
            work.schedule(order)
    return Outcome(True, f"{order}: retrying.")


def replay_order(order: Order, actor: str) -> Outcome:
    """Rebuild lines and address from the stored payload and run the pipeline from the start."""
    if order.erp_order_number:
        return Outcome(
            False,
            f"{order} is already ERP order {order.erp_order_number}; change it in the ERP "
            "instead (a replay would create a second one).",
        )
    if refusal := _refusal(order, Order.State.ROUTED):
        return refusal
    lines, ship_to = _from_payload(order)
    if not lines:
        return Outcome(False, f"{order}: the stored payload has no lines for this tenant.")
    message = f"Replayed from the stored payload ({len(lines)} line(s))."
    with transaction.atomic():
        if not state.move(
            order, Order.State.ROUTED, message=message, step="replayed",
            outcome=OrderEvent.Outcome.INFO, actor=actor, ship_to=ship_to or order.ship_to,
            erp_customer_number="", attempts=0, lease_until=None,
        ):  # fmt: skip
            return Outcome(False, f"{order} changed meanwhile; look at it again.")
        order.lines.all().delete()
        OrderLine.objects.bulk_create(
            OrderLine(order=order, line_number=n, **line) for n, line in enumerate(lines, 1)
        )
        _audit(order, "replayed", message, actor)
        work.schedule(order)
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
    if not state.can_move(order, Order.State.CANCELLED):
        return Outcome(
            False, f"{order} is {order.get_state_display()}; it can no longer be cancelled."
        )
    message = "Cancelled in the hub; it will not be sent anywhere."
    with transaction.atomic():
        if not state.move(
            order, Order.State.CANCELLED, message=message, step="cancelled",
            outcome=OrderEvent.Outcome.INFO, actor=actor, lease_until=None, next_attempt_at=None,
            state_message=f"Cancelled by {actor} on {timezone.now():%Y-%m-%d %H:%M} UTC.",
        ):  # fmt: skip
            return Outcome(False, f"{order} changed meanwhile; look at it again.")
        _audit(order, "cancelled", message, actor)
        if order.erp_temporary_order_number:
            dispatch("orders.discard_abandoned_batch", order.pk)
    return Outcome(True, f"{order}: cancelled.")


def _from_payload(order: Order) -> tuple[list[dict], dict]:
    if order.source in (Order.Source.API, Order.Source.CSV, Order.Source.MANUAL):
        serializer = OrderInputSerializer(data=order.payload)
        if not serializer.is_valid():
            return [], {}
        data = serializer.validated_data
        return [dict(line) for line in data["lines"]], dict(data["ship_to"])
    store_order = api2cart.Order.from_api(order.payload)
    indexes = tuple(range(len(store_order.products)))
    if StoreMembership.objects.filter(store_id=order.store_id).count() > 1:
        tenant = Tenant.objects.get(schema_name=connection.schema_name)
        owned = set(
            SkuOwnership.objects.filter(store_id=order.store_id, tenant=tenant).values_list(
                "sku_key", flat=True
            )
        )
        indexes = tuple(n for n in indexes if sku_key(store_order.products[n].sku) in owned)
    lines = [asdict(line) for line in lines_of(store_order, indexes)]
    ship_to = asdict(ship_to_of_store_order(store_order))
    return lines, ship_to
