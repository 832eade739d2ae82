"""Invoices read from M3, the *Invoiced* rule, generate invoice, and the store status update.

M3 creates customer-order invoices itself once a delivery is reported (contract §4e): the hub
reads them (`OIS350MI/LstAllInvByCO`), and "generate invoice" asks M3 to invoice what is ready,
which means approving deliveries waiting for approval (`OIS155MI/Approve`, delivery status 61)
and reading what M3 invoiced. An order is *Invoiced* once it has an ERP invoice and its money is
in: nothing remains to pay in M3 (`RAFC = 0`), or the store reports the order paid. The store
is then told once, through a `StoreStatusUpdate` work item; a store order split between tenants
is told once for all its parts, when the last of them is invoiced (`tenants.store_order_parts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.errors import RetryableError, UpstreamError, ValidationError
from connectors.m3 import M3Client
from connectors.m3.records import M3Invoice
from core import keys, sweeper, work
from invoicing.models import Invoice, StoreStatusMapping, StoreStatusUpdate
from orders import state
from orders.models import Order, OrderEvent
from orders.round_robin import next_in_turn
from tenant_settings.connection_clients import erp_client
from tenants import store_order_parts
from tenants.models import Store
from tenants.store_clients import api2cart_for_store
from tenants.store_order_parts import StatusTurn, StoreOrderKey, Turn

logger = logging.getLogger("hub.invoicing")

OrderState = Order.State
OPEN_STATES = (
    OrderState.IN_ERP,
    OrderState.SENT_TO_SHIPSTATION,
    OrderState.PARTIALLY_SHIPPED,
    OrderState.SHIPPED,
)
"""Orders in M3 whose invoice or payment may still come."""
STORE_STATUS_TASK = "invoicing.push_store_status"
READ_TASK = "invoicing.read_invoices"
PAID_AT_STORE = {"paid"}
DEFAULT_STATUS_NAMES = ("invoiced", "completed", "complete", "paid", "closed")
"""Preferred store statuses for *Invoiced*, in order, when no mapping was chosen."""
APPROVAL_NEEDED = "61"
APPROVER = "HUB"
"""`APBY` of `OIS155MI/Approve`: the M3 user the approval is recorded for."""
DELIVERY_STATUS_WORDS = {
    "05": "picking lists to report",
    "60": "ready for invoicing",
    "61": "approval needed",
    "68": "not to be invoiced",
    "69": "invoicing in progress",
    "70": "invoiced",
    "75": "invoiced and recorded",
    "80": "AR/GL updated",
}


# --- Reading invoices ---------------------------------------------------------------------------


def record_invoices(order: Order, found: list[M3Invoice]) -> list[Invoice]:
    """Upsert one row per ERP invoice (idempotent on IVNO + YEA4)."""
    now = timezone.now()
    kept = []
    for erp in found:
        if not erp.invoice_number:
            continue
        invoice, _ = Invoice.objects.update_or_create(
            erp_invoice_number=erp.invoice_number,
            year=int(erp.year or now.year),
            defaults={
                "order": order,
                "extended_number": erp.raw.get("EXIN", ""),
                "invoice_date": erp.invoice_date,
                "due_date": erp.due_date,
                "amount": erp.amount,
                "remaining_amount": erp.remaining,
                "currency": erp.currency or order.currency,
            },
        )
        if invoice.is_paid and invoice.paid_at is None:
            Invoice.objects.filter(pk=invoice.pk).update(paid_at=now)
            invoice.paid_at = now
        kept.append(invoice)
    return kept


def paid_at_store(order: Order) -> bool:
    """The store's own word: the stored store order says it is paid."""
    payload = order.payload if isinstance(order.payload, dict) else {}
    return str(payload.get("financial_status", "")).lower() in PAID_AT_STORE


def settle(order: Order) -> bool:
    """Move the order to *Invoiced* when its money is in; returns True when it is Invoiced."""
    invoices = list(order.invoices.order_by("year", "erp_invoice_number"))
    if order.state == OrderState.INVOICED:
        if invoices:
            request_store_status(order, invoices[-1])
        return True
    if not invoices or order.state not in OPEN_STATES:
        return False
    paid_in_erp = all(invoice.is_paid for invoice in invoices)
    if not (paid_in_erp or paid_at_store(order)):
        return False
    last = invoices[-1]
    why = "nothing remains to pay in the ERP" if paid_in_erp else "the store reports it paid"
    with transaction.atomic():
        moved = state.move(
            order,
            OrderState.INVOICED,
            message=f"Invoice {last.erp_invoice_number}: {why}.",
            step="invoiced",
            upstream_ref=last.erp_invoice_number,
        )
        if moved:
            request_store_status(order, last)
    return moved


