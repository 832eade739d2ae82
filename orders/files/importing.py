"""Importing orders from a person's file (CSV, TSV or .xlsx): all of it, or none of it.

One row per order line; rows sharing an order number form one order, whose order-level fields
come from its first row and may be left blank on the others (as Shopify exports them); a
different value on a later row is a problem named by row. Every row is checked in memory with
the order API's rules before anything is written, so a person fixing a file sees every problem
at once, and a file with any problem imports nothing. A good file is written with a few bulk
INSERTs in one transaction (`orders.intake.accept.accept_new_orders`), and its orders then go
through the normal pipeline.

An upload is a `CsvImport` work item: a workbook is first read into rows by a worker (its zip
alone is checked in the web request), a CSV file as it is uploaded, both within the limits of
`orders.files.reading`; it then waits for its column mapping (`orders.files.mapping`), and is
imported while the person waits (small files) or by a worker, reporting its progress.

A cell the import would store must not hold a control character (a NUL cannot even be stored):
such a cell is a problem of its row like any other, named by row and column.

An order the file says is already done (fulfilled, cancelled, refunded: its status columns, read
by `orders.changes.versions.store_lifecycle`; any "Cancelled at" value means cancelled) is never
sent to the ERP or ShipStation: as the person chose for the import, it is kept as history only
or skipped. A skipped order is not written, so it is not checked beyond its rows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from core import work
from core.spreadsheets import csv_bytes
from orders.addresses import ShipTo
from orders.changes.versions import CANCELLED, FULFILLED, OPEN, REFUNDED, store_lifecycle
from orders.files.mapping import (
    FIELDS,
    FIELDS_BY_PATH,
    ORDER_MONEY,
    STATUS_FIELDS,
    Field,
    Mapping,
    suggest,
)
from orders.files.reading import (
    CONTROL_OR_BREAK,
    Limits,
    Row,
    UnreadableFile,
    check_size,
    check_workbook,
    control_character,
    describe_character,
    is_excel,
    read_rows,
    workbook_as_csv,
)
from orders.intake.accept import (
    DONE_ORDER_POLICIES,
    HISTORY,
    SKIP,
    IncomingLine,
    IncomingOrder,
    accept_new_orders,
    done_orders_policy,
)
from orders.intake.serializers import OrderInputSerializer, error_paths
from orders.models import CsvImport, Order
from orders.money import StoreLine, StoreTotals, read_store_money, split_money
from tenants.activity import record_activity

logger = logging.getLogger("hub.csv_import")

DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
MONEY_LIMIT = Decimal("1e12")
CENT = Decimal("0.01")
PROGRESS_EVERY = 500
PREVIEW_ROWS = 5

Progress = Callable[[str, int, int], None]
"""Told (phase, done, total) while an import runs."""


@dataclass(frozen=True, order=True)
class Problem:
    """One reason the file was refused, pointing at the row and column to fix (row 0: the
    whole file)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.row and self.column:
            return f"row {self.row}, column {self.column}: {self.message}"
        if self.row:
            return f"row {self.row}: {self.message}"
        return self.message

    @property
    def in_row(self) -> str:
        """The problem as said in the row's own Problem cell."""
        return f"{self.column}: {self.message}" if self.column else self.message


FATES = {HISTORY: "kept as history only (never sent)", SKIP: "skipped (not imported)"}
"""What becomes of orders that arrive already done, by the import's choice."""


