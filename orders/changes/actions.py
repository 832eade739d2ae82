"""What the hub does about each store change, by where the order is (docs/adr-0011).

- cancelled: before the ERP order, the order is cancelled; with an ERP order not yet shipped,
  the ShipStation order is cancelled and the ERP lines closed by the tenant's transaction (else
  a person is asked to); after shipping, a person arranges the return.
- ship-to: before the ERP order, the new address is used; after, ShipStation is updated and the
  ERP address changed by the tenant's transaction (else a person is asked to); after shipping,
  a person deals with the parcel.
- lines: rebuilt before the ERP order; after it, a person gets the difference line by line.
- refunded: recorded with its amount; a full refund before shipping acts as a cancel.
- paid: may settle an invoiced order (`invoicing`).

Nothing waits on the outside inside a transaction, and every step is safe to repeat: a change
that fails half-way is retried from the start (ShipStation's cancel-by-upsert and the ERP line
transactions find their work done).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors import api2cart
from connectors.errors import RetryableError
from core import work
from core.dispatch import dispatch
from orders import state
from orders.erp.order_changes import cancel_in_erp, readdress_in_erp
from orders.intake.store_orders import lines_of
from orders.models import Order, OrderChange, OrderEvent, OrderLine
from tenants.activity import record_activity

OrderState = Order.State
Kind = OrderChange.Kind
SHIPPED = {OrderState.PARTIALLY_SHIPPED, OrderState.SHIPPED, OrderState.INVOICED}
CLOSED = {OrderState.HISTORY}
BUSY_RETRY_SECONDS = 5.0


class AlreadyShipped(Exception):
    """ShipStation refused the change: the order has shipped (a label was bought)."""


@dataclass(frozen=True)
class ShipStationSide:
    """What the shipping app does for a change (it sits above orders, so it registers these)."""

    cancel: Callable[[Order], str]
    """Cancel the order in ShipStation by upsert under its orderKey; returns what was done."""
    update: Callable[[Order], str]
    """Send the order again (same orderKey) with what changed; returns what was done."""


@dataclass(frozen=True)
class Hooks:
    shipstation: ShipStationSide | None = None
    paid: Callable[[Order], bool] | None = None


_hooks = Hooks()


def register(*, shipstation: ShipStationSide | None = None, paid: Callable | None = None) -> None:
    """Apps above orders offer their part: the ShipStation side, settling a paid order."""
    global _hooks
    _hooks = Hooks(shipstation or _hooks.shipstation, paid or _hooks.paid)


def act_on_change(change: OrderChange) -> work.Done:
    """The work step: do what the change calls for, or raise `NeedsAttention` naming the next
    step for a person."""
    order = Order.objects.get(pk=change.order_id)
    act = {
        Kind.CANCELLED: _cancelled,
        Kind.REFUNDED: _refunded,
        Kind.SHIP_TO: _ship_to_changed,
        Kind.LINES: _lines_changed,
        Kind.PAID: _paid,
    }.get(change.kind, _recorded)
    outcome = act(change, order)
    return work.Done(OrderChange.State.DONE, {"outcome": outcome})


def _recorded(change: OrderChange, order: Order) -> str:
    return "Recorded; nothing to do."


def _busy(order: Order) -> RetryableError:
    return RetryableError(
        f"Order {order.order_number} has a step running; the change acts when it ends.",
        retry_after=BUSY_RETRY_SECONDS,
        upstream="hub",
    )


def _fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


# --- Cancelled ---------------------------------------------------------------------------------


def _cancelled(change: OrderChange, order: Order) -> str:
    if order.state in CLOSED:
        return "The order is history only; nothing was ever sent."
    if order.state in SHIPPED:
        raise work.NeedsAttention(
            f"The store cancelled order {order.order_number} after it shipped "
            f"({order.get_state_display().lower()}); nothing was reversed.",
            hint="Arrange the return with the customer and the warehouse, then mark this "
            "change handled.",
        )
    if not order.erp_order_number:
        return _cancel_before_erp(order)
    return _cancel_after_erp(order)


def _cancel_before_erp(order: Order) -> str:
    if order.state == OrderState.CANCELLED:
        return "The order was already cancelled in the hub."
    with transaction.atomic():
        if not state.move(
            order,
            OrderState.CANCELLED,
            message="Cancelled by the store before the ERP step: nothing was sent to the ERP "
            "or ShipStation.",
            step="store_cancelled",
            outcome=OrderEvent.Outcome.INFO,
            unless_leased=True,
            next_attempt_at=None,
            state_message="Cancelled by the store.",
        ):
            raise _busy(order)
        if order.erp_temporary_order_number:
            dispatch("orders.discard_abandoned_batch", order.pk)
    return "Cancelled before the ERP step; nothing was sent anywhere."


def _cancel_after_erp(order: Order) -> str:
    """Stop the push first, then cancel in ShipStation (even if the push never happened: the
    cancelled record under the orderKey refuses any late push), then the ERP side."""
    said = []
    if order.state in (OrderState.IN_ERP, OrderState.NEEDS_ATTENTION, OrderState.FAILED):
        _move_cancelled(order, "before it was sent to ShipStation")
    said.append(_cancel_in_shipstation(order))
    if order.state == OrderState.SENT_TO_SHIPSTATION:
        _move_cancelled(order, "in ShipStation")
    said.append(_close_in_erp(order))
    return " ".join(said)


def _move_cancelled(order: Order, where: str) -> None:
    if not state.can_move(order, OrderState.CANCELLED):
        raise work.NeedsAttention(
            f"Order {order.order_number} is {order.get_state_display().lower()}; the store's "
            "cancellation was not applied.",
            hint="Check the order in ShipStation and the ERP, then mark this change handled.",
        )
    if not state.move(
        order,
        OrderState.CANCELLED,
        message=f"Cancelled by the store {where}; it will not ship.",
        step="store_cancelled",
        outcome=OrderEvent.Outcome.INFO,
        unless_leased=True,
        next_attempt_at=None,
        state_message="Cancelled by the store.",
    ):
        raise _busy(_fresh(order))


def _cancel_in_shipstation(order: Order) -> str:
    if _hooks.shipstation is None:
        return "No ShipStation side is installed."
    try:
        said = _hooks.shipstation.cancel(order)
    except AlreadyShipped as exc:
        raise work.NeedsAttention(
            f"The store cancelled order {order.order_number}, but ShipStation has shipped it: "
            f"{exc}",
            hint="Arrange the return with the customer and the warehouse, then mark this "
            "change handled.",
        ) from exc
    _event(order, "shipstation_cancelled", said)
    return said


def _close_in_erp(order: Order) -> str:
    said = cancel_in_erp(order)
    if said is None:
        raise work.NeedsAttention(
            f"ERP order {order.erp_order_number} is still open in M3: ShipStation will not ship "
            "it, but the ERP may deliver and invoice it.",
            hint=f"In M3, close or delete the lines of customer order {order.erp_order_number} "
            "(OIS101), then mark this change handled. To let the hub do it, set the ERP "
            "cancel transaction in the connection settings.",
        )
    _event(order, "erp_cancelled", said)
    return said


# --- Ship-to -----------------------------------------------------------------------------------


def _ship_to_changed(change: OrderChange, order: Order) -> str:
    ship_to = change.after.get("ship_to") or {}
    if order.state in CLOSED or order.state == OrderState.CANCELLED:
        return "Recorded; the order is not going anywhere."
    if order.state in SHIPPED:
        raise work.NeedsAttention(
            f"The store changed the ship-to of order {order.order_number} after it shipped: "
            f"{change.summary}",
            hint="Contact the carrier or the customer about the parcel, then mark this change "
            "handled.",
        )
    if not order.erp_order_number:
        if (
            not Order.objects.filter(pk=order.pk, state=order.state)
            .exclude(lease_until__gt=timezone.now())
            .update(ship_to=ship_to)
        ):
            raise _busy(order)
        return "The ERP and ShipStation orders will use the new address."
    return _readdress_after_erp(order, ship_to)


def _readdress_after_erp(order: Order, ship_to: dict[str, str]) -> str:
    if (
        order.state == OrderState.IN_ERP
        and order.lease_until
        and order.lease_until > (timezone.now())
    ):
        raise _busy(order)
    Order.objects.filter(pk=order.pk).update(ship_to=ship_to)
    order.ship_to = ship_to
    said = []
    if order.state == OrderState.SENT_TO_SHIPSTATION and _hooks.shipstation is not None:
        try:
            said.append(_hooks.shipstation.update(order))
        except AlreadyShipped as exc:
            raise work.NeedsAttention(
                f"The store changed the ship-to of order {order.order_number}, but ShipStation "
                f"has shipped it: {exc}",
                hint="Contact the carrier or the customer about the parcel, then mark this "
                "change handled.",
            ) from exc
        _event(order, "shipstation_readdressed", said[-1])
    else:
        said.append("ShipStation will get the new address with the order.")
    erp = readdress_in_erp(order)
    if erp is None:
        raise work.NeedsAttention(
            f"ERP order {order.erp_order_number} still has the old delivery address. "
            f"{' '.join(said)}",
            hint=f"In M3, set the delivery address of customer order {order.erp_order_number} "
            f"to {_address_words(ship_to)} (OIS101), then mark this change handled.",
        )
    _event(order, "erp_readdressed", erp)
    return " ".join([*said, erp])


def _address_words(ship_to: dict[str, str]) -> str:
    names = ("name", "company", "street1", "street2", "city", "state", "postal_code", "country")
    return ", ".join(ship_to[name] for name in names if ship_to.get(name))


# --- Lines -------------------------------------------------------------------------------------


def _lines_changed(change: OrderChange, order: Order) -> str:
    if order.state in CLOSED or order.state == OrderState.CANCELLED:
        return "Recorded; the order is not going anywhere."
    if order.erp_order_number or order.state in SHIPPED:
        raise work.NeedsAttention(
            f"The store changed the lines of order {order.order_number} after the ERP order "
            f"{order.erp_order_number or ''} was made. {change.summary}".replace("  ", " "),
            hint="Change the ERP order and ShipStation order to match (or ask the store to "
            "undo the change), then mark this change handled.",
        )
    return _rebuild_lines(order)


def _rebuild_lines(order: Order) -> str:
    """Before the ERP step the order is simply rebuilt from the store's new version."""
    store_order = api2cart.Order.from_api(order.payload)
    lines = lines_of(store_order)
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(no_key=True)
            .filter(pk=order.pk, state=order.state)
            .exclude(lease_until__gt=timezone.now())
            .first()
        )
        if locked is None:
            raise _busy(order)
        order.lines.all().delete()
        OrderLine.objects.bulk_create(
            OrderLine(order=order, line_number=number, **asdict(line))
            for number, line in enumerate(lines, start=1)
        )
        subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
        Order.objects.filter(pk=order.pk).update(
            subtotal=subtotal.quantize(Decimal("0.01")),
            total=store_order.totals.total if store_order.totals.total is not None else order.total,
        )
    return f"Rebuilt with {len(lines)} line(s) before the ERP step."


