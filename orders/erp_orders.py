"""Creating the ERP customer order exactly once (OIS100MI batch order).

Guards, in order: the real order number already stored → done; a stored temporary number that
M3 has confirmed → adopt it; when an earlier attempt asked for a batch order (its timeline says
so), an existing order with our CUOR → adopt it; otherwise build a new batch order, noting the
request before `AddBatchHead` and storing the temporary number right after it, so a crash at any
point is resumed. A first attempt thus costs three M3 calls: `AddBatchHead`, one bulk of the
address and lines, `Confirm`.

The order is confirmed only when M3 processed every `AddBatchLine` without an error. Lines a
bulk run did not get to (`notProcessed`, contract §3.4) are sent again to the same batch order
while each round gets further; a round that gets nowhere is a retryable error, and the next
attempt deletes the batch order and rebuilds it whole. A line M3 refuses sends the order to
*needs attention* with M3's own words, naming the line.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings as hub_settings
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from catalog.models import ItemBinding
from integration_hub.connectors.errors import M3TransactionError, PermanentError, RetryableError
from integration_hub.connectors.m3 import (
    BulkTransaction,
    M3Client,
    M3OrderHead,
    NewM3OrderHead,
    NewM3OrderLine,
    is_no_such_record,
)
from orders.addresses import erp_address
from orders.models import Order, OrderEvent, OrderLine
from orders.state import record_late_result
from tenant_settings.models import ConnectionSettings

BATCH_HEAD_REQUESTED = "erp_batch_head_requested"
"""Timeline step written (and committed) before every `AddBatchHead`: the durable sign that M3
may hold a batch order, or even an order, for this hub order."""


class ErpRejected(PermanentError):
    """The ERP refused the order; the message carries the ERP's own words."""


@dataclass(frozen=True)
class ErpOrderRef:
    order_number: str
    how: str


def customer_order_ref(order: Order) -> str:
    """CUOR (20 characters): the hub's own order id, unique in the tenant and stable on retries.

    The store's order number is not unique enough (two stores both have #1001, and long numbers
    collide when cut to 20 characters); it goes to YREF for people instead.
    """
    return f"HUB{order.pk}"


def erp_item_numbers(order: Order, settings: ConnectionSettings) -> dict[str, str]:
    """SKU → ERP item: the catalog binding when there is one, else the SKU itself (if allowed)."""
    skus = {line.sku for line in order.lines.all()}
    bound = dict(
        ItemBinding.objects.filter(store_id=order.store_id, sku__in=skus).values_list(
            "sku", "erp_item_number"
        )
    )
    missing = sorted(skus - bound.keys())
    if missing and not settings.sku_is_erp_item:
        raise PermanentError(
            f"No ERP item for SKU(s) {', '.join(missing)}",
            hint="Bind the SKU(s) to ERP items in Catalog › Item bindings, then retry.",
        )
    return {sku: bound.get(sku, sku) for sku in skus}


def create_erp_order(order: Order, erp: M3Client, settings: ConnectionSettings) -> ErpOrderRef:
    if order.erp_order_number:
        return ErpOrderRef(order.erp_order_number, "already recorded")
    rebuilding = bool(order.erp_temporary_order_number)
    if rebuilding:
        confirmed = _confirmed_number(erp, order.erp_temporary_order_number)
        if confirmed:
            return ErpOrderRef(confirmed, "confirmed before a restart")
        _discard_batch(erp, order, "Unconfirmed ERP batch order {number} from an earlier "
                       "attempt was deleted; rebuilding it.")  # fmt: skip

    ref = customer_order_ref(order)
    if rebuilding or _batch_head_requested_before(order):
        existing = find_by_customer_order_ref(
            erp, order.erp_customer_number, ref
        ) or _find_in_customer_orders(erp, order.erp_customer_number, ref)
        if existing:
            return ErpOrderRef(existing, f"found by CUOR {ref}")

    prefetch_related_objects([order], "lines")  # read once, for the items and the lines
    items = erp_item_numbers(order, settings)
    OrderEvent.objects.create(
        order=order,
        step=BATCH_HEAD_REQUESTED,
        message=f"Opening an ERP batch order (CUOR {ref}).",
    )
    temporary = erp.add_batch_head(
        NewM3OrderHead(
            customer_number=order.erp_customer_number,
            customer_order_ref=ref,
            order_type=settings.erp_order_type,
            warehouse=settings.erp_warehouse,
            order_date=order.ordered_at.date() if order.ordered_at else None,
            currency=order.currency,
            your_reference=f"{order.order_number} ({order.get_source_display()})"[:36],
        )
    )
    Order.objects.filter(pk=order.pk).update(erp_temporary_order_number=temporary)
    order.erp_temporary_order_number = temporary
    OrderEvent.objects.create(
        order=order,
        step="erp_batch_head",
        message=f"ERP batch order {temporary} opened (CUOR {ref}).",
        upstream_ref=temporary,
    )
    _add_lines(erp, order, temporary, items, settings)
    try:
        real = erp.confirm_order(temporary)
    except M3TransactionError as exc:
        raise ErpRejected(_erp_errors(erp, temporary, exc), hint=exc.hint) from exc
    if not real:
        raise ErpRejected(_erp_errors(erp, temporary, None), hint="See the ERP's messages.")
    return ErpOrderRef(real, "created")