def read_order_invoices(order: Order, found: list[M3Invoice]) -> list[Invoice]:
    """Record the order's ERP invoices as M3 listed them and apply the *Invoiced* rule."""
    invoices = record_invoices(order, found)
    settle(order)
    return invoices


@dataclass
class ReadReport:
    orders: int = 0
    invoices: int = 0
    invoiced: int = 0
    errors: list[str] = field(default_factory=list)


def read_invoices(limit: int | None = None) -> ReadReport:
    """The scheduled read: open orders with an ERP number, `limit` of them in turn, read
    together in bulk calls (`BULK_READS` orders each).

    An M3 error on one order is logged and the run goes on; an outage ends the run (the next
    tick tries again).
    """
    report = ReadReport()
    orders = Order.objects.filter(state__in=OPEN_STATES).exclude(erp_order_number="")
    cap = limit or settings.HUB_SWEEP_CAP_PER_TENANT
    orders = next_in_turn(orders, "erp-invoices", cap)
    try:
        found = erp_client().each_order_invoices(order.erp_order_number for order in orders)
    except UpstreamError as exc:
        report.errors.append(str(exc))
        logger.warning("invoices not read: %s", exc)
        return report
    for order in orders:
        report.orders += 1
        invoices_found = found[order.erp_order_number]
        if isinstance(invoices_found, UpstreamError):
            report.errors.append(f"{order}: {invoices_found}")
            logger.warning("invoices of %s not read: %s", order, invoices_found)
            continue
        invoices = read_order_invoices(order, invoices_found)
        report.invoices += len(invoices)
        report.invoiced += order.state == OrderState.INVOICED
    return report


INVOICE_READ_KEY = "invoicing:read"


def _invoices_may_come() -> bool:
    """What makes an invoice read needed: orders in M3 still open for an invoice."""
    return Order.objects.filter(state__in=OPEN_STATES).exclude(erp_order_number="").exists()