# --- Refunds and payment -----------------------------------------------------------------------


def _refunded(change: OrderChange, order: Order) -> str:
    refunded = Decimal(change.after.get("refunded") or 0)
    Order.objects.filter(pk=order.pk).update(refunded_amount=refunded)
    said = f"Refund recorded: {refunded:.2f} refunded in all."
    _event(order, "refund_recorded", said)
    after = change.after
    if not after.get("full") or after.get("with_cancel"):
        return said
    if order.state in SHIPPED or order.state in CLOSED or order.state == OrderState.CANCELLED:
        return said
    return f"{said} {_cancelled(change, order)}"


def _paid(change: OrderChange, order: Order) -> str:
    if _hooks.paid is not None and _hooks.paid(order):
        return "Paid at the store: the order is invoiced."
    return "Recorded; the order is settled when its invoice exists."


def _event(order: Order, step: str, message: str) -> None:
    OrderEvent.objects.create(
        order=order, step=step, outcome=OrderEvent.Outcome.SUCCESS, message=message
    )


# --- The work kind ------------------------------------------------------------------------------


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=OrderChange,
            task="orders.act_on_change",
            work_states=(OrderChange.State.PENDING,),
            note=_note,
        )
    )


def _note(change: OrderChange, what: work.Change) -> None:
    """Parking shows on the order's timeline and in the activity log."""
    if what.outcome == "retry":
        return
    OrderEvent.objects.create(
        order_id=change.order_id,
        step="store_change_parked",
        outcome=OrderEvent.Outcome.ERROR,
        message=f"{what.message} — {what.hint}" if what.hint else what.message,
    )
    record_activity(
        f"order_change.{change.kind}",
        actor="worker",
        obj=change,
        outcome="failure",
        message=what.message,
    )


def resolve(change: OrderChange, actor: str) -> bool:
    """A person did the next step the change asked for (a return arranged, M3 updated)."""
    resolved = OrderChange.objects.filter(
        pk=change.pk, state__in=(OrderChange.State.NEEDS_ATTENTION, OrderChange.State.FAILED)
    ).update(
        state=OrderChange.State.DONE,
        outcome=f"Handled by {actor}: {change.last_error}",
        resolved_by=actor,
        next_attempt_at=None,
    )
    if resolved:
        OrderEvent.objects.create(
            order_id=change.order_id,
            step="store_change_handled",
            outcome=OrderEvent.Outcome.SUCCESS,
            message=f"{change.get_kind_display()} marked handled.",
            actor=actor,
        )
        record_activity("order_change.resolved", actor=actor, obj=change, message=change.summary)
    return bool(resolved)


def changes_needing_attention() -> Any:
    return OrderChange.objects.filter(
        state__in=(OrderChange.State.NEEDS_ATTENTION, OrderChange.State.FAILED)
    ).select_related("order")
