"""Creating the ERP customer order exactly once (OIS100MI batch order), for many orders together.

Guards, for each order: the real order number already stored → done; a stored temporary number
that M3 has confirmed → adopt it; when an earlier attempt asked for a batch order (its timeline
says so), an existing order with our CUOR → adopt it. The others are built together: the
request is noted on each timeline before `AddBatchHead`, and the temporary numbers are stored
right after it, so a crash at any point is resumed. However many orders, a build costs three
M3 bulk calls: every `AddBatchHead`; every order's address and lines; every `Confirm`.

An order is confirmed only when M3 processed every one of its `AddBatchLine`s without an error.
Lines a bulk run did not get to (`notProcessed`, contract §3.4) are sent again to the same batch
order while each round gets further; a round that gets nowhere is a retryable error, and the next
attempt deletes the batch order and rebuilds it whole. A line M3 refuses sends that order (only
that one) to *needs attention* with M3's own words, naming the line. `Confirm`s a run did not
get to are sent again the same way. A bulk call that fails as a whole (an outage, a broken
answer) is the error of the orders it carried, which retry from their own guards; what was
already decided for the others stands.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings as hub_settings
from django.db.models import Case, Q, QuerySet, Value, When, prefetch_related_objects
from django.utils import timezone

from catalog.models import ItemBinding
from connectors.errors import (
    M3TransactionError,
    PermanentError,
    RetryableError,
    UpstreamError,
)
from connectors.m3 import (
    BulkResult,
    BulkTransaction,
    M3Address,
    M3Client,
    M3OrderHead,
    NewM3OrderHead,
    NewM3OrderLine,
    is_no_such_record,
)
from core import keys
from orders import money
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
    """CUOR: the hub's own order id (`keys.erp_order_reference`)."""
    return keys.erp_order_reference(order.pk)


def erp_item_numbers(orders: list[Order], settings: ConnectionSettings) -> dict[int, Any]:
    """SKU → ERP item per order (the catalog binding, else the SKU itself if allowed), or the
    error naming the SKUs that have none. One query for all the orders."""
    wanted = {(order.store_id, line.sku) for order in orders for line in order.lines.all()}
    bound: dict[tuple, str] = {}
    if wanted:
        rows = ItemBinding.objects.filter(
            store_id__in={store for store, _ in wanted}, sku__in={sku for _, sku in wanted}
        ).values_list("store_id", "sku", "erp_item_number")
        bound = {(store, sku): item for store, sku, item in rows}
    found: dict[int, Any] = {}
    for order in orders:
        skus = {line.sku for line in order.lines.all()}
        missing = sorted(sku for sku in skus if (order.store_id, sku) not in bound)
        if missing and not settings.sku_is_erp_item:
            found[order.pk] = PermanentError(
                f"No ERP item for SKU(s) {', '.join(missing)}",
                hint="Bind the SKU(s) to ERP items in Catalog › Item bindings, then retry.",
            )
        else:
            found[order.pk] = {sku: bound.get((order.store_id, sku), sku) for sku in skus}
    return found


ErpResult = ErpOrderRef | Exception
"""One order's outcome: its ERP order, or the exception it failed with."""


def create_erp_orders(
    orders: list[Order], erp: M3Client, settings: ConnectionSettings
) -> dict[int, ErpResult]:
    """Each order's ERP order: adopted when the guards find one, else built with the others."""
    results: dict[int, ErpResult] = {}
    requested = _batch_heads_requested_before(orders)
    to_build = []
    for order in orders:
        try:
            known = _known_erp_order(order, erp, order.pk in requested)
        except Exception as exc:  # this order's own outcome; the work-item core sorts it out
            results[order.pk] = exc
            continue
        if known:
            results[order.pk] = known
        else:
            to_build.append(order)
    results.update(_build(to_build, erp, settings))
    return results