@dataclass(frozen=True)
class Arrivals:
    """How many of a file's orders are to send, and how many arrived already done."""

    to_send: int = 0
    fulfilled: int = 0
    cancelled: int = 0
    refunded: int = 0

    @classmethod
    def of(cls, lifecycles: Iterable[str]) -> Arrivals:
        counts = dict.fromkeys((OPEN, FULFILLED, CANCELLED, REFUNDED), 0)
        for lifecycle in lifecycles:
            counts[lifecycle] += 1
        return cls(counts[OPEN], counts[FULFILLED], counts[CANCELLED], counts[REFUNDED])

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> Arrivals:
        return cls(**{name: int(saved.get(name) or 0) for name in cls.__dataclass_fields__})

    def as_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @property
    def done(self) -> int:
        return self.fulfilled + self.cancelled + self.refunded

    def done_text(self) -> str:
        """'3 already done (1 fulfilled, 1 cancelled, 1 refunded)'."""
        kinds = ", ".join(
            f"{count} {name}"
            for name, count in (
                (FULFILLED, self.fulfilled),
                (CANCELLED, self.cancelled),
                (REFUNDED, self.refunded),
            )
            if count
        )
        return f"{self.done} already done ({kinds})"

    def preview(self, policy: str) -> str:
        """The groups as the preview shows them, before the import."""
        if not self.done:
            return f"{self.to_send} to send, none already done."
        return f"{self.to_send} to send, {self.done_text()} → {FATES[policy]}."

    def outcome(self, policy: str) -> str:
        """What the import did with the orders already done; "" when there were none."""
        if not self.done:
            return ""
        return f"{self.done_text()}: {FATES[policy]}."


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    orders: int = 0
    lines: int = 0
    arrivals: Arrivals = Arrivals()
    done_orders: str = HISTORY

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def errors(self) -> list[str]:
        return [str(problem) for problem in sorted(self.problems)]

    @property
    def summary(self) -> str:
        said = f"Imported {self.orders} orders ({self.lines} lines)."
        outcome = self.arrivals.outcome(self.done_orders)
        return f"{said} {outcome}" if outcome else said


@dataclass
class Cell:
    value: str
    row: int


@dataclass
class DraftOrder:
    """The rows of one order number, merged into the order API's shape."""

    number: str
    first_row: int
    fields: dict[Field, Cell] = field(default_factory=dict)
    lines: list[tuple[int, dict[Field, str]]] = field(default_factory=list)
    incoming: IncomingOrder | None = None
    skipped: bool = False
    """Arrived already done, and the import skips such orders: not checked, not written."""

    def value(self, path: str) -> str:
        cell = self.fields.get(FIELDS_BY_PATH[path])
        return cell.value if cell else ""

    @property
    def lifecycle(self) -> str:
        """Where the file says the order is: open, or already fulfilled, cancelled, refunded."""
        if self.value("cancelled_at"):
            return CANCELLED
        return store_lifecycle(
            self.value("store_status"),
            self.value("financial_status"),
            self.value("fulfillment_status"),
        )

    def payload(self) -> dict[str, Any]:
        order: dict[str, Any] = {"order_number": self.number, "ship_to": {}, "lines": []}
        for column, cell in self.fields.items():
            if column.path.startswith("ship_to."):
                order["ship_to"][column.name] = cell.value
            elif column.path not in ORDER_MONEY:
                order[column.path] = cell.value
        for _, values in self.lines:
            order["lines"].append({column.name: value for column, value in values.items()})
        return order


class FileLayout:
    """Where each mapped field sits in this file, and what the file calls it."""

    def __init__(self, header: list[str], mapping: Mapping) -> None:
        self.header = header
        self.width = len(header)
        placed = [(FIELDS_BY_PATH[path], index) for path, index in mapping.items()]
        self.number_index = mapping["order_number"]
        self.order_fields = [
            (column, index)
            for column, index in placed
            if not column.is_line_field and column.path != "order_number"
        ]
        self.line_fields = [(column, index) for column, index in placed if column.is_line_field]
        self.names = {column: header[index] for column, index in placed}
        self.placed = placed

    def name(self, column: Field | None) -> str:
        return self.names.get(column, "") if column else ""