def due_invoice_read(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: read invoices at most every `HUB_INVOICE_READ_SECONDS` per tenant schema."""
    if not _invoices_may_come():
        return []
    return sweeper.once_every(INVOICE_READ_KEY, settings.HUB_INVOICE_READ_SECONDS)


def next_invoice_read(now: datetime) -> datetime | None:
    """Every `HUB_INVOICE_READ_SECONDS` while orders wait for an invoice; never otherwise."""
    return sweeper.next_time(INVOICE_READ_KEY, now) if _invoices_may_come() else None


# --- Generate invoice ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """What "generate invoice" achieved, in words a person can act on."""

    ok: bool
    message: str
    invoices: tuple[Invoice, ...] = ()


def _delivery_words(number: str, status: str) -> str:
    words = DELIVERY_STATUS_WORDS.get(status)
    if words is None and "62" <= status <= "67":
        words = "not ready for invoicing"
    return f"delivery {number} has status {status}" + (f" ({words})" if words else "")


def generate_invoice(order: Order, actor: str) -> Generated:
    """Ask M3 to invoice what is ready and record the outcome on the order's timeline."""
    if not order.erp_order_number:
        return _noted(order, actor, Generated(False, "The order is not in the ERP yet."))
    try:
        client = erp_client()
        approved, statuses = _approve_ready_deliveries(order, client)
        invoices = record_invoices(order, client.order_invoices(order.erp_order_number))
    except UpstreamError as exc:
        return _noted(order, actor, Generated(False, f"The ERP answered: {exc}"))
    settle(order)
    if invoices:
        numbers = ", ".join(i.erp_invoice_number for i in invoices)
        return _noted(order, actor, Generated(True, f"ERP invoice {numbers}.", tuple(invoices)))
    if approved:
        message = (
            f"The ERP approved {', '.join(approved)} for invoicing; its invoicing run makes the "
            "invoice, which the hub reads on its next pass."
        )
        return _noted(order, actor, Generated(True, message))
    return _noted(order, actor, Generated(False, _not_ready(order, client, statuses)))


def _approve_ready_deliveries(order: Order, client: M3Client) -> tuple[list[str], dict[str, str]]:
    """Approve deliveries M3 holds for approval; returns them and every delivery's status."""
    statuses: dict[str, str] = {}
    for line in client.order_lines(order.erp_order_number):
        if line.delivered <= 0:
            continue
        for delivery in client.delivery_lines(order.erp_order_number, line.line_number):
            statuses[delivery.delivery_number] = delivery.status
    approved = []
    waiting = [number for number, status in statuses.items() if status == APPROVAL_NEEDED]
    if waiting:
        terms = client.get_order_head(order.erp_order_number).raw.get("TEPY", "")
        for number in waiting:
            warehouse = client.get_delivery(number).raw.get("WHLO", "")
            client.approve_delivery(order.erp_order_number, warehouse, number, terms, APPROVER)
            approved.append(f"delivery {number}")
    return approved, statuses


def _not_ready(order: Order, client: M3Client, statuses: dict[str, str]) -> str:
    """Why M3 has no invoice yet, from M3's own statuses."""
    if statuses:
        said = "; ".join(_delivery_words(n, s) for n, s in sorted(statuses.items()))
        return f"The ERP cannot invoice yet: {said}."
    head = client.get_order_head(order.erp_order_number)
    return (
        f"The ERP cannot invoice yet: order {head.order_number} has status "
        f"{head.lowest_status}-{head.highest_status} and no delivery has been reported; M3 "
        "invoices a delivery once it is reported."
    )


def _noted(order: Order, actor: str, outcome: Generated) -> Generated:
    OrderEvent.objects.create(
        order=order,
        step="generate_invoice",
        outcome=OrderEvent.Outcome.SUCCESS if outcome.ok else OrderEvent.Outcome.WARNING,
        message=outcome.message,
        actor=actor,
    )
    return outcome


# --- The store status update --------------------------------------------------------------------


def request_store_status(order: Order, invoice: Invoice) -> None:
    """Create the order's one store status update (never a second) and send it to a worker."""
    if order.store_id is None:
        return
    update, created = StoreStatusUpdate.objects.get_or_create(
        order=order, defaults={"invoice": invoice}
    )
    if created:
        work.schedule(update)


def mapped_status(store: Store) -> str:
    """The store's status for *Invoiced*: the tenant's mapping, else a default it then keeps."""
    mapping = StoreStatusMapping.objects.filter(store_id=store.pk).first()
    if mapping:
        return mapping.invoiced_status
    status = default_status(store)
    StoreStatusMapping.objects.get_or_create(
        store_id=store.pk, defaults={"invoiced_status": status}
    )
    return status


def default_status(store: Store) -> str:
    statuses = api2cart_for_store(store).order_statuses()
    by_name = {s.name.strip().lower(): s.id for s in statuses}
    by_name.update({s.id.strip().lower(): s.id for s in statuses})
    for name in DEFAULT_STATUS_NAMES:
        if name in by_name:
            return by_name[name]
    offered = ", ".join(s.name or s.id for s in statuses) or "none"
    raise work.NeedsAttention(
        f"No order status of store {store.name} means invoiced (it offers: {offered}).",
        hint="Choose the store's Invoiced status under Invoicing › Store status mappings.",
    )


def send_store_status(update: StoreStatusUpdate) -> work.Done:
    """One `order.update` with the mapped status and a comment carrying the invoice number;
    for a part of a store order split between tenants, only when its turn says so."""
    order = update.order
    turn = store_status_turn(update)
    if turn.turn == Turn.WAIT:
        return work.Done()  # moved to *waiting* under the parts' lock
    if turn.turn == Turn.OTHER:
        _note_store_status([order.pk], _BY_OTHER_PART)
        return work.Done(StoreStatusUpdate.State.SENT_BY_OTHER_PART, {"comment": _BY_OTHER_PART})
    store = Store.objects.get(pk=order.store_id)
    status = mapped_status(store)
    comment = f"Invoiced: ERP invoice {update.invoice.erp_invoice_number}"
    client = api2cart_for_store(store)
    try:
        client.update_order(
            order.order_number,  # the store-facing order_id (the store's `id` is store_order_id)
            order_status=status,
            comment=comment,
            idempotency_key=keys.outside_key(keys.STORE_STATUS, update.pk, update.attempts),
        )
    except ValidationError as exc:
        raise work.NeedsAttention(
            f"Store {store.name} refused order status {status!r} for Invoiced ({exc}).",
            hint=f"Choose one of store {store.name}'s own statuses for Invoiced under "
            "Invoicing › Store status mappings, then retry.",
        ) from exc
    held = client.order_status(order.order_number)
    if status.strip().casefold() not in {held.id.strip().casefold(), held.name.strip().casefold()}:
        raise RetryableError(
            f"The store still shows status {held.name or held.id or 'none'!r} after order.update "
            f"to {status!r}; it is sent again with a new idempotency key.",
            upstream="api2cart",
        )
    OrderEvent.objects.create(
        order=order,
        step="store_status",
        outcome=OrderEvent.Outcome.SUCCESS,
        message=f"Store order status set to {status!r} ({comment}).",
        upstream_ref=update.invoice.erp_invoice_number,
    )
    return work.Done(
        StoreStatusUpdate.State.SENT,
        {"order_status": status, "comment": comment, "sent_at": timezone.now()},
    )


def push_store_status(update_id: int) -> str:
    return work.process(StoreStatusUpdate, update_id, send_store_status)


# --- Store orders split between tenants ---------------------------------------------------------

PART_STATES = (
    OrderState.PARTIALLY_SHIPPED,
    OrderState.SHIPPED,
    OrderState.INVOICED,
    OrderState.CANCELLED,
    OrderState.HISTORY,
)
"""Order states whose progress the other parts of a shared store order see."""
NEVER_INVOICED = (OrderState.CANCELLED, OrderState.HISTORY)
_BY_OTHER_PART = (
    "The store order is split between tenants; its status is written once, by the update of "
    "the part invoiced last."
)


def store_status_turn(update: StoreStatusUpdate) -> StatusTurn:
    """Whether this update writes its store order's status now, in one short transaction that
    also records the outcome: a wait on this update, or a claim on the other parts' waiting
    updates (which then need no worker)."""
    order = update.order
    with transaction.atomic():
        turn = store_order_parts.claim_status_write(order.store_id, order.store_order_id)
        if turn.turn == Turn.WAIT:
            _wait_for_other_parts(update, turn)
        elif turn.claimed_now:
            _settle_other_parts(order, turn.others)
    return turn


def _wait_for_other_parts(update: StoreStatusUpdate, turn: StatusTurn) -> None:
    message = f"{turn.progress}; the store status is written when every part is."
    waiting = StoreStatusUpdate.objects.filter(
        pk=update.pk, state=StoreStatusUpdate.State.PENDING
    ).update(state=StoreStatusUpdate.State.WAITING, comment=message, updated_at=timezone.now())
    if waiting:
        update.state = StoreStatusUpdate.State.WAITING
        _note_store_status([update.order_id], message)


def _settle_other_parts(order: Order, schemas: tuple[str, ...]) -> None:
    """The other parts' waiting updates end here: this part writes the status for all."""
    for schema in schemas:
        with schema_context(schema):
            waiting = dict(
                StoreStatusUpdate.objects.filter(
                    _of_store_orders([(order.store_id, order.store_order_id)]),
                    state=StoreStatusUpdate.State.WAITING,
                ).values_list("pk", "order_id")
            )
            StoreStatusUpdate.objects.filter(
                pk__in=waiting, state=StoreStatusUpdate.State.WAITING
            ).update(
                state=StoreStatusUpdate.State.SENT_BY_OTHER_PART,
                comment=_BY_OTHER_PART,
                updated_at=timezone.now(),
            )
            _note_store_status(list(waiting.values()), _BY_OTHER_PART)


def _note_store_status(order_ids: list[int], message: str) -> None:
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=order_id,
            step="store_status",
            outcome=OrderEvent.Outcome.INFO,
            message=message,
        )
        for order_id in order_ids
    )