def _known_erp_order(order: Order, erp: M3Client, requested: bool) -> ErpOrderRef | None:
    if order.erp_order_number:
        return ErpOrderRef(order.erp_order_number, "already recorded")
    rebuilding = bool(order.erp_temporary_order_number)
    if rebuilding:
        confirmed = _confirmed_number(erp, order.erp_temporary_order_number)
        if confirmed:
            return ErpOrderRef(confirmed, "confirmed before a restart")
        _discard_batch(erp, order, "Unconfirmed ERP batch order {number} from an earlier "
                       "attempt was deleted; rebuilding it.")  # fmt: skip
    if rebuilding or requested:
        ref = customer_order_ref(order)
        existing = find_by_customer_order_ref(
            erp, order.erp_customer_number, ref
        ) or _find_in_customer_orders(erp, order.erp_customer_number, ref)
        if existing:
            return ErpOrderRef(existing, f"found by CUOR {ref}")
    return None


@dataclass
class _Build:
    """One order's batch order while it is built: what M3 still has to take."""

    order: Order
    address: M3Address | None
    pending: list[tuple[OrderLine, NewM3OrderLine]]
    temporary: str = ""


def _build(
    orders: list[Order], erp: M3Client, settings: ConnectionSettings
) -> dict[int, ErpResult]:
    results: dict[int, ErpResult] = {}
    if not orders:
        return results
    prefetch_related_objects(orders, "lines")  # read once, for the items and the lines
    items_of = erp_item_numbers(orders, settings)
    builds = []
    for order in orders:
        items = items_of[order.pk]
        if isinstance(items, Exception):
            results[order.pk] = items
        else:
            builds.append(_build_of(order, items, settings))
    results.update(_open_batch_orders(erp, builds, settings))
    opened = [build for build in builds if build.order.pk not in results]
    results.update(_add_lines(erp, opened))
    results.update(_confirm(erp, [build for build in opened if build.order.pk not in results]))
    return results


def _build_of(order: Order, items: dict[str, str], settings: ConnectionSettings) -> _Build:
    """What M3 is to take for the order: its delivery address and every line."""
    lines = [
        (
            line,
            NewM3OrderLine(
                item_number=items[line.sku],
                quantity=line.quantity,
                price=erp_unit_price(order, line, settings.erp_line_prices),
                warehouse=settings.erp_warehouse,
                discount_amount=line.discount_amount or None,
            ),
        )
        for line in order.lines.all()
    ]
    return _Build(order, erp_address(order.ship_to) if order.ship_to else None, lines)


def erp_unit_price(order: Order, line: OrderLine, prices: str) -> Decimal:
    """The line's unit price as the tenant's M3 takes it: net of tax (M3 adds the tax from
    the customer's tax code), with tax, or as the store's order has it (docs/adr-0006)."""
    if prices == "gross":
        return money.gross_unit_price(
            line.unit_price, line.quantity, line.tax_amount, order.prices_include_tax
        )
    if prices == "net":
        return money.net_unit_price(
            line.unit_price, line.quantity, line.tax_amount, order.prices_include_tax
        )
    return line.unit_price


def _open_batch_orders(
    erp: M3Client, builds: list[_Build], settings: ConnectionSettings
) -> dict[int, Exception]:
    """Every `AddBatchHead` in one bulk call, noted on the timelines (committed) before it."""
    if not builds:
        return {}
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=build.order,
            step=BATCH_HEAD_REQUESTED,
            message=f"Opening an ERP batch order (CUOR {customer_order_ref(build.order)}).",
        )
        for build in builds
    )
    heads = [BulkTransaction("AddBatchHead", _head(b.order, settings).to_fields()) for b in builds]
    failed: dict[int, Exception] = {}
    answers = _each_answered(erp, builds, heads, failed)
    if answers is None:
        return failed
    for build, answer in zip(builds, answers, strict=True):
        build.temporary = str((answer.records or [{}])[0].get("ORNO") or "") if answer.ok else ""
        if not answer.ok or not build.temporary:
            failed[build.order.pk] = _failure_of(answer, "AddBatchHead")
    opened = [build for build in builds if build.temporary]
    if opened:
        Order.objects.filter(pk__in=[b.order.pk for b in opened]).update(
            erp_temporary_order_number=Case(
                *(When(pk=b.order.pk, then=Value(b.temporary)) for b in opened),
                output_field=Order._meta.get_field("erp_temporary_order_number"),
            )
        )
        OrderEvent.objects.bulk_create(
            OrderEvent(
                order=b.order,
                step="erp_batch_head",
                message=f"ERP batch order {b.temporary} opened "
                f"(CUOR {customer_order_ref(b.order)}).",
                upstream_ref=b.temporary,
            )
            for b in opened
        )
        for build in opened:
            build.order.erp_temporary_order_number = build.temporary
    return failed


