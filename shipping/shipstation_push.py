"""Sending ERP-confirmed orders to the tenant's ShipStation, up to 100 to a call, on the work core.

An order *in ERP* is due for its push. The order row is the work item, as it is for the ERP step:
`ShipStationPush` is the order seen as a second kind of work (docs/adr-0005), so the work-item
core claims a batch of up to 100 due orders with one lease each, this module sends them in one
`createorders` call, and the core records each order's outcome (docs/adr-0009):

- taken by ShipStation → *sent to ShipStation* (the batch moves together, one UPDATE);
- ShipStation down, slow or rate limiting → each order backs off on the core's schedule (growing
  delays, never sooner than `Retry-After`, paused with every order of the tenant while
  ShipStation's circuit breaker is open) and, once its retry schedule's time is spent
  (`HUB_RETRY_GIVE_UP_HOURS`, docs/adr-0012), is parked in *needs attention*; Retry sends it
  again;
- refused (credentials, or one bad order) → *needs attention* with ShipStation's words.

Every attempt is a `WorkAttempt` row of the order, shown on the order's page with the ERP
step's. No module here decides when to try again.

Orders reaching the ERP gather for `HUB_SHIPSTATION_PUSH_SECONDS` before a push takes them, so a
burst goes out in calls of up to 100 (ShipStation allows 40 calls a minute; the shared Redis
limiter keeps every worker within it). Once a full call's worth is waiting, it goes out at once
(`FULL_BATCH_DELAY_SECONDS`) instead of at the window's end: a steady stream of orders waits for
its call, not for the clock. The window paces part-filled calls: orders coming due when the
tenant's last part-filled call is more than a window ago gather only
`HUB_SHIPSTATION_QUIET_PUSH_SECONDS`, so a shop's lone order is not held 10 s for a call budget
nobody is using, while a steady trickle still spends at most one part-filled call a window. A
retry that comes due asks for a push the same way, so the orders of one failed call, each due at
its own jittered moment, go out together again.

The `orderKey` is deterministic, so a retry or a crash between ShipStation's answer and our
commit updates the same ShipStation order instead of creating a second one. No transaction or
lock is held across the call: the lease is the claim (two pushes never share an order).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min, Q, prefetch_related_objects
from django.utils import timezone

from connectors import shipstation as ss
from connectors.errors import ValidationError
from core import keys, work
from core.dispatch import dispatch, forget_coalesced
from core.models import WorkAttempt
from orders import money, state
from orders.addresses import shipstation_address
from orders.models import Order, OrderEvent
from shipping.models import ShipStationPush
from tenant_settings.connection_clients import shipstation_client
from tenants.activity import record_activity

logger = logging.getLogger("hub.shipstation")
BATCH_SIZE = 100
"""Orders one push attempt takes at most: ShipStation's `createorders` limit."""
PUSH_TASK = "shipping.push_orders_to_shipstation"
REFUSED = "ShipStation refused the order: "
REJECTED_STEP = "shipstation_rejected"
FULL_BATCHES = "full"
"""The push message that sends only full calls (the rest keeps waiting for its window)."""
PART_FILLED_CALL_KEY = "shipstation-part-filled-call"
"""Cache key (per tenant: the cache's keys carry the schema) held for one window after a call
with fewer than 100 orders."""
FULL_BATCH_DELAY_SECONDS = 1.0
"""How long after a full call's worth is in ERP its push starts: the ERP step that moved the last
of them still leases them until it has recorded its outcome, and requests within it are one."""
OrderState = Order.State
Outcome = WorkAttempt.Outcome