def mapping_problems(header: list[str], mapping: Mapping) -> list[Problem]:
    """A mapping that cannot be used with this file: unknown fields, missing required ones."""
    problems = [
        Problem(0, "", f"'{path}' is not a field of an order.")
        for path in mapping
        if path not in FIELDS_BY_PATH
    ]
    problems += [
        Problem(0, "", f"The {FIELDS_BY_PATH[path].label} points past the file's last column.")
        for path, index in mapping.items()
        if path in FIELDS_BY_PATH and not 0 <= index < len(header)
    ]
    missing = [f.label for f in FIELDS if f.required and f.path not in mapping]
    if missing:
        problems.append(Problem(0, "", f"No column chosen for: {', '.join(missing)}."))
    return problems


def plan_import(
    data: bytes,
    mapping: Mapping,
    *,
    done_orders: str = HISTORY,
    progress: Progress | None = None,
) -> tuple[list[DraftOrder], list[Problem]]:
    """The file's orders, each checked and ready to write (those already done as `done_orders`
    says: kept as history, or skipped), or every problem found in it."""
    try:
        header, rows = read_rows(data)
        problems = mapping_problems(header, mapping)
        if problems:
            return [], problems
        layout = FileLayout(header, mapping)
        drafts, problems = group_rows(rows, layout, progress=progress)
    except UnreadableFile as error:
        return [], [Problem(error.row, "", error.message)]
    if done_orders == SKIP:
        for draft in drafts:
            draft.skipped = draft.lifecycle != OPEN
    problems += validate_orders(drafts, layout, progress=progress)
    problems += already_existing([draft for draft in drafts if not draft.skipped], layout)
    return drafts, problems


def count_arrivals(upload: CsvImport) -> Arrivals | None:
    """The preview's groups: the file's orders to send and those already done, by its mapping's
    order number and status columns; None when the mapping has no usable order number."""
    try:
        header, rows = read_rows(bytes(upload.content))
        mapping = {
            path: index
            for path, index in upload.mapping.items()
            if path in ("order_number", *STATUS_FIELDS)
            and isinstance(index, int)
            and 0 <= index < len(header)
        }
        if "order_number" not in mapping:
            return None
        drafts, _ = group_rows(rows, FileLayout(header, mapping))
    except UnreadableFile:
        return None
    return Arrivals.of(draft.lifecycle for draft in drafts)


def group_rows(
    rows: Iterator[Row], layout: FileLayout, *, progress: Progress | None = None
) -> tuple[list[DraftOrder], list[Problem]]:
    """Rows merged by order number (row numbers as the file shows them, the header is row 1)."""
    drafts: dict[str, DraftOrder] = {}
    problems: list[Problem] = []
    width = layout.width
    for seen, (row_number, row) in enumerate(rows, start=1):
        if progress and seen % PROGRESS_EVERY == 0:
            progress("checking rows", seen, 0)
        if len(row) > width and any(row[width:]):
            message = f"has {len(row)} values but the header names only {width} columns."
            problems.append(Problem(row_number, "", message))
            continue
        unstorable = control_problems(row_number, row, layout)
        if unstorable:
            problems += unstorable
            continue
        number = _cell(row, layout.number_index)
        if not number:
            name = layout.header[layout.number_index]
            problems.append(Problem(row_number, name, "This field is required."))
            continue
        draft = drafts.get(number)
        if draft is None:
            draft = drafts[number] = DraftOrder(number=number, first_row=row_number)
        for column, index in layout.order_fields:
            value = _cell(row, index)
            known = draft.fields.get(column)
            if known is None or not known.value:
                draft.fields[column] = Cell(value, row_number)
            elif value and value != known.value:
                message = (
                    f"'{value}' differs from '{known.value}' on row {known.row} for order "
                    f"{number}; the rows of one order must agree."
                )
                problems.append(Problem(row_number, layout.names[column], message))
        draft.lines.append(
            (row_number, {column: _cell(row, index) for column, index in layout.line_fields})
        )
    return list(drafts.values()), problems