def _head(order: Order, settings: ConnectionSettings) -> NewM3OrderHead:
    return NewM3OrderHead(
        customer_number=order.erp_customer_number,
        customer_order_ref=customer_order_ref(order),
        order_type=settings.erp_order_type,
        warehouse=settings.erp_warehouse,
        order_date=order.ordered_at.date() if order.ordered_at else None,
        currency=order.currency,
        your_reference=f"{order.order_number} ({order.get_source_display()})"[:36],
    )


def _failure_of(answer: BulkResult, transaction: str) -> Exception:
    """Why a bulk transaction did not give what was asked: M3's refusal, or a retryable error."""
    if answer.refused:
        return answer.error  # type: ignore[return-value]
    if not answer.processed:
        try:
            answer.raise_for_error()
        except RetryableError as exc:
            return exc
    return RetryableError(f"M3 answered {transaction} without an order number", upstream="m3")


def _bulk(erp: M3Client, sent: list[BulkTransaction]) -> list[BulkResult]:
    answers = erp.execute_bulk("OIS100MI", sent)
    if len(answers) != len(sent):
        raise RetryableError(
            f"M3 answered {len(answers)} results for {len(sent)} transactions", upstream="m3"
        )
    return answers


def _add_lines(erp: M3Client, builds: list[_Build]) -> dict[int, Exception]:
    """Every order's delivery address and lines, in one bulk call per round (each order's
    address first). Rounds go on while M3 gets further; an order leaves them done or failed."""
    failed: dict[int, Exception] = {}
    active = [build for build in builds if build.address or build.pending]
    while active:
        sent: list[BulkTransaction] = []
        spans = []
        for build in active:
            start = len(sent)
            sent += _still_to_send(build)
            spans.append((build, start, len(sent)))
        answers = _each_answered(erp, active, sent, failed)
        if answers is None:
            break
        got_further = any(answer.processed for answer in answers)
        still = []
        for build, start, end in spans:
            try:
                if _take_round(build, answers[start:end], got_further):
                    still.append(build)
            except Exception as exc:  # this order's own outcome
                failed[build.order.pk] = exc
        active = still
    return failed


def _still_to_send(build: _Build) -> list[BulkTransaction]:
    """The order's address (first, while M3 has not taken it) and its lines still pending."""
    address = (
        [BulkTransaction("AddBatchAddress", {"ORNO": build.temporary, **build.address.to_fields()})]
        if build.address
        else []
    )
    return address + [
        BulkTransaction("AddBatchLine", {"ORNO": build.temporary, **new.to_fields()})
        for _, new in build.pending
    ]