@dataclass
class PushReport:
    """What one push did: orders sent, parked (needs attention) and waiting to retry, and how
    soon the first of those is due again."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0
    retry_in: float | None = None


def shipstation_order_key(order: Order) -> str:
    """Deterministic and unique: one hub order is one ShipStation order, however often sent."""
    return keys.outside_key(keys.ORDER, order.pk)


def request_shipstation_push() -> None:
    """Ask for a push at the end of the gather window; the orders that come due in the meantime
    share it, so a burst goes out in calls of up to 100 orders. The window is
    `HUB_SHIPSTATION_PUSH_SECONDS` when the tenant's last part-filled call was within it, else
    the quiet window (`HUB_SHIPSTATION_QUIET_PUSH_SECONDS`).

    When Redis is unreachable nothing is lost: the sweeper sends the due orders.
    """
    window = gather_seconds()
    dispatch(PUSH_TASK, countdown=window, coalesce_seconds=window)
    if _waiting_for_push() >= BATCH_SIZE:
        delay = FULL_BATCH_DELAY_SECONDS
        dispatch(PUSH_TASK, FULL_BATCHES, countdown=delay, coalesce_seconds=delay)


def gather_seconds() -> float:
    """How long orders coming due now wait for their push: the full window while the tenant's
    last part-filled call is within it, else the quiet window (an unreachable cache: the full)."""
    try:
        pushed_lately = cache.get(PART_FILLED_CALL_KEY) is not None
    except Exception:
        pushed_lately = True
    if pushed_lately:
        return settings.HUB_SHIPSTATION_PUSH_SECONDS
    return min(settings.HUB_SHIPSTATION_QUIET_PUSH_SECONDS, settings.HUB_SHIPSTATION_PUSH_SECONDS)


def _note_part_filled_call() -> None:
    """A call with fewer than 100 orders was made: the next orders gather the full window."""
    try:
        cache.set(PART_FILLED_CALL_KEY, 1, timeout=settings.HUB_SHIPSTATION_PUSH_SECONDS)
    except Exception:
        logger.warning("cache unreachable; pushes gather the full window until it answers")


def _waiting_for_push() -> int:
    """Orders in ERP and due for their push, counted up to a full call (the ones an ERP step
    is moving right now included: they are due once it lets them go)."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    return ShipStationPush.objects.filter(due, state=OrderState.IN_ERP)[:BATCH_SIZE].count()


def on_push_message(order_ids: int | list[int] | str | None = None) -> dict[str, Any]:
    """The push task's body, by what its message carries.

    - nothing: the gather window is over (also a message sent before pushes were work items):
      push every due order;
    - `FULL_BATCHES`: a full call's worth is waiting: push full calls only;
    - a list: these orders first (the sweeper's and `schedule_many`'s batches), then the others
      that are due;
    - one id: the core's message for an order whose retry came due: it waits for the gather
      window like a fresh order, so the orders of a failed call go out in one call again.
    """
    if isinstance(order_ids, int):
        request_shipstation_push()
        return {"requested": order_ids}
    if order_ids == FULL_BATCHES:
        forget_coalesced(PUSH_TASK, FULL_BATCHES)
        return push_orders_to_shipstation(full_calls_only=True).__dict__
    if order_ids is None:
        forget_coalesced(PUSH_TASK)
    return push_orders_to_shipstation(order_ids or []).__dict__


def push_orders_to_shipstation(
    order_ids: Iterable[int] = (), *, full_calls_only: bool = False
) -> PushReport:
    """Push these orders and every other due one, one batch (one call) at a time; with
    `full_calls_only`, only while a full call's worth is due.

    Stops at the first batch ShipStation could not take for now: the core's backoff decides
    when the waiting orders are tried again, not this loop.
    """
    report = PushReport()
    ids = list(order_ids)
    seen: set[int] = set()
    retrying: list[int] = []
    while not full_calls_only or _due_for_push() >= BATCH_SIZE:
        outcomes = work.process_batch(ShipStationPush, ids, _push, fill_to=BATCH_SIZE)
        if len(outcomes) < BATCH_SIZE and any(o != work.PAUSED for o in outcomes.values()):
            _note_part_filled_call()
        ids = []
        for pk, outcome in outcomes.items():
            if outcome == OrderState.SENT_TO_SHIPSTATION:
                report.sent += 1
            elif outcome == Outcome.RETRY:
                retrying.append(pk)
            elif outcome in (Outcome.NEEDS_ATTENTION, Outcome.FAILED):
                report.failed += 1
        if len(outcomes) < BATCH_SIZE or retrying or seen.issuperset(outcomes):
            break
        seen.update(outcomes)
    if retrying:
        report.retrying = len(retrying)
        soonest = ShipStationPush.objects.filter(pk__in=retrying).aggregate(
            at=Min("next_attempt_at")
        )["at"]
        if soonest:
            report.retry_in = max((soonest - timezone.now()).total_seconds(), 0.0)
        logger.info(
            "ShipStation push: %s order(s) wait to retry, the first in %.1f s",
            report.retrying,
            report.retry_in or 0.0,
        )
    return report