def _cell(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def control_problems(row_number: int, row: list[str], layout: FileLayout) -> list[Problem]:
    """The row's cells that would be stored holding a control character: a NUL (which
    PostgreSQL cannot store) or any other; tabs and line breaks only in fields that may span
    lines. The row is checked no further, so its text never reaches another message."""
    problems = []
    for column, index in layout.placed:
        text = _cell(row, index)
        if not CONTROL_OR_BREAK.search(text):  # the common case, one scan
            continue
        char = control_character(text, breaks_allowed=column.multiline)
        if char:
            what = describe_character(char)
            message = f"contains {what}, which this field cannot hold; remove it."
            problems.append(Problem(row_number, layout.names[column], message))
    return problems


def validate_orders(
    drafts: list[DraftOrder], layout: FileLayout, *, progress: Progress | None = None
) -> list[Problem]:
    """The order API's rules, applied to each order, with every error traced to its cell.

    One serializer instance checks every order (`run_validation`), so its fields are built
    once per file rather than once per order.
    """
    rules = OrderInputSerializer()
    problems: list[Problem] = []
    ordered_at = FIELDS_BY_PATH["ordered_at"]
    for checked, draft in enumerate(drafts, start=1):
        if progress and checked % PROGRESS_EVERY == 0:
            progress("checking orders", checked, len(drafts))
        if draft.skipped:
            continue
        payload = draft.payload()
        date_cell = draft.fields.get(ordered_at)
        payload["ordered_at"] = None
        if date_cell and date_cell.value:
            when = parse_order_date(date_cell.value)
            if when is None:
                message = f"'{date_cell.value}' is not a date; use YYYY-MM-DD or M/D/YYYY."
                problems.append(Problem(date_cell.row, layout.names[ordered_at], message))
            else:
                payload["ordered_at"] = when.isoformat()
        money, money_problems = order_money(draft, layout)
        problems += money_problems
        try:
            data = rules.run_validation(payload)
        except ValidationError as invalid:
            for path, messages in error_paths(invalid.detail).items():
                row, column = locate(draft, path)
                problems += [Problem(row, layout.name(column), message) for message in messages]
            continue
        if not money_problems:
            draft.incoming = incoming_order(data, payload, money).with_arrival(
                draft.lifecycle, HISTORY
            )
    return problems


def order_money(draft: DraftOrder, layout: FileLayout) -> tuple[dict[str, Decimal], list[Problem]]:
    """The order's total, shipping, tax and discount where the file gives them."""
    money: dict[str, Decimal] = {}
    problems = []
    for path in ORDER_MONEY:
        cell = draft.fields.get(FIELDS_BY_PATH[path])
        if cell is None or not cell.value:
            continue
        amount = parse_amount(cell.value)
        if amount is None:
            message = (
                f"'{cell.value}' is not an amount; use digits and a decimal point, e.g. 12.50."
            )
            problems.append(Problem(cell.row, layout.names[FIELDS_BY_PATH[path]], message))
        else:
            money[path] = amount
    return money, problems


def parse_amount(text: str) -> Decimal | None:
    """A non-negative amount of money with at most two decimals."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= MONEY_LIMIT:
        return None
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        return None
    return amount.quantize(CENT)


def incoming_order(
    data: dict[str, Any], payload: dict[str, Any], money: dict[str, Decimal]
) -> IncomingOrder:
    """A checked order in the form intake takes from every source; its money read by the one
    money module (docs/adr-0006), so a file's tax-inclusive prices and discount reach
    ShipStation and the ERP as a store's would."""
    read = read_store_money(
        StoreTotals(
            total=money.get("total"),
            shipping=money.get("shipping"),
            tax=money.get("tax"),
            discount=money.get("discount"),
        ),
        [StoreLine(quantity=line["quantity"], price=line["unit_price"]) for line in data["lines"]],
        data["currency"],
    )
    [part] = split_money(read, [range(len(data["lines"]))])
    lines = tuple(
        IncomingLine(**line, tax_amount=line_money.tax, tax_rate=line_money.tax_rate)
        for line, line_money in zip(data["lines"], read.lines, strict=True)
    )
    return IncomingOrder(
        source=Order.Source.CSV,
        store_order_id=data["order_number"],
        order_number=data["order_number"],
        ordered_at=data["ordered_at"],
        email=data["email"],
        currency=data["currency"],
        ship_to=ShipTo(**data["ship_to"]),
        lines=lines,
        subtotal=part.subtotal,
        total=part.total,
        shipping=part.shipping,
        tax=part.tax,
        discount=part.discount,
        other=part.rest,
        prices_include_tax=read.prices_include_tax,
        money_note=read.note,
        payload={**payload, **{path: str(amount) for path, amount in money.items()}},
    )


def locate(draft: DraftOrder, path: str) -> tuple[int, Field | None]:
    """The row and column behind an error path such as 'lines[2].quantity' or 'ship_to.city'."""
    line = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", path)
    if line:
        row, _ = draft.lines[int(line.group(1))]
        return row, FIELDS_BY_PATH.get(f"lines.{line.group(2)}")
    column = FIELDS_BY_PATH.get(path)
    cell = draft.fields.get(column) if column else None
    return (cell.row if cell else draft.first_row), column


def already_existing(drafts: list[DraftOrder], layout: FileLayout) -> list[Problem]:
    """Orders already entered through the API or an earlier upload are not imported twice."""
    existing = dict(
        Order.objects.filter(
            store__isnull=True, order_number__in=[draft.number for draft in drafts]
        ).values_list("order_number", "pk")
    )
    name = layout.header[layout.number_index]
    return [
        Problem(
            draft.first_row,
            name,
            f"order {draft.number} already exists in the hub (id {existing[draft.number]}).",
        )
        for draft in drafts
        if draft.number in existing
    ]


def parse_order_date(text: str) -> datetime | None:
    """ISO dates (Shopify's '2025-03-01 14:30:00 -0500' too), US 'M/D/YYYY [h:mm AM]' as
    ShipStation writes them, or 'D.M.YYYY'."""
    try:
        iso = parse_datetime(text) or parse_date(text)
    except ValueError:
        iso = None
    if isinstance(iso, datetime):
        return iso
    if isinstance(iso, date):
        return datetime.combine(iso, time())
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


class ImportRaced(Exception):
    """An order number was taken between checking the file and writing it."""


def import_orders(
    data: bytes,
    mapping: Mapping,
    *,
    actor: str,
    done_orders: str = HISTORY,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file, then create every order in one transaction; nothing on any error.

    Orders already done are created as history only (never scheduled), or left out when
    `done_orders` is SKIP; the result counts them."""
    drafts, problems = plan_import(data, mapping, done_orders=done_orders, progress=progress)
    if problems:
        return ImportResult(problems=problems, done_orders=done_orders)
    incomings = [draft.incoming for draft in drafts if draft.incoming is not None]
    if progress:
        progress("writing orders", 0, len(incomings))
    try:
        with transaction.atomic():
            accept_new_orders(
                incomings,
                actor=actor,
                progress=(lambda done: progress("writing orders", done, len(incomings)))
                if progress
                else None,
            )
    except IntegrityError:
        taken = Order.objects.filter(
            store__isnull=True, order_number__in=[draft.number for draft in drafts]
        ).values_list("order_number", flat=True)
        first = {draft.number: draft.first_row for draft in drafts}
        message = (
            "order {} was created by someone else during this import; nothing was imported, "
            "upload the file again to see what is left."
        )
        return ImportResult(
            problems=[Problem(first[number], "", message.format(number)) for number in taken]
            or [Problem(0, "", "Another import created some of these orders meanwhile.")],
            done_orders=done_orders,
        )
    lines = sum(len(incoming.lines) for incoming in incomings)
    return ImportResult(
        orders=len(incomings),
        lines=lines,
        arrivals=Arrivals.of(draft.lifecycle for draft in drafts),
        done_orders=done_orders,
    )


# An upload's life: kept with a suggested mapping, mapped by a person, imported.


ABANDONED_AFTER = timedelta(days=7)
"""An upload whose mapping nobody confirmed is deleted after this (at the next upload)."""


def receive_file(data: bytes, *, file_name: str, actor: str) -> CsvImport:
    """Keep an uploaded file until a person confirms its mapping; raises `UnreadableFile`.

    A CSV file is read here, within the limits. A workbook only has its zip checked here (its
    directory: cheap); it is kept as it came and a worker reads it (`read_workbook`), so no web
    request ever parses a sheet. Its page follows the worker, then shows the preview.
    """
    limits = Limits.current()
    check_size(data, limits)
    file_name = clean_file_name(file_name)
    if is_excel(data):
        check_workbook(data, limits)
        upload = _keep(data, file_name=file_name, actor=actor, state=CsvImport.State.READING)
        work.schedule(upload)
        return upload
    header, rows = read_rows(data, limits)
    count = sum(1 for _ in rows)
    suggestion = suggest(header)
    return _keep(
        data,
        file_name=file_name,
        actor=actor,
        state=CsvImport.State.MAPPING,
        rows=count,
        mapping=suggestion.mapping,
        mapped_as=suggestion.source[:200],
    )


def _keep(data: bytes, *, file_name: str, actor: str, **fields: Any) -> CsvImport:
    CsvImport.objects.filter(
        state=CsvImport.State.MAPPING, created_at__lt=timezone.now() - ABANDONED_AFTER
    ).delete()
    return CsvImport.objects.create(uploaded_by=actor, file_name=file_name, content=data, **fields)


def clean_file_name(name: str) -> str:
    """The upload's name as the hub shows and stores it: no control characters."""
    return CONTROL_OR_BREAK.sub("", name)[:255] or "orders"


def read_workbook(upload: CsvImport) -> None:
    """The worker's step for a workbook: its first sheet read into rows (kept as CSV) within
    the limits, counted, and its mapping suggested; or, at the first breach or when it cannot
    be read, the upload rejected with the reason (and the workbook dropped)."""
    reporter = ProgressReporter(upload)
    try:
        content = workbook_as_csv(
            bytes(upload.content), progress=lambda rows: reporter("reading the workbook", rows, 0)
        )
        header, rows = read_rows(content)
        count = sum(1 for _ in rows)
    except UnreadableFile as error:
        problem = str(Problem(error.row, "", error.message))
        work.guarded_move(
            upload,
            CsvImport.State.REJECTED,
            "",
            {
                "content": b"",
                "problems": [problem],
                "problem_rows": {},
                "finished_at": timezone.now(),
            },
        )
        record_activity(
            "order.csv_rejected",
            actor=upload.uploaded_by,
            obj=upload,
            outcome="failure",
            message=f"{upload.file_name}: unreadable, nothing imported.",
        )
        return
    finally:
        reporter.clear()
    suggestion = suggest(header)
    work.guarded_move(
        upload,
        CsvImport.State.MAPPING,
        "",
        {
            "content": content,
            "rows": count,
            "mapping": suggestion.mapping,
            "mapped_as": suggestion.source[:200],
        },
    )


def is_read(upload: CsvImport) -> bool:
    """The upload is kept as rows (CSV): a workbook is, once a worker has read it."""
    start = bytes(upload.content[:4])
    return bool(start) and not is_excel(start)


def preview(upload: CsvImport, rows: int = PREVIEW_ROWS) -> tuple[list[str], list[Row]]:
    """The file's header and its first data rows, for the mapping page: from the rows kept (a
    workbook's as its worker read them), never from a workbook."""
    if not is_read(upload):
        raise UnreadableFile(
            upload.problems[0]
            if upload.problems
            else "The workbook could not be read; upload it again, or save it as CSV UTF-8."
        )
    header, data_rows = read_rows(bytes(upload.content))
    first = []
    for row in data_rows:
        first.append(row)
        if len(first) == rows:
            break
    return header, first


CONFIRMABLE = (CsvImport.State.MAPPING, CsvImport.State.REJECTED, CsvImport.State.FAILED)


class AlreadyStarted(Exception):
    """Somebody confirmed this upload's mapping already (another tab, a double click)."""


def done_orders_choice(upload: CsvImport) -> str:
    """What this import does with orders already done: the person's choice, else the tenant's
    default."""
    chosen = (upload.done_orders or {}).get("policy")
    return chosen if chosen in DONE_ORDER_POLICIES else done_orders_policy()


def confirm_mapping(
    upload: CsvImport,
    mapping: Mapping,
    *,
    mapped_as: str,
    right_now: bool,
    done_orders: str | None = None,
) -> CsvImport:
    """Import the file with this mapping, orders already done kept as history or skipped
    (`done_orders`; the tenant's default when not given): now, in this process, or by a worker.

    Either way it runs as the work item's attempt, so one runner only, with its attempt
    history; a web process that dies midway leaves it leased, and the sweeper hands it to a
    worker once the lease expires.
    """
    if upload.state not in CONFIRMABLE:
        raise AlreadyStarted(upload.get_state_display())
    fields = {
        "mapping": mapping,
        "mapped_as": mapped_as[:200],
        "done_orders": {
            "policy": done_orders if done_orders in DONE_ORDER_POLICIES else done_orders_policy()
        },
        "problems": [],
        "problem_rows": {},
        "orders_created": 0,
        "lines_created": 0,
        "finished_at": None,
        "attempts": 0,
        "last_error": "",
        "last_error_hint": "",
    }
    if not work.guarded_move(upload, CsvImport.State.QUEUED, "", fields):
        raise AlreadyStarted("started meanwhile")
    if right_now:
        run_csv_import(upload.pk)
    else:
        work.schedule(upload)
    upload.refresh_from_db()
    return upload


def register_work_kind() -> None:
    """An uploaded workbook and a confirmed file are work items: a killed worker's reading or
    import (one transaction, rolled back) is simply run again once its lease has expired."""
    work.register(
        work.WorkKind(
            model=CsvImport,
            task="orders.import_csv_file",
            work_states=(CsvImport.State.READING, CsvImport.State.QUEUED),
            needs_attention=CsvImport.State.FAILED,
            failed=CsvImport.State.FAILED,
            age_field="created_at",
            max_attempts=3,
        )
    )


def run_csv_import(import_id: int) -> str:
    """Read an uploaded workbook (`read_workbook`), or import a confirmed file: everything in one
    transaction, or nothing with every problem."""
    return work.process(CsvImport, import_id, _step)


def _step(upload: CsvImport) -> None:
    if upload.state == CsvImport.State.READING:
        read_workbook(upload)
    else:
        _import(upload)


def _import(upload: CsvImport) -> None:
    """The orders and the import's result commit together: a worker killed midway leaves
    neither, and the file is simply imported again."""
    reporter = ProgressReporter(upload)
    policy = done_orders_choice(upload)
    with transaction.atomic():
        result = import_orders(
            bytes(upload.content),
            upload.mapping,
            actor=upload.uploaded_by,
            done_orders=policy,
            progress=reporter,
        )
        outcome = result.arrivals.as_json() if result.ok else {}
        work.guarded_move(
            upload,
            CsvImport.State.DONE if result.ok else CsvImport.State.REJECTED,
            "",
            {
                "problems": result.errors,
                "problem_rows": problem_rows(result.problems),
                "orders_created": result.orders,
                "lines_created": result.lines,
                "done_orders": {"policy": policy, **outcome},
                "finished_at": timezone.now(),
            },
        )
        record_activity(
            "order.csv_imported" if result.ok else "order.csv_rejected",
            actor=upload.uploaded_by,
            obj=upload,
            outcome="success" if result.ok else "failure",
            message=f"{upload.file_name}: {result.orders} orders ({result.lines} lines), "
            f"{len(result.problems)} problem(s). {result.arrivals.outcome(policy)}".strip(),
        )
    reporter.clear()


# Progress: the import runs in one transaction, so its progress cannot be read from its row
# until it commits; it is kept in the cache (per schema) while it runs.


def _progress_key(pk: int) -> str:
    return f"csv-import-progress:{pk}"


class ProgressReporter:
    """Tells the cache how far an import is; an unreachable cache only loses the display."""

    def __init__(self, upload: CsvImport) -> None:
        self.key = _progress_key(upload.pk)
        self.rows = upload.rows

    def __call__(self, phase: str, done: int, total: int) -> None:
        self._write({"phase": phase, "done": done, "total": total or self.rows})

    def clear(self) -> None:
        try:
            cache.delete(self.key)
        except Exception:
            logger.warning("cache unreachable; import progress not cleared")

    def _write(self, value: dict[str, Any]) -> None:
        try:
            cache.set(self.key, value, timeout=3600)
        except Exception:
            logger.warning("cache unreachable; import progress not shown")


def status(upload: CsvImport) -> dict[str, Any]:
    """What the import page shows and polls: its state and, while it runs, how far it is."""
    leased = bool(upload.lease_until and upload.lease_until > timezone.now())
    reading = upload.state == CsvImport.State.READING
    running = reading or upload.state == CsvImport.State.QUEUED
    now: dict[str, Any] = {}
    if running:
        try:
            now = cache.get(_progress_key(upload.pk)) or {}
        except Exception:
            now = {}
    phase = now.get("phase") or ("starting" if leased else "waiting for a worker")
    done, total = now.get("done", 0), now.get("total") or upload.rows
    if not running:
        text = upload.get_state_display()
    elif reading:
        text = f"Reading the workbook: {done:,} rows so far" if done else f"Reading ({phase})"
    elif done:
        text = f"Importing: {phase}, {done:,} of {total:,}"
    else:
        text = f"Importing: {phase} ({upload.rows:,} rows)"
    return {
        "state": upload.state,
        "finished": not running,
        "phase": phase if running else "",
        "done": done if running else upload.rows,
        "total": total,
        "text": text,
        "orders_created": upload.orders_created,
        "lines_created": upload.lines_created,
        "problems": len(upload.problems),
    }


def done_orders_outcome(upload: CsvImport) -> str:
    """What an import did with the orders already done, or what it will do with them."""
    saved = upload.done_orders or {}
    policy = done_orders_choice(upload)
    if upload.state != CsvImport.State.DONE:
        return f"Orders already done will be {FATES[policy]}."
    if "to_send" not in saved:  # imported before the hub counted them
        return "—"
    return Arrivals.from_json(saved).outcome(policy) or "None: every order was to send."


def problem_rows(problems: list[Problem]) -> dict[str, list[str]]:
    """Row number (as text, a JSON key) → what is wrong in it."""
    rows: dict[str, list[str]] = {}
    for problem in sorted(problems):
        if problem.row:
            rows.setdefault(str(problem.row), []).append(problem.in_row)
    return rows


def bad_rows_file(upload: CsvImport) -> bytes:
    """Every row of the orders that have a problem, as CSV with a Problem column.

    Whole orders, so a fixed file holds each order complete; the Problem cell names the row
    it had in the uploaded file.
    """
    said = {int(row): "; ".join(texts) for row, texts in upload.problem_rows.items()}
    if not is_read(upload):  # nothing was read: the problems are the whole file's
        return csv_bytes([["Problem"], *([problem] for problem in upload.problems)])
    header, rows = read_rows(bytes(upload.content))
    number_index = upload.mapping.get("order_number")
    listed = list(rows)
    bad_orders = {
        _cell(cells, number_index)
        for number, cells in listed
        if number in said and number_index is not None
    } - {""}
    out = [[*header, "Problem"]]
    for number, cells in listed:
        order = _cell(cells, number_index) if number_index is not None else ""
        if number not in said and order not in bad_orders:
            continue
        padded = cells + [""] * (len(header) - len(cells))
        problem = said.get(number, "(another row of this order has a problem)")
        out.append([*padded, f"Row {number}: {problem}"])
    return csv_bytes(out)
