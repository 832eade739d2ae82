"""Creating the ERP customer order exactly once (OIS100MI batch order), for many orders together.

Recovery first, for the whole batch at once (a first attempt makes no call): the real order
number already stored → done; stored temporary numbers → one bulk `GetOrderNo` adopts those M3
confirmed, one bulk `DelBatchHead` deletes the others; then, for those and for every order an
earlier attempt asked a batch order for (its timeline says so), one bulk `LstHead` per customer
(contract §4b: "use it to check for an existing CUOR") adopts an order M3 has under our CUOR. So a
batch a worker died in costs at most three M3 calls to recover, whatever its size.

The others are built together: the request is noted on each timeline before `AddBatchHead`,
and the temporary numbers are stored right after it, so a crash at any point is resumed.
However many orders, a build costs three M3 bulk calls: every `AddBatchHead`; every order's
address and lines; every `Confirm`.

An `AddBatchHead` whose answer never came back (the worker died, the connection broke) may have
left an open batch order whose number the hub never learned. The contract has no transaction
that lists batch orders, so nothing can find or delete it: the order is flagged
(`erp_batch_check_since`, an `erp_batch_unknown` timeline step) and listed on the tenant's front
page with its CUOR and what to do in M3. Batch orders whose number was stored are deleted by the
hub (on a retry, or by the sweeper after the grace).

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
from collections import defaultdict
from collections.abc import Iterable
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
BATCH_HEAD_OPENED = "erp_batch_head"
BATCH_HEAD_NOT_OPENED = "erp_batch_head_not_opened"
"""M3 answered an `AddBatchHead` without opening a batch order (it refused it, or its run
stopped before it)."""
BATCH_DISCARDED = "erp_batch_discarded"
BATCH_UNKNOWN = "erp_batch_unknown"
"""An `AddBatchHead` got no answer: M3 may hold an open batch order under the order's CUOR that
the hub can neither list nor delete; a person checks M3 (`erp_batch_check_since`)."""
BATCH_CHECKED = "erp_batch_checked"
HEAD_ANSWERS = (BATCH_HEAD_OPENED, BATCH_HEAD_NOT_OPENED, BATCH_DISCARDED, BATCH_UNKNOWN)
"""Timeline steps that settle the `AddBatchHead` requested before them."""


class ErpRejected(PermanentError):
    """The ERP refused the order; the message carries the ERP's own words."""


@dataclass(frozen=True)
class ErpOrderRef:
    order_number: str
    how: str


def customer_order_ref(order: Order) -> str:
    """CUOR: the hub's own order id (`keys.erp_order_reference`)."""
    return keys.erp_order_reference(order.pk)


def bound_items(skus: Iterable[str]) -> dict[str, set[str]]:
    """Each SKU's ERP items by the tenant's catalog bindings in any of its stores: what an order
    from no store (a file, the API, typed in) is sold as. One query."""
    found: dict[str, set[str]] = defaultdict(set)
    wanted = set(skus)
    if wanted:
        rows = ItemBinding.objects.filter(sku__in=wanted).values_list("sku", "erp_item_number")
        for sku, item in rows.distinct():
            found[sku].add(item)
    return found


def erp_item_numbers(orders: list[Order], settings: ConnectionSettings) -> dict[int, Any]:
    """SKU → ERP item per order (the catalog binding, else the SKU itself if allowed), or the
    error naming the SKUs that have none. A store's order takes its store's bindings; an order
    from no store takes the binding of any store, and is refused when two stores bind a SKU to
    different ERP items (the hub never guesses between them). Two queries for all the orders."""
    wanted = {
        (order.store_id, line.sku)
        for order in orders
        if order.store_id is not None
        for line in order.lines.all()
    }
    by_store: dict[tuple, set[str]] = {}
    if wanted:
        rows = ItemBinding.objects.filter(
            store_id__in={store for store, _ in wanted}, sku__in={sku for _, sku in wanted}
        ).values_list("store_id", "sku", "erp_item_number")
        by_store = {(store, sku): {item} for store, sku, item in rows}
    anywhere = bound_items(
        line.sku for order in orders if order.store_id is None for line in order.lines.all()
    )
    found: dict[int, Any] = {}
    for order in orders:
        skus = {line.sku for line in order.lines.all()}
        if order.store_id is None:
            items = {sku: anywhere.get(sku, set()) for sku in skus}
        else:
            items = {sku: by_store.get((order.store_id, sku), set()) for sku in skus}
        found[order.pk] = _items_or_error(items, settings)
    return found