def part_progress(to: str) -> Callable[[list[Order]], None]:
    """The `state.on_enter` callback recording this tenant's parts' progress in public (one
    UPDATE, matching nothing for store orders served by one tenant, none for storeless ones)."""

    def record(orders: list[Order]) -> None:
        keys = {(o.store_id, o.store_order_id) for o in orders if o.store_id is not None}
        if store_order_parts.record_progress(keys, to) and to in NEVER_INVOICED:
            _wake_waiting_parts(keys)

    return record


def _wake_waiting_parts(store_orders: set[StoreOrderKey]) -> None:
    """A part that ends without an invoice may be the last one an invoiced part waits for: the
    waiting updates go back to work and decide again under the parts' lock. Always, since two
    parts cancelled at once each read the other as unfinished."""
    for schema, waited_on in store_order_parts.invoiced_elsewhere(store_orders).items():
        with schema_context(schema):
            ids = list(
                StoreStatusUpdate.objects.filter(
                    _of_store_orders(waited_on), state=StoreStatusUpdate.State.WAITING
                ).values_list("pk", flat=True)
            )
            StoreStatusUpdate.objects.filter(
                pk__in=ids, state=StoreStatusUpdate.State.WAITING
            ).update(
                state=StoreStatusUpdate.State.PENDING,
                next_attempt_at=timezone.now(),
                updated_at=timezone.now(),
            )
            work.schedule_many(StoreStatusUpdate, ids)


def _of_store_orders(keys: list[StoreOrderKey]) -> Q:
    condition = Q()
    for store_id, store_order_id in keys:
        condition |= Q(order__store_id=store_id, order__store_order_id=store_order_id)
    return condition


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=StoreStatusUpdate,
            task=STORE_STATUS_TASK,
            work_states=(StoreStatusUpdate.State.PENDING,),
        )
    )