def _due_for_push() -> int:
    """Orders a push could claim now, counted up to a full call."""
    due = work.ready_q(timezone.now())
    return ShipStationPush.objects.filter(due, state=OrderState.IN_ERP)[:BATCH_SIZE].count()


# --- One attempt over a batch ------------------------------------------------------------------


@dataclass
class _Attempt:
    """One attempt's calls: each order's failure, the orders ShipStation took, and whether
    ShipStation was unwell (then the batch's other calls are not made)."""

    client: ss.ShipStationClient
    requests: dict[int, ss.OrderRequest]
    failures: dict[int, work.StepResult] = field(default_factory=dict)
    sent: list[state.Transition] = field(default_factory=list)
    down: Exception | None = None


def _push(orders: list[ShipStationPush]) -> dict[int, work.StepResult]:
    """The work step: send the claimed orders, record the ones ShipStation took, and return
    each other order's failure for the core to retry or park."""
    client = shipstation_client()  # no credentials: every order of the batch is parked
    prefetch_related_objects(orders, "lines")
    failures: dict[int, work.StepResult] = {}
    requests: dict[int, ss.OrderRequest] = {}
    for order in orders:
        problem = _unsendable(order)
        if problem:
            failures[order.pk] = work.NeedsAttention(REFUSED + problem)
            continue
        try:
            requests[order.pk] = shipstation_request(order)
        except Exception as exc:  # this order's own fault; the core logs and retries it
            failures[order.pk] = exc
    attempt = _Attempt(client, requests, failures)
    _send(attempt, [order for order in orders if order.pk in requests])
    moved = {
        order.pk for order in state.move_together(attempt.sent, OrderState.SENT_TO_SHIPSTATION)
    }
    for transition in attempt.sent:
        if transition.order.pk not in moved:  # shipped or invoiced meanwhile: keep the ids
            state.record_late_result(
                transition.order,
                transition.message,
                transition.upstream_ref,
                **transition.fields,
            )
    return attempt.failures


def _send(attempt: _Attempt, orders: list[ShipStationPush]) -> None:
    """One createorders call; a refused request is halved until the bad order stands alone.

    ShipStation validates the whole array, so one bad order refuses the request; halving finds
    it in about 2·log2(n) calls instead of n, which matters at 40 calls a minute. A call that
    fails otherwise is every one of its orders' failure, and the rest of the batch is not sent
    in this attempt.
    """
    if not orders:
        return
    if attempt.down is not None:
        attempt.failures.update(dict.fromkeys((order.pk for order in orders), attempt.down))
        return
    try:
        results = attempt.client.create_orders(attempt.requests[order.pk] for order in orders)
    except ValidationError as exc:
        if len(orders) == 1:
            attempt.failures[orders[0].pk] = work.NeedsAttention(f"{REFUSED}{exc}", hint=exc.hint)
            return
        half = len(orders) // 2
        _send(attempt, orders[:half])
        _send(attempt, orders[half:])
        return
    except Exception as exc:  # down, slow, rate limited, credentials refused, a broken answer:
        attempt.down = exc  # every order's, and the core decides what follows
        attempt.failures.update(dict.fromkeys((order.pk for order in orders), exc))
        return
    by_key = {shipstation_order_key(order): order for order in orders}
    answered: set[int] = set()
    for result in results:
        order = by_key.get(result.order_key)
        if order is None or order.pk in answered:
            continue
        answered.add(order.pk)
        if result.success and result.order_id:
            attempt.sent.append(_sent(order, str(result.order_id), result.order_key))
        else:
            message = REFUSED + (result.error_message or "no reason given")
            attempt.failures[order.pk] = work.NeedsAttention(message)
    for order in orders:
        if order.pk not in answered:
            message = REFUSED + "ShipStation's answer did not mention this order."
            attempt.failures[order.pk] = work.NeedsAttention(message)


def _unsendable(order: Order) -> str:
    """Why ShipStation cannot take the order as it is, or an empty string."""
    for line in order.lines.all():
        if line.quantity != line.quantity.to_integral_value():
            return (
                f"Line {line.line_number} (SKU {line.sku}) has quantity {line.quantity}; "
                "ShipStation takes whole quantities only."
            )
    return ""


