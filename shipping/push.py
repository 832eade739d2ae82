"""Sending ERP-confirmed orders to the tenant's ShipStation account, in batches of ≤100.

The `orderKey` is deterministic, so a retry or a crash between ShipStation's answer and our
commit updates the same ShipStation order instead of creating a second one. One pusher runs per
tenant at a time (a PostgreSQL advisory lock keyed by schema); the shared Redis limiter keeps
every worker together within 40 calls per minute per API key.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from connectors import shipstation as ss
from connectors.errors import (
    AuthenticationError,
    PermanentError,
    RetryableError,
)
from core import keys, work
from core.dispatch import dispatch, forget_coalesced
from core.models import WorkAttempt
from orders import state
from orders.addresses import shipstation_address
from orders.models import Order, OrderEvent
from tenant_settings.connection_clients import shipstation_client

logger = logging.getLogger("hub.shipstation")
BATCH_SIZE = 100
PUSH_TASK = "shipping.push_orders_to_shipstation"
ERROR = OrderEvent.Outcome.ERROR


@dataclass
class PushReport:
    sent: int = 0
    failed: int = 0
    retry_in: float | None = None
    busy: bool = False


def shipstation_order_key(order: Order) -> str:
    """Deterministic and unique: one hub order is one ShipStation order, however often sent."""
    return keys.outside_key(keys.ORDER, order.pk)


def request_shipstation_push() -> None:
    """Ask for a push `HUB_SHIPSTATION_PUSH_SECONDS` from now; the orders reaching the ERP in
    the meantime share it, so a burst goes out in calls of up to 100 orders (ShipStation allows
    40 calls a minute).

    When Redis is unreachable nothing is lost: the sweeper finds the orders waiting *in ERP*.
    """
    window = settings.HUB_SHIPSTATION_PUSH_SECONDS
    dispatch(PUSH_TASK, countdown=window, coalesce_seconds=window)


def _advisory_lock_id(schema: str) -> int:
    digest = hashlib.sha256(f"shipstation-push:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def push_orders_to_shipstation() -> PushReport:
    """Send every order waiting in state *in ERP*; loops until none is left."""
    report = PushReport()
    lock_id = _advisory_lock_id(connection.schema_name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        if not cursor.fetchone()[0]:
            report.busy = True
            return report
    try:
        forget_coalesced(PUSH_TASK)
        client = shipstation_client()
        tried: set[int] = set()
        while True:
            batch = list(
                Order.objects.filter(state=Order.State.IN_ERP)
                .exclude(pk__in=tried)
                .prefetch_related("lines")
                .order_by("pk")[:BATCH_SIZE]
            )
            if not batch:
                break
            tried.update(order.pk for order in batch)
            _send_batch(client, batch, report)
    except RetryableError as exc:
        report.retry_in = max(exc.retry_after or 0.0, 5.0)
        logger.info("ShipStation push paused: %s", exc)
    except AuthenticationError as exc:
        report.failed += _park_all(exc)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
    if report.retry_in:
        dispatch(PUSH_TASK, countdown=report.retry_in)
    return report


def _send_batch(client: ss.ShipStationClient, batch: list[Order], report: PushReport) -> None:
    """One createorders call; a refused request is halved until the bad order stands alone.

    ShipStation validates the whole array, so one bad order refuses the request; halving finds
    it in about 2·log2(n) calls instead of n, which matters at 40 calls a minute.
    """
    sendable = []
    for order in batch:
        problem = _unsendable(order)
        if problem:
            _mark_rejected(order, problem)
            report.failed += 1
        else:
            sendable.append(order)
    if not sendable:
        return
    by_key = {shipstation_order_key(order): order for order in sendable}
    started, clock = timezone.now(), time.monotonic()
    try:
        results = client.create_orders(shipstation_request(order) for order in sendable)
    except AuthenticationError as exc:
        _record_attempt(sendable, started, clock, WorkAttempt.Outcome.NEEDS_ATTENTION, str(exc))
        raise
    except RetryableError as exc:
        _record_attempt(sendable, started, clock, WorkAttempt.Outcome.RETRY, str(exc))
        raise
    except PermanentError as exc:
        if len(sendable) == 1:
            _record_attempt(sendable, started, clock, WorkAttempt.Outcome.NEEDS_ATTENTION, str(exc))
            _mark_rejected(sendable[0], f"{exc} — {exc.hint}")
            report.failed += 1
            return
        half = len(sendable) // 2
        _send_batch(client, sendable[:half], report)
        _send_batch(client, sendable[half:], report)
        return
    _record_attempt(sendable, started, clock, WorkAttempt.Outcome.SUCCEEDED, "")
    answered = set()
    sent = []
    for result in results:
        order = by_key.get(result.order_key)
        if order is None:
            continue
        answered.add(order.pk)
        if result.success and result.order_id:
            sent.append(_sent(order, str(result.order_id), result.order_key))
        else:
            _mark_rejected(order, result.error_message or "no reason given")
            report.failed += 1
    report.sent += len(state.move_together(sent, Order.State.SENT_TO_SHIPSTATION))
    for order in sendable:
        if order.pk not in answered:
            _mark_rejected(order, "ShipStation's answer did not mention this order.")
            report.failed += 1


def _record_attempt(orders: list[Order], started, clock: float, outcome: str, error: str) -> None:
    work.record_attempts(
        Order,
        [order.pk for order in orders],
        started=started,
        seconds=time.monotonic() - clock,
        outcome=outcome,
        upstream="shipstation",
        error=error,
    )


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
    """The order as ShipStation takes it; the money is this part's (docs/adr-0006)."""
    address = shipstation_address(
        order.ship_to or {}, fallback_name=order.customer_email or order.order_number
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
        items=[
            ss.OrderItem(
                sku=line.sku,
                name=line.name or line.sku,
                quantity=int(line.quantity),
                unit_price=line.unit_price,
                line_item_key=str(line.line_number),
            )
            for line in order.lines.all()
        ],
    )


def _sent(order: Order, shipstation_id: str, key: str) -> state.Transition:
    """An order ShipStation took; the batch's orders move together (one transaction)."""
    return state.Transition(
        order,
        f"ShipStation order {shipstation_id} (orderKey {key}).",
        upstream_ref=shipstation_id,
        fields={"shipstation_order_id": shipstation_id, "shipstation_order_key": key},
    )


def _mark_rejected(order: Order, message: str) -> None:
    text = f"ShipStation refused the order: {message}"
    state.move(
        order,
        Order.State.NEEDS_ATTENTION,
        message=text,
        step="shipstation_rejected",
        outcome=ERROR,
        state_message=text,
    )


def _park_all(exc: PermanentError) -> int:
    """Refused credentials stop every waiting order with the same explanation; returns how many."""
    message = f"{exc} — {exc.hint}"
    waiting = list(Order.objects.filter(state=Order.State.IN_ERP))
    return len(
        state.move_many(
            waiting,
            Order.State.NEEDS_ATTENTION,
            message=message,
            step="shipstation_rejected",
            state_message=message,
        )
    )
