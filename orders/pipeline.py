"""The order state machine: routed → customer linked → in ERP → (ShipStation push).

Each call advances one order as far as it can. Upstream errors are classified once:
retryable → back off and try again (then *failed* after the last attempt); permanent →
*needs attention* with the upstream's words and a hint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from integration_hub.connectors.errors import PermanentError, RetryableError, UpstreamError
from integration_hub.core.retry import backoff_seconds, claim, max_attempts
from orders.customers import link_customer
from orders.erp_orders import create_erp_order
from orders.models import Order, OrderEvent
from tenants.activity import record_activity
from workspace.models import ConnectionSettings
from workspace.upstreams import erp_client

logger = logging.getLogger("hub.pipeline")

ACTIVE_STATES = (Order.State.RECEIVED, Order.State.ROUTED, Order.State.CUSTOMER_LINKED)


@dataclass(frozen=True)
class StepResult:
    state: str
    retry_in: float | None = None


def advance_order(order_id: int) -> StepResult | None:
    """Run the next steps of one order; None when another worker has it or nothing is due."""
    if not claim(Order, order_id, state__in=ACTIVE_STATES):
        return None
    order = Order.objects.select_related("store").get(pk=order_id)
    try:
        settings = ConnectionSettings.load()
        erp = erp_client(settings)
        if order.state in (Order.State.RECEIVED, Order.State.ROUTED):
            decision = link_customer(order, erp, settings)
            order.erp_customer_number = decision.customer_number
            message = f"ERP customer {decision.customer_number} ({decision.how})."
            if not _move(order, Order.State.CUSTOMER_LINKED, message, decision.customer_number):
                return StepResult(order.state)
        if order.state == Order.State.CUSTOMER_LINKED:
            ref = create_erp_order(order, erp, settings)
            order.erp_order_number = ref.order_number
            message = f"ERP order {ref.order_number} ({ref.how})."
            if not _move(order, Order.State.IN_ERP, message, ref.order_number):
                return StepResult(order.state)
    except RetryableError as exc:
        return _retry_later(order, exc)
    except PermanentError as exc:
        return _needs_attention(order, exc)
    except UpstreamError as exc:
        return _needs_attention(order, PermanentError(str(exc), hint="Check the upstream."))
    except Exception as exc:
        # A bug or a database refusal must not leave the order leased and silent for ever.
        logger.exception("order %s: unexpected error", order.pk)
        return _retry_later(order, RetryableError(f"Unexpected error: {exc!r}"))
    Order.objects.filter(pk=order.pk).update(attempts=0, lease_until=None, next_attempt_at=None)
    from shipping.push import request_shipstation_push

    request_shipstation_push(connection.schema_name)
    return StepResult(order.state)


def _move(order: Order, state: str, message: str, upstream_ref: str = "") -> bool:
    """Record a step, only if nobody changed the order meanwhile (e.g. cancelled it).

    The state's name is the timeline step. Returns False when the order moved on without us.
    """
    with transaction.atomic():
        moved = Order.objects.filter(pk=order.pk, state=order.state).update(
            state=state,
            state_message="",
            erp_customer_number=order.erp_customer_number,
            erp_order_number=order.erp_order_number,
            updated_at=timezone.now(),
        )
        if not moved:
            _note_late_result(order, state, message, upstream_ref)
            return False
        order.state = state
        OrderEvent.objects.create(
            order=order,
            step=state,
            outcome=OrderEvent.Outcome.SUCCESS,
            message=message,
            upstream_ref=upstream_ref,
        )
    return True


def _note_late_result(order: Order, state: str, message: str, upstream_ref: str) -> None:
    """Someone changed the order (e.g. cancelled it) while a step ran: keep what the step made.

    An ERP order created meanwhile must stay visible, or nobody would know to cancel it there.
    """
    logger.info("order %s changed while a step ran; not moving it to %s", order.pk, state)
    Order.objects.filter(pk=order.pk).update(
        erp_customer_number=order.erp_customer_number, erp_order_number=order.erp_order_number
    )
    OrderEvent.objects.create(
        order=order,
        step="late_result",
        outcome=OrderEvent.Outcome.WARNING,
        message=f"{message} This finished after the order was changed by someone else; "
        "check it in the ERP.",
        upstream_ref=upstream_ref,
    )


def _retry_later(order: Order, exc: RetryableError) -> StepResult:
    attempts = order.attempts + 1
    if attempts >= max_attempts():
        return _fail(order, f"Gave up after {attempts} attempts: {exc}")
    delay = backoff_seconds(attempts, exc.retry_after)
    with transaction.atomic():
        Order.objects.filter(pk=order.pk, state=order.state).update(
            attempts=attempts,
            lease_until=None,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            state_message=f"Waiting to retry: {exc}",
        )
        OrderEvent.objects.create(
            order=order,
            step="retry_scheduled",
            outcome=OrderEvent.Outcome.WARNING,
            message=f"Attempt {attempts} failed ({exc}); retrying in {delay:.0f} s.",
        )
    logger.info("order %s retry in %.1fs: %s", order.pk, delay, exc)
    return StepResult(order.state, retry_in=delay)


def _needs_attention(order: Order, exc: PermanentError) -> StepResult:
    message = str(exc) if exc.hint in (str(exc), exc.message) else f"{exc} — {exc.hint}"
    return _park(order, Order.State.NEEDS_ATTENTION, message)


def _fail(order: Order, message: str) -> StepResult:
    return _park(order, Order.State.FAILED, message)


def _park(order: Order, state: str, message: str) -> StepResult:
    with transaction.atomic():
        Order.objects.filter(pk=order.pk, state=order.state).update(
            state=state,
            state_message=message,
            lease_until=None,
            next_attempt_at=None,
            attempts=order.attempts + (1 if state == Order.State.FAILED else 0),
        )
        OrderEvent.objects.create(
            order=order, step=state, outcome=OrderEvent.Outcome.ERROR, message=message
        )
    record_activity(f"order.{state}", actor="worker", obj=order, outcome="failure", message=message)
    return StepResult(state)