def _items_or_error(items: dict[str, set[str]], settings: ConnectionSettings) -> Any:
    ambiguous = sorted(sku for sku, bound in items.items() if len(bound) > 1)
    if ambiguous:
        named = "; ".join(f"{sku} ({', '.join(sorted(items[sku]))})" for sku in ambiguous)
        return PermanentError(
            f"SKU(s) bound to different ERP items in the tenant's stores: {named}",
            hint="The order came from no store, so no store's binding decides: bind each SKU to "
            "the same ERP item in every store (Catalog › Item bindings), then retry.",
        )
    missing = sorted(sku for sku, bound in items.items() if not bound)
    if missing and not settings.sku_is_erp_item:
        return PermanentError(
            f"No ERP item for SKU(s) {', '.join(missing)}",
            hint="Bind the SKU(s) to ERP items in Catalog › Item bindings, then retry.",
        )
    return {sku: next(iter(bound)) if bound else sku for sku, bound in items.items()}


ErpResult = ErpOrderRef | Exception
"""One order's outcome: its ERP order, or the exception it failed with."""


def create_erp_orders(
    orders: list[Order], erp: M3Client, settings: ConnectionSettings
) -> dict[int, ErpResult]:
    """Each order's ERP order: adopted when what earlier attempts left in M3 is one, else built
    with the others."""
    results: dict[int, ErpResult] = {
        order.pk: ErpOrderRef(order.erp_order_number, "already recorded")
        for order in orders
        if order.erp_order_number
    }
    pending = [order for order in orders if order.pk not in results]
    results.update(_recover(pending, erp))
    results.update(_build([order for order in pending if order.pk not in results], erp, settings))
    return results


def _recover(orders: list[Order], erp: M3Client) -> dict[int, ErpResult]:
    """What earlier attempts of these orders left in M3, read for all of them together: one
    bulk call each for `GetOrderNo`, `DelBatchHead` and `LstHead`, each only when needed."""
    held = [order for order in orders if order.erp_temporary_order_number]
    never_held = [order for order in orders if not order.erp_temporary_order_number]
    results = _adopt_confirmed(erp, held)
    unconfirmed = [order for order in held if order.pk not in results]
    results.update(_discard_batches(erp, unconfirmed))
    answered = _head_requests(never_held)
    _flag_unanswered_heads([order for order in never_held if answered.get(order.pk) is False])
    searched = [order for order in unconfirmed if order.pk not in results] + [
        order for order in never_held if order.pk in answered
    ]
    results.update(_found_by_cuor(erp, searched))
    return results


def _adopt_confirmed(erp: M3Client, held: list[Order]) -> dict[int, ErpResult]:
    """The orders whose stored batch order M3 has confirmed (one bulk `GetOrderNo`), or why one
    could not be read; the others are left out (unconfirmed, or gone)."""
    results: dict[int, ErpResult] = {}
    if not held:
        return results
    sent = [BulkTransaction("GetOrderNo", {"ORNO": o.erp_temporary_order_number}) for o in held]
    answers = _each_answered(erp, [order.pk for order in held], sent, results)
    if answers is None:
        return results
    for order, answer in zip(held, answers, strict=True):
        confirmed = _confirmed_in(answer)
        if isinstance(confirmed, Exception):
            results[order.pk] = confirmed
        elif confirmed:
            results[order.pk] = ErpOrderRef(confirmed, "confirmed before a restart")
    return results


def _confirmed_in(answer: BulkResult) -> str | Exception | None:
    """A `GetOrderNo` answer: the real number, None when the batch order is unconfirmed or gone
    (deleted in M3, or by a worker that died before forgetting its number), or the error: any
    other refusal is a doubt, and rebuilding on a doubt could make a second order."""
    if answer.ok:
        return str((answer.records or [{}])[0].get("ORNR") or "") or None
    if answer.refused and is_no_such_record(answer.error, "ORNO"):  # type: ignore[arg-type]
        return None
    return _failure_of(answer, "GetOrderNo")