def _add_lines(
    erp: M3Client,
    order: Order,
    temporary: str,
    items: dict[str, str],
    settings: ConnectionSettings,
) -> None:
    """The delivery address and every line into the batch order, in one bulk call per round
    (the address first), or an exception: never returns with the address or a line missing."""
    address = erp_address(order.ship_to) if order.ship_to else None
    pending = [
        (
            line,
            NewM3OrderLine(
                item_number=items[line.sku],
                quantity=line.quantity,
                price=line.unit_price,
                warehouse=settings.erp_warehouse,
            ),
        )
        for line in order.lines.all()
    ]
    while pending or address:
        sent = (
            [BulkTransaction("AddBatchAddress", {"ORNO": temporary, **address.to_fields()})]
            if address
            else []
        )
        sent += [
            BulkTransaction("AddBatchLine", {"ORNO": temporary, **new.to_fields()})
            for _, new in pending
        ]
        results = erp.execute_bulk("OIS100MI", sent)
        if len(results) != len(sent):
            raise RetryableError(
                f"M3 answered {len(results)} results for {len(sent)} transactions",
                upstream="m3",
            )
        address_done = False
        if address:
            address_result, results = results[0], results[1:]
            if address_result.refused:
                address_result.raise_for_error()
            address_done = address_result.ok
            address = None if address_done else address
        answered = list(zip(pending, results, strict=True))
        refused = [(line, result.error) for (line, _), result in answered if result.refused]
        if refused:
            raise ErpRejected(
                "The ERP refused order lines: "
                + "; ".join(f"{_line_name(line)}: {_erp_words(error)}" for line, error in refused),
                hint="Check the SKU bindings or the items in the ERP, then retry.",
                upstream="m3",
            )
        left = [entry for entry, result in answered if not result.processed]
        unsent = ["the delivery address"] if address else []
        names = ", ".join([*(_line_name(line) for line, _ in left), *unsent])
        if len(left) == len(pending) and not address_done:
            reasons = {_erp_words(r.error) for r in results if r.error is not None}
            why = f" ({'; '.join(sorted(reasons))})" if reasons else ""
            raise RetryableError(
                f"M3 did not process {names} of batch order {temporary}{why}; the batch order "
                "will be rebuilt on the next attempt",
                upstream="m3",
            )
        pending = left
        if not left:
            continue
        OrderEvent.objects.create(
            order=order,
            step="erp_lines_not_processed",
            outcome=OrderEvent.Outcome.WARNING,
            message=f"M3 stopped the bulk run partway: {names} not processed in batch order "
            f"{temporary}; sending them again.",
            upstream_ref=temporary,
        )


def _line_name(line: OrderLine) -> str:
    return f"line {line.line_number} (SKU {line.sku})"


def _erp_words(error: M3TransactionError | None) -> str:
    """M3's own message, with the field and code it named."""
    if error is None:
        return "no reason given"
    details = ", ".join(
        part for part in (f"field {error.field}" if error.field else "", error.code or "") if part
    )
    return f"{error.message} ({details})" if details else error.message


def _batch_head_requested_before(order: Order) -> bool:
    """Whether an earlier attempt may have reached `AddBatchHead` without recording its number.

    Only then can M3 hold an order for this hub order that the hub does not know of; a first
    attempt has nothing to look for, so it makes no search call.
    """
    return order.events.filter(step=BATCH_HEAD_REQUESTED).exists()