def _take_round(build: _Build, answers: list[BulkResult], got_further: bool) -> bool:
    """Apply one round's answers to one order; True when it has more to send."""
    if build.address:
        address_answer, answers = answers[0], answers[1:]
        if address_answer.refused:
            address_answer.raise_for_error()
        if address_answer.ok:
            build.address = None
    answered = list(zip(build.pending, answers, strict=True))
    refused = [(line, answer.error) for (line, _), answer in answered if answer.refused]
    if refused:
        raise ErpRejected(
            "The ERP refused order lines: "
            + "; ".join(f"{_line_name(line)}: {_erp_words(error)}" for line, error in refused),
            hint="Check the SKU bindings or the items in the ERP, then retry.",
            upstream="m3",
        )
    build.pending = [entry for entry, answer in answered if not answer.processed]
    if not build.pending and not build.address:
        return False
    names = ", ".join(
        [*(_line_name(line) for line, _ in build.pending)]
        + (["the delivery address"] if build.address else [])
    )
    if not got_further:
        reasons = {_erp_words(a.error) for a in answers if a.error is not None}
        why = f" ({'; '.join(sorted(reasons))})" if reasons else ""
        raise RetryableError(
            f"M3 did not process {names} of batch order {build.temporary}{why}; the batch order "
            "will be rebuilt on the next attempt",
            upstream="m3",
        )
    OrderEvent.objects.create(
        order=build.order,
        step="erp_lines_not_processed",
        outcome=OrderEvent.Outcome.WARNING,
        message=f"M3 stopped the bulk run partway: {names} not processed in batch order "
        f"{build.temporary}; sending them again.",
        upstream_ref=build.temporary,
    )
    return True


def _confirm(erp: M3Client, builds: list[_Build]) -> dict[int, ErpResult]:
    """Every complete batch order's `Confirm`, in one bulk call per round: a run M3 stopped
    partway is sent on for the orders it did not get to, while each round gets further."""
    results: dict[int, ErpResult] = {}
    pending = builds
    while pending:
        sent = [BulkTransaction("Confirm", {"ORNO": b.temporary}) for b in pending]
        answers = _each_answered(erp, pending, sent, results)
        if answers is None:
            break
        got_further = any(answer.processed for answer in answers)
        still = []
        for build, answer in zip(pending, answers, strict=True):
            if not answer.processed and got_further:
                still.append(build)
            else:
                results[build.order.pk] = _confirmation(erp, build, answer)
        pending = still
    return results


def _confirmation(erp: M3Client, build: _Build, answer: BulkResult) -> ErpResult:
    real = str((answer.records or [{}])[0].get("ORNO") or "") if answer.ok else ""
    if real:
        return ErpOrderRef(real, "created")
    if not answer.processed:
        return _failure_of(answer, "Confirm")
    error = answer.error
    hint = (error.hint if error else "") or "See the ERP's messages."
    return ErpRejected(_erp_errors(erp, build.temporary, error), hint=hint)


def _each_answered(
    erp: M3Client, builds: list[_Build], sent: list[BulkTransaction], results: dict[int, Any]
) -> list[BulkResult] | None:
    """The bulk call's answers; None when the call itself failed, which is then the error of
    every order in `builds` (the others keep what was decided for them)."""
    try:
        return _bulk(erp, sent)
    except Exception as exc:  # an outage or a broken answer: these orders retry
        results.update({build.order.pk: exc for build in builds})
        return None


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


def _batch_heads_requested_before(orders: list[Order]) -> set[int]:
    """The orders an earlier attempt may have taken to `AddBatchHead` without recording its
    number: only for those can M3 hold an order the hub does not know of, so only they are
    searched for (a first attempt makes no search call). One query for all."""
    unknown = [o.pk for o in orders if not o.erp_order_number and not o.erp_temporary_order_number]
    if not unknown:
        return set()
    return set(
        OrderEvent.objects.filter(order_id__in=unknown, step=BATCH_HEAD_REQUESTED).values_list(
            "order_id", flat=True
        )
    )


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
    """Why M3 would not confirm: its error list for the batch order, else the refusal's words
    (also when the list cannot be read now: one order's reasons never fail its batch)."""
    try:
        records = erp.batch_order_errors(temporary)
    except UpstreamError:
        records = []
    messages = [str(r.get("TX60") or r.get("MSID") or "").strip() for r in records]
    messages = [m for m in messages if m] or [_erp_words(exc)]
    return f"The ERP did not confirm batch order {temporary}: " + "; ".join(messages)