def _discard_batches(erp: M3Client, orders: list[Order]) -> dict[int, Exception]:
    """Delete the unconfirmed batch orders of earlier attempts in one bulk `DelBatchHead`, and
    forget their numbers. A refusal is taken as "not there to delete", as it always was; a
    deletion M3 did not get to keeps its number for the next attempt."""
    failed: dict[int, Exception] = {}
    if not orders:
        return failed
    sent = [BulkTransaction("DelBatchHead", {"ORNO": o.erp_temporary_order_number}) for o in orders]
    answers = _each_answered(erp, [order.pk for order in orders], sent, failed)
    if answers is None:
        return failed
    for order, answer in zip(orders, answers, strict=True):
        if not answer.processed:
            failed[order.pk] = _failure_of(answer, "DelBatchHead")
    _forget_batches(
        [order for order in orders if order.pk not in failed],
        "Unconfirmed ERP batch order {number} from an earlier attempt was deleted; rebuilding it.",
    )
    return failed


def _head_requests(orders: list[Order]) -> dict[int, bool]:
    """The orders an earlier attempt took to `AddBatchHead` without recording a number, each
    with whether its last request was answered. Only for these can M3 hold an order the hub does
    not know of, so only they are searched for; an unanswered one may also have left a batch
    order nobody can see. One query for all."""
    pks = [order.pk for order in orders]
    if not pks:
        return {}
    last: dict[int, str] = {}
    for order_id, step in (
        OrderEvent.objects.filter(order_id__in=pks, step__in=(BATCH_HEAD_REQUESTED, *HEAD_ANSWERS))
        .order_by("id")
        .values_list("order_id", "step")
    ):
        if step == BATCH_HEAD_REQUESTED or order_id in last:
            last[order_id] = step
    return {order_id: step != BATCH_HEAD_REQUESTED for order_id, step in last.items()}


def stray_batch_step(order: Order) -> str:
    """What a person does in M3 for an order whose `AddBatchHead` got no answer."""
    kept = order.erp_temporary_order_number
    keep = f" except {kept} (the hub's own, which it deletes itself when due)" if kept else ""
    return (
        "In M3, batch order entry (OIS100): delete every unconfirmed batch order with customer "
        f"order no. {customer_order_ref(order)}{keep}."
    )


def _flag_unanswered_heads(orders: list[Order]) -> None:
    """Flag the orders whose last `AddBatchHead` got no answer, for the front page's list: M3
    may hold a batch order for each that no M3 transaction can list, so only a person can
    delete it. Written before the search, so a failed search cannot lose the flag."""
    if not orders:
        return
    now = timezone.now()
    Order.objects.filter(
        pk__in=[order.pk for order in orders], erp_batch_check_since__isnull=True
    ).update(erp_batch_check_since=now)
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            step=BATCH_UNKNOWN,
            outcome=OrderEvent.Outcome.WARNING,
            message="The request for an ERP batch order got no answer: M3 may hold an open "
            f"batch order with customer order no. {customer_order_ref(order)} that the hub "
            f"cannot see. {stray_batch_step(order)} Then run "
            '"M3 batch orders checked" on the order.',
            upstream_ref=customer_order_ref(order),
        )
        for order in orders
    )
    for order in orders:
        order.erp_batch_check_since = order.erp_batch_check_since or now


def mark_stray_batches_checked(orders: QuerySet[Order], actor: str) -> int:
    """A person has deleted in M3 what the flagged orders' lost `AddBatchHead`s left: the
    orders leave the front page's list, and each timeline says who checked. Returns how many."""
    flagged = list(orders.filter(erp_batch_check_since__isnull=False).values_list("pk", flat=True))
    if not flagged:
        return 0
    Order.objects.filter(pk__in=flagged).update(erp_batch_check_since=None)
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=pk,
            step=BATCH_CHECKED,
            message="M3 checked: no open batch order with customer order no. "
            f"{keys.erp_order_reference(pk)} is left.",
            upstream_ref=keys.erp_order_reference(pk),
            actor=actor,
        )
        for pk in flagged
    )
    return len(flagged)