def find_by_customer_order_ref(erp: M3Client, customer: str, ref: str) -> str | None:
    """OIS100MI/SearchHead on CUOR; exact matches only (search results are fuzzy)."""
    quoted = ref.replace("\\", "\\\\").replace('"', '\\"')
    records = erp.execute(
        "OIS100MI", "SearchHead", {"SQRY": f'CUOR:"{quoted}" AND CUNO:{customer}'}, max_records=20
    )
    for head in map(M3OrderHead.from_record, records):
        if head.customer_order_ref == ref and head.customer_number == customer:
            return head.order_number
    return None


def _find_in_customer_orders(erp: M3Client, customer: str, ref: str) -> str | None:
    """The guard that does not depend on M3's search index (which lags behind new orders).

    Reading all of a customer's orders is costly, so it runs only when an earlier attempt asked
    for a batch order: the one case where an order could exist that the hub did not record.
    """
    for head in erp.orders_for_customer(customer):
        if head.customer_order_ref == ref:
            return head.order_number
    return None


def _confirmed_number(erp: M3Client, temporary: str) -> str | None:
    """The real number behind an earlier attempt's batch order, or None to rebuild it.

    M3 answering "no such batch order" means it is gone (deleted in M3, or by a worker that died
    before forgetting its number): nothing to adopt. Any other refusal is raised: rebuilding on
    a doubt could make a second order.
    """
    try:
        return erp.final_order_number(temporary)
    except M3TransactionError as exc:
        if is_no_such_record(exc, "ORNO"):
            return None
        raise


def _discard_batch(erp: M3Client, order: Order, why: str) -> None:
    """Delete an unconfirmed batch order and forget its number (only if still the order's)."""
    number = order.erp_temporary_order_number
    with contextlib.suppress(M3TransactionError):
        erp.execute("OIS100MI", "DelBatchHead", {"ORNO": number})
    OrderEvent.objects.create(
        order=order,
        step="erp_batch_discarded",
        outcome=OrderEvent.Outcome.WARNING,
        message=why.format(number=number),
        upstream_ref=number,
    )
    Order.objects.filter(pk=order.pk, erp_temporary_order_number=number).update(
        erp_temporary_order_number=""
    )
    order.erp_temporary_order_number = ""


def abandoned_batches(grace: timedelta) -> QuerySet[Order]:
    """Orders holding an unconfirmed ERP batch order nobody will confirm: cancelled at once,
    refused or failed ones after `grace` (a person may retry them sooner; the retry rebuilds)."""
    parked = (Order.State.NEEDS_ATTENTION, Order.State.FAILED)
    return (
        Order.objects.filter(erp_order_number="")
        .exclude(erp_temporary_order_number="")
        .filter(
            Q(state=Order.State.CANCELLED)
            | Q(state__in=parked, updated_at__lt=timezone.now() - grace)
        )
    )


def due_batch_discards(now: datetime, stale: datetime) -> list[tuple[int]]:
    """Sweep job: the orders whose open batch order is to be deleted now (a few per tick)."""
    grace = timedelta(minutes=hub_settings.HUB_ERP_BATCH_GRACE_MINUTES)
    return [(pk,) for pk in abandoned_batches(grace).values_list("pk", flat=True)[:50]]


def discard_abandoned_batch(order_id: int, erp: M3Client) -> str:
    """Delete the open ERP batch order a cancelled or parked order left behind.

    If M3 had confirmed it after all, the order number is recorded instead, so nobody loses
    sight of an ERP order that exists.
    """
    order = abandoned_batches(timedelta(0)).filter(pk=order_id).first()
    if order is None:
        return "nothing to discard"
    confirmed = _confirmed_number(erp, order.erp_temporary_order_number)
    if confirmed:
        record_late_result(
            order,
            f"ERP order {confirmed} was confirmed from batch order "
            f"{order.erp_temporary_order_number}.",
            confirmed,
            erp_order_number=confirmed,
        )
        return "confirmed"
    _discard_batch(
        erp, order, "Open ERP batch order {number} deleted: the order is "
        f"{order.get_state_display().lower()} and nobody will confirm it."
    )  # fmt: skip
    return "discarded"


def _erp_errors(erp: M3Client, temporary: str, exc: M3TransactionError | None) -> str:
    records = erp.batch_order_errors(temporary)
    messages = [str(r.get("TX60") or r.get("MSID") or "").strip() for r in records]
    messages = [m for m in messages if m] or [_erp_words(exc)]
    return f"The ERP did not confirm batch order {temporary}: " + "; ".join(messages)