def shipstation_request(order: Order) -> ss.OrderRequest:
    """The order as ShipStation takes it; the money is this part's (docs/adr-0006).

    ShipStation computes `orderTotal` from the items, `taxAmount` and `shippingAmount`; items
    go at their net unit price and one adjustment line carries the discount (and the rest), so
    the total ShipStation shows is the part's, and `amountPaid` is that total.
    """
    address = shipstation_address(
        order.ship_to or {}, fallback_name=order.customer_email or order.order_number
    )
    items = [
        ss.OrderItem(
            sku=line.sku,
            name=line.name or line.sku,
            quantity=int(line.quantity),
            unit_price=money.rounded(
                money.net_unit_price(
                    line.unit_price, line.quantity, line.tax_amount, order.prices_include_tax
                )
            ),
            line_item_key=str(line.line_number),
        )
        for line in order.lines.all()
    ]
    shipping, tax = order.shipping_amount or Decimal(0), order.tax_amount or Decimal(0)
    if order.total is not None:
        adjustment = money.shipstation_adjustment(
            order.total,
            sum((item.unit_price * item.quantity for item in items), Decimal(0)),
            shipping,
            tax,
            order.discount_amount or Decimal(0),
        )
        if adjustment is not None:
            items.append(
                ss.OrderItem(
                    sku=None,
                    name=adjustment.name,
                    quantity=1,
                    unit_price=adjustment.amount,
                    line_item_key="adjustment",
                    adjustment=True,
                )
            )
    return ss.OrderRequest(
        order_number=order.order_number,
        order_key=shipstation_order_key(order),
        order_date=order.ordered_at or order.created_at,
        order_status="awaiting_shipment",
        bill_to=address,
        ship_to=address,
        customer_email=order.customer_email or None,
        amount_paid=order.total,
        shipping_amount=order.shipping_amount,
        tax_amount=order.tax_amount,
        custom_field1=f"ERP {order.erp_order_number}",
        custom_field2=f"Hub order {order.pk}",
        items=items,
    )


def _sent(order: Order, shipstation_id: str, key: str) -> state.Transition:
    """An order ShipStation took; the batch's orders move together (one transaction)."""
    return state.Transition(
        order,
        f"ShipStation order {shipstation_id} (orderKey {key}).",
        upstream_ref=shipstation_id,
        fields={"shipstation_order_id": shipstation_id, "shipstation_order_key": key},
    )


# --- The work kind -----------------------------------------------------------------------------


def register_work_kind() -> None:
    """Orders *in ERP* are the push's work items; the core sweeps, retries and parks them.

    An order *in ERP* can only park in *needs attention* (`orders.state`), so that is the kind's
    *failed* state too; the attempt rows still tell a refusal from a spent attempt budget.
    """
    work.register(
        work.WorkKind(
            model=ShipStationPush,
            task=PUSH_TASK,
            batch_task=PUSH_TASK,
            batch_size=BATCH_SIZE,
            work_states=(OrderState.IN_ERP,),
            failed=OrderState.NEEDS_ATTENTION,
            move=_park,
            note=_note,
        )
    )


def _park(order: Order, to: str, message: str, fields: dict[str, Any]) -> bool:
    """The core parks an order through the order state machine, on its timeline.

    A refusal is ShipStation's step; giving up after the attempt limit (the only parking for
    which the core also writes the spent attempt count) is the hub's.
    """
    hint = fields.get("last_error_hint", "")
    shown = f"{message} — {hint}" if hint and hint != message else message
    return state.move(
        order,
        to,
        message=shown,
        step="" if "attempts" in fields else REJECTED_STEP,
        outcome=OrderEvent.Outcome.ERROR,
        state_message=shown,
        **fields,
    )


def _note(order: Order, change: work.Change) -> None:
    """A retry shows on the order (its message and timeline); parking goes to the activity log."""
    if change.outcome == Outcome.RETRY:
        Order.objects.filter(pk=order.pk, state=order.state).update(
            state_message=f"Waiting to retry the ShipStation push: {change.message}"
        )
        OrderEvent.objects.create(
            order=order,
            step="retry_scheduled",
            outcome=OrderEvent.Outcome.WARNING,
            message=f"ShipStation push attempt {order.attempts} failed ({change.message}); "
            f"retrying in {change.retry_in or 0:.0f} s.",
        )
        return
    record_activity(
        f"order.{order.state}",
        actor="worker",
        obj=order,
        object_type=Order._meta.label,
        outcome="failure",
        message=order.state_message,
    )