def _found_by_cuor(erp: M3Client, orders: list[Order]) -> dict[int, ErpResult]:
    """The orders M3 already has under our CUOR, from each customer's order list: `LstHead` is
    a table read (M3's search index lags behind new orders), one per customer, every customer of
    the batch in one bulk call. The contract shows no OR in a `SearchHead` query, so one search
    for the whole batch is not relied on."""
    if not orders:
        return {}
    try:
        listed = erp.list_for_each(
            "OIS100MI", "LstHead", "CUNO", [order.erp_customer_number for order in orders]
        )
    except Exception as exc:  # an outage or a broken answer: these orders retry
        return {order.pk: exc for order in orders}
    known: dict[tuple[str, str], str] = {}
    for customer, records in listed.items():
        for head in map(M3OrderHead.from_record, [] if isinstance(records, Exception) else records):
            # A list starts at its key and may run on into the next customers' orders.
            if head.customer_number in ("", customer):
                known.setdefault((customer, head.customer_order_ref), head.order_number)
    results: dict[int, ErpResult] = {}
    for order in orders:
        ref = customer_order_ref(order)
        records = listed.get(order.erp_customer_number)
        if isinstance(records, Exception):
            results[order.pk] = records
        elif (order.erp_customer_number, ref) in known:
            number = known[(order.erp_customer_number, ref)]
            results[order.pk] = ErpOrderRef(number, f"found by CUOR {ref}")
    return results


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
    """Every `AddBatchHead` in one bulk call, noted on the timelines (committed) before it; each
    answer is noted after it, so a request without one is known to have got none."""
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
    answers = _each_answered(erp, [build.order.pk for build in builds], heads, failed)
    if answers is None:
        return failed
    not_opened = []
    for build, answer in zip(builds, answers, strict=True):
        build.temporary = str((answer.records or [{}])[0].get("ORNO") or "") if answer.ok else ""
        if not answer.ok or not build.temporary:
            failed[build.order.pk] = _failure_of(answer, "AddBatchHead")
        if not answer.ok:  # refused, or not run: M3 says it opened nothing
            not_opened.append(build)
    _note_opened([build for build in builds if build.temporary])
    _note_not_opened(not_opened, failed)
    return failed


def _note_not_opened(builds: list[_Build], failed: dict[int, Exception]) -> None:
    """M3's answer that it opened nothing: the request then needs no person (not flagged)."""
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=build.order,
            step=BATCH_HEAD_NOT_OPENED,
            outcome=OrderEvent.Outcome.WARNING,
            message=f"M3 opened no batch order (CUOR {customer_order_ref(build.order)}): "
            f"{failed[build.order.pk]}",
        )
        for build in builds
    )


def _note_opened(opened: list[_Build]) -> None:
    """The temporary numbers, stored in one UPDATE (before any line is sent), and noted."""
    if not opened:
        return
    Order.objects.filter(pk__in=[b.order.pk for b in opened]).update(
        erp_temporary_order_number=Case(
            *(When(pk=b.order.pk, then=Value(b.temporary)) for b in opened),
            output_field=Order._meta.get_field("erp_temporary_order_number"),
        )
    )
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=b.order,
            step=BATCH_HEAD_OPENED,
            message=f"ERP batch order {b.temporary} opened (CUOR {customer_order_ref(b.order)}).",
            upstream_ref=b.temporary,
        )
        for b in opened
    )
    for build in opened:
        build.order.erp_temporary_order_number = build.temporary


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
        answers = _each_answered(erp, [build.order.pk for build in active], sent, failed)
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
        answers = _each_answered(erp, [build.order.pk for build in pending], sent, results)
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
    erp: M3Client, pks: list[int], sent: list[BulkTransaction], results: dict[int, Any]
) -> list[BulkResult] | None:
    """The bulk call's answers; None when the call itself failed, which is then the error of
    every order in `pks` (the others keep what was decided for them)."""
    try:
        return _bulk(erp, sent)
    except Exception as exc:  # an outage or a broken answer: these orders retry
        results.update(dict.fromkeys(pks, exc))
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
    with contextlib.suppress(M3TransactionError):
        erp.execute("OIS100MI", "DelBatchHead", {"ORNO": order.erp_temporary_order_number})
    _forget_batches([order], why)


def _forget_batches(orders: list[Order], why: str) -> None:
    """Deleted batch orders: noted on each timeline, each number forgotten in one UPDATE (only
    where it is still the order's: somebody may have rebuilt it meanwhile)."""
    if not orders:
        return
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            step=BATCH_DISCARDED,
            outcome=OrderEvent.Outcome.WARNING,
            message=why.format(number=order.erp_temporary_order_number),
            upstream_ref=order.erp_temporary_order_number,
        )
        for order in orders
    )
    still_theirs = Q()
    for order in orders:
        still_theirs |= Q(pk=order.pk, erp_temporary_order_number=order.erp_temporary_order_number)
    Order.objects.filter(still_theirs).update(erp_temporary_order_number="")
    for order in orders:
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
