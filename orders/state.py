"""The order state machine: the only module that writes `Order.state`.

Every transition is a conditional UPDATE from the state the caller saw, and writes its timeline
entry in the same transaction. A transition that lost a race (somebody cancelled the order while
a step ran) changes nothing and returns False; the caller records what its step made instead
(`record_late_result`), so an ERP order created meanwhile never goes unnoticed.

Other apps react to an order entering a state by registering with `on_enter` (shipping asks for
a ShipStation push when an order is *in ERP*), so this module knows none of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from core import work
from core.models import WorkAttempt
from orders.models import Order, OrderEvent
from tenants.activity import record_activity

State = Order.State

WORK_STATES = (State.ROUTED, State.CUSTOMER_LINKED)
"""States in which a worker still has pipeline steps to run."""

WAITING_STATES = (*WORK_STATES, State.IN_ERP)
"""States of an order still on its way to ShipStation."""

RESUMABLE = {State.ROUTED, State.CUSTOMER_LINKED, State.IN_ERP}
SHIPPING = {State.PARTIALLY_SHIPPED, State.SHIPPED}
"""An ERP delivery can ship an order ShipStation never saw; payment can come before shipping."""
ALLOWED: dict[str, set[str]] = {
    State.ROUTED: {State.CUSTOMER_LINKED, State.NEEDS_ATTENTION, State.FAILED, State.CANCELLED},
    State.CUSTOMER_LINKED: {
        State.IN_ERP,
        State.ROUTED,
        State.NEEDS_ATTENTION,
        State.FAILED,
        State.CANCELLED,
    },
    State.IN_ERP: {
        State.SENT_TO_SHIPSTATION,
        State.NEEDS_ATTENTION,
        *SHIPPING,
        State.INVOICED,
        State.CANCELLED,
    },
    State.SENT_TO_SHIPSTATION: {*SHIPPING, State.INVOICED, State.CANCELLED},
    State.PARTIALLY_SHIPPED: {State.SHIPPED, State.INVOICED},
    State.SHIPPED: {State.INVOICED},
    State.INVOICED: set(),
    State.NEEDS_ATTENTION: RESUMABLE | {State.CANCELLED},
    State.FAILED: RESUMABLE | {State.CANCELLED},
    State.CANCELLED: set(),
    State.HISTORY: set(),
}
"""Where an order may go from each state (staying in a state, e.g. a replay, is allowed)."""

_entered: dict[str, list[Callable[[list[Order]], None]]] = defaultdict(list)


class IllegalTransition(Exception):
    pass


def on_enter(state: str, callback: Callable[[list[Order]], None]) -> None:
    """Call `callback` with the moved orders (in their schema, inside the transaction) after a
    move to `state`."""
    _entered[state].append(callback)


def can_move(order: Order, to: str) -> bool:
    return to == order.state or to in ALLOWED[order.state]


def move(
    order: Order,
    to: str,
    *,
    message: str,
    step: str = "",
    outcome: str = OrderEvent.Outcome.SUCCESS,
    upstream_ref: str = "",
    actor: str = "",
    unless_leased: bool = False,
    **fields: Any,
) -> bool:
    """Move the order from the state it is in (as the caller saw it) to `to`, with its event.

    `fields` are written in the same UPDATE (the state message is cleared unless given). The
    timeline step is `step`, or the new state. `unless_leased` also refuses while a worker
    holds the order's lease (a step with an upstream call in flight), so a store change never
    overtakes a call whose result it would then miss.
    """
    if not can_move(order, to):
        raise IllegalTransition(f"{order}: {order.state} → {to} is not a transition")
    fields.setdefault("state_message", "")
    seen = Order.objects.filter(pk=order.pk, state=order.state)
    if unless_leased:
        seen = seen.exclude(lease_until__gt=timezone.now())
    with transaction.atomic():
        moved = seen.update(state=to, updated_at=timezone.now(), **fields)
        if not moved:
            return False
        order.state = to
        for name, value in fields.items():
            setattr(order, name, value)
        OrderEvent.objects.create(
            order=order,
            step=step or to,
            outcome=outcome,
            message=message,
            upstream_ref=upstream_ref,
            actor=actor,
        )
        for callback in _entered[to]:
            callback([order])
    return True


@dataclass(frozen=True)
class Transition:
    """One order's part in `move_together`: its timeline message and the fields it writes."""

    order: Order
    message: str
    upstream_ref: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def move_together(
    transitions: list[Transition],
    to: str,
    *,
    step: str = "",
    outcome: str = OrderEvent.Outcome.SUCCESS,
) -> list[Order]:
    """`move` for many orders at once, in one transaction of three statements: lock the rows,
    one UPDATE of those still in the state each was seen in (each with its own fields), one
    INSERT of their timeline entries; the callbacks of `to` run once. Returns the orders that
    moved (the others lost a race and are left as they are).
    """
    for transition in transitions:
        if not can_move(transition.order, to):
            raise IllegalTransition(f"{transition.order}: {transition.order.state} → {to}")
    if not transitions:
        return []
    with transaction.atomic():
        # FOR NO KEY UPDATE, in pk order: rows that other transactions only reference (a
        # timeline INSERT) are not waited for, and two batches never lock in opposite orders.
        seen = dict(
            Order.objects.select_for_update(no_key=True)
            .filter(pk__in=[t.order.pk for t in transitions])
            .order_by("pk")
            .values_list("pk", "state")
        )
        moved = [t for t in transitions if seen.get(t.order.pk) == t.order.state]
        if not moved:
            return []
        fields = [{"state_message": "", **t.fields} for t in moved]
        Order.objects.filter(pk__in=[t.order.pk for t in moved]).update(
            state=to, updated_at=timezone.now(), **_per_order(moved, fields)
        )
        for transition, written in zip(moved, fields, strict=True):
            transition.order.state = to
            for name, value in written.items():
                setattr(transition.order, name, value)
        OrderEvent.objects.bulk_create(
            OrderEvent(
                order=t.order,
                step=step or to,
                outcome=outcome,
                message=t.message,
                upstream_ref=t.upstream_ref,
            )
            for t in moved
        )
        for callback in _entered[to]:
            callback([t.order for t in moved])
    return [t.order for t in moved]


def _per_order(moved: list[Transition], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Each field's value for the UPDATE: the value itself when every order writes the same,
    else a CASE on the order's pk."""
    values: dict[str, Any] = {}
    for name in {name for written in fields for name in written}:
        each = [
            (t.order.pk, written[name])
            for t, written in zip(moved, fields, strict=True)
            if name in written
        ]
        distinct = {repr(value) for _, value in each}
        if len(distinct) == 1 and len(each) == len(moved):
            values[name] = each[0][1]
        else:
            field = Order._meta.get_field(name)
            values[name] = Case(
                *(When(pk=pk, then=Value(value, output_field=field)) for pk, value in each),
                default=F(name),
                output_field=field,
            )
    return values


def move_many(
    orders: list[Order], to: str, *, message: str, step: str = "", **fields: Any
) -> list[Order]:
    """`move_together` for a batch of orders sharing one outcome and message."""
    return move_together(
        [Transition(order, message, fields=fields) for order in orders],
        to,
        step=step,
        outcome=_outcome_of(to),
    )


def record_late_result(order: Order, message: str, upstream_ref: str = "", **fields: Any) -> None:
    """A step finished after somebody else moved the order: keep what it made, and say so."""
    Order.objects.filter(pk=order.pk).update(**fields)
    OrderEvent.objects.create(
        order=order,
        step="late_result",
        outcome=OrderEvent.Outcome.WARNING,
        message=f"{message} This finished after the order was changed by someone else; "
        "check it in the ERP.",
        upstream_ref=upstream_ref,
    )


def _outcome_of(to: str) -> str:
    if to in (State.NEEDS_ATTENTION, State.FAILED):
        return OrderEvent.Outcome.ERROR
    return OrderEvent.Outcome.SUCCESS


def register_work_kind() -> None:
    """Orders are work items: the pipeline's steps run through the work-item core."""
    work.register(
        work.WorkKind(
            model=Order,
            task="orders.process_order",
            batch_task="orders.process_orders",
            work_states=WORK_STATES,
            move=_move_for_worker,
            note=_note_work,
        )
    )


def _move_for_worker(order: Order, to: str, message: str, fields: dict[str, Any]) -> bool:
    hint = fields.get("last_error_hint", "")
    shown = f"{message} — {hint}" if hint and hint != message else message
    return move(order, to, message=shown, outcome=_outcome_of(to), state_message=shown, **fields)


def _note_work(order: Order, change: work.Change) -> None:
    """Retries go on the timeline; parking also goes to the activity log."""
    if change.outcome == WorkAttempt.Outcome.RETRY:
        Order.objects.filter(pk=order.pk, state=order.state).update(
            state_message=f"Waiting to retry: {change.message}"
        )
        OrderEvent.objects.create(
            order=order,
            step="retry_scheduled",
            outcome=OrderEvent.Outcome.WARNING,
            message=f"Attempt {order.attempts} failed ({change.message}); "
            f"retrying in {change.retry_in:.0f} s.",
        )
        return
    record_activity(
        f"order.{order.state}",
        actor="worker",
        obj=order,
        outcome="failure",
        message=order.state_message,
    )
