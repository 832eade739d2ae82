"""Importing orders from a ShipStation-style CSV file: all of it, or none of it.

One row per order line; the order-level columns repeat on each row and rows sharing an order
number form one order. Every row is checked before anything is written, so a person fixing a
file sees every problem at once, and a file with any problem imports nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from integration_hub.core import work
from orders.intake import accept_order
from orders.models import CsvImport, Order
from orders.serializers import OrderInputSerializer, error_paths
from tenants.activity import record_activity

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
DELIMITERS = (",", ";", "\t")
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


def normalize_header(text: str) -> str:
    """'Ship To - Name', 'ship to name' and 'SHIP_TO_NAME' all read as 'ship to name'."""
    text = text.lower().replace("#", " number ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@dataclass(frozen=True)
class Column:
    """One field of the order shape and the header names people use for it."""

    path: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False

    @property
    def is_line_field(self) -> bool:
        return self.path.startswith("lines.")

    @property
    def name(self) -> str:
        return self.path.split(".")[-1]


COLUMNS = (
    Column("order_number", "Order Number", ("Order #", "Order No"), required=True),
    Column("ordered_at", "Order Date", ("Date", "Order Created Date")),
    Column("email", "Email", ("Buyer Email", "Customer Email", "E-mail"), required=True),
    Column("currency", "Currency", ("Currency Code",)),
    Column(
        "ship_to.name",
        "Recipient Name",
        ("Ship To - Name", "Ship To Name", "Recipient"),
        required=True,
    ),
    Column("ship_to.company", "Company", ("Ship To - Company", "Recipient Company")),
    Column(
        "ship_to.street1",
        "Address 1",
        ("Ship To - Address 1", "Address Line 1", "Address", "Street 1"),
        required=True,
    ),
    Column("ship_to.street2", "Address 2", ("Ship To - Address 2", "Address Line 2", "Street 2")),
    Column("ship_to.city", "City", ("Ship To - City",), required=True),
    Column("ship_to.state", "State", ("Ship To - State", "Province", "State/Province", "Region")),
    Column(
        "ship_to.postal_code",
        "Postal Code",
        ("Ship To - Postal Code", "Zip", "Zip Code", "Postcode"),
        required=True,
    ),
    Column(
        "ship_to.country",
        "Country",
        ("Ship To - Country", "Country Code"),
        required=True,
    ),
    Column("ship_to.phone", "Phone", ("Ship To - Phone", "Recipient Phone")),
    Column("lines.sku", "SKU", ("Item SKU",), required=True),
    Column("lines.name", "Item Name", ("Item Description", "Product Name")),
    Column("lines.quantity", "Quantity", ("Qty", "Item Quantity", "Item Qty"), required=True),
    Column("lines.unit_price", "Unit Price", ("Item Unit Price", "Price"), required=True),
)
COLUMNS_BY_HEADER = {
    normalize_header(header): column
    for column in COLUMNS
    for header in (column.label, *column.aliases)
}
COLUMNS_BY_PATH = {column.path: column for column in COLUMNS}


@dataclass(frozen=True, order=True)
class Problem:
    """One reason the file was refused, pointing at the row and column to fix."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.row and self.column:
            return f"row {self.row}, column {self.column}: {self.message}"
        if self.row:
            return f"row {self.row}: {self.message}"
        return self.message


@dataclass
class CsvImportResult:
    problems: list[Problem] = field(default_factory=list)
    orders: int = 0
    lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def errors(self) -> list[str]:
        return [str(problem) for problem in sorted(self.problems)]

    @property
    def summary(self) -> str:
        return f"Imported {self.orders} orders ({self.lines} lines)."


@dataclass
class Cell:
    value: str
    row: int


@dataclass
class DraftOrder:
    """The rows of one order number, merged into the API's order shape."""

    number: str
    first_row: int
    fields: dict[Column, Cell] = field(default_factory=dict)
    lines: list[tuple[int, dict[Column, str]]] = field(default_factory=list)
    serializer: OrderInputSerializer | None = None

    def payload(self) -> dict[str, Any]:
        order: dict[str, Any] = {"order_number": self.number, "ship_to": {}, "lines": []}
        for column, cell in self.fields.items():
            if column.path.startswith("ship_to."):
                order["ship_to"][column.name] = cell.value
            else:
                order[column.path] = cell.value
        for _, values in self.lines:
            order["lines"].append({column.name: value for column, value in values.items()})
        return order


class ImportRaced(Exception):
    """An order number was taken between checking the file and writing it."""


def import_orders_csv(file: IO[bytes], *, actor: str) -> CsvImportResult:
    """Check the whole file, then create every order in one transaction; nothing on any error."""
    drafts, problems = plan_import(file)
    if problems:
        return CsvImportResult(problems=problems)
    try:
        with transaction.atomic():
            for draft in drafts:
                incoming = draft.serializer.to_incoming(
                    source=Order.Source.CSV, payload=draft.serializer.initial_data
                )
                _, created = accept_order(incoming, actor=actor)
                if not created:
                    raise ImportRaced(draft)
    except ImportRaced as raced:
        draft = raced.args[0]
        message = (
            f"order {draft.number} was created by someone else during this import; nothing "
            "was imported, upload the file again to see what is left."
        )
        return CsvImportResult(problems=[Problem(draft.first_row, "", message)])
    return CsvImportResult(orders=len(drafts), lines=sum(len(draft.lines) for draft in drafts))


def plan_import(file: IO[bytes]) -> tuple[list[DraftOrder], list[Problem]]:
    """The file's orders, validated, or every problem found in it."""
    data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 2**20
        message = f"The file is larger than {limit} MiB; split it into smaller files."
        return [], [Problem(0, "", message)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = (
            f"The file is not UTF-8 text (unreadable byte at position {error.start}); "
            "save it as 'CSV UTF-8' and upload it again."
        )
        return [], [Problem(0, "", message)]
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))
    try:
        header = next(rows, None)
        if header is None or not any(cell.strip() for cell in header):
            return [], [Problem(0, "", "The file is empty; the first row must name the columns.")]
        headers, problems = map_columns(header)
        if problems:
            return [], problems
        drafts, problems = group_rows(rows, headers, width=len(header))
    except csv.Error as error:
        return [], [Problem(rows.line_num, "", f"cannot be read as CSV ({error}).")]
    problems += validate_orders(drafts, headers)
    problems += already_existing(drafts, headers)
    return drafts, problems


def detect_delimiter(text: str) -> str:
    """The separator used most in the header line: comma, semicolon (Excel in Europe) or tab."""
    first_line = text.split("\n", 1)[0]
    return max(DELIMITERS, key=first_line.count)


@dataclass(frozen=True)
class Header:
    """Where a field sits in the file and what the file calls it, for error messages."""

    index: int
    text: str


def map_columns(header: list[str]) -> tuple[dict[Column, Header], list[Problem]]:
    """Which position holds which field; unknown columns are ignored, missing ones listed."""
    headers: dict[Column, Header] = {}
    problems = []
    for index, text in enumerate(header):
        column = COLUMNS_BY_HEADER.get(normalize_header(text))
        if column is None:
            continue
        if column in headers:
            message = (
                f"Columns '{headers[column].text}' and '{text.strip()}' both give the "
                f"{column.label}; keep one of them."
            )
            problems.append(Problem(0, "", message))
            continue
        headers[column] = Header(index, text.strip())
    missing = [column.label for column in COLUMNS if column.required and column not in headers]
    if missing:
        problems.append(Problem(0, "", f"Missing required columns: {', '.join(missing)}."))
    return headers, problems


def group_rows(
    rows: Iterator[list[str]], headers: dict[Column, Header], *, width: int
) -> tuple[list[DraftOrder], list[Problem]]:
    """Rows merged by order number (row 1 is the header, as in a spreadsheet)."""
    drafts: dict[str, DraftOrder] = {}
    problems: list[Problem] = []
    order_number = headers[COLUMNS_BY_PATH["order_number"]]
    data_rows = 0
    for row_number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        data_rows += 1
        if data_rows > MAX_ROWS:
            message = f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
            return [], [Problem(0, "", message)]
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            message = f"has {len(row)} values but the header names only {width} columns."
            problems.append(Problem(row_number, "", message))
            continue
        cells = {
            column: row[header.index].strip() if header.index < len(row) else ""
            for column, header in headers.items()
        }
        number = cells.pop(COLUMNS_BY_PATH["order_number"])
        if not number:
            problems.append(Problem(row_number, order_number.text, "This field is required."))
            continue
        draft = drafts.setdefault(number, DraftOrder(number=number, first_row=row_number))
        problems += merge_order_fields(draft, cells, row_number, headers)
        line = {column: value for column, value in cells.items() if column.is_line_field}
        draft.lines.append((row_number, line))
    return list(drafts.values()), problems


def merge_order_fields(
    draft: DraftOrder, cells: dict[Column, str], row_number: int, headers: dict[Column, Header]
) -> list[Problem]:
    """A blank order-level cell repeats the order's value; a different value is a conflict."""
    problems = []
    for column, value in cells.items():
        if column.is_line_field:
            continue
        known = draft.fields.get(column)
        if known is None or not known.value:
            draft.fields[column] = Cell(value, row_number)
        elif value and value != known.value:
            message = (
                f"'{value}' differs from '{known.value}' on row {known.row} for order "
                f"{draft.number}; the rows of one order must agree."
            )
            problems.append(Problem(row_number, headers[column].text, message))
    return problems


def validate_orders(drafts: list[DraftOrder], headers: dict[Column, Header]) -> list[Problem]:
    """The API's rules, applied to each order, with every error traced back to its cell."""
    problems: list[Problem] = []
    ordered_at = COLUMNS_BY_PATH["ordered_at"]
    for draft in drafts:
        payload = draft.payload()
        date_cell = draft.fields.get(ordered_at)
        if date_cell and date_cell.value:
            when = parse_order_date(date_cell.value)
            if when is None:
                message = f"'{date_cell.value}' is not a date; use YYYY-MM-DD or M/D/YYYY."
                problems.append(Problem(date_cell.row, headers[ordered_at].text, message))
            payload["ordered_at"] = when.isoformat() if when else None
        else:
            payload["ordered_at"] = None
        serializer = OrderInputSerializer(data=payload)
        if serializer.is_valid():
            draft.serializer = serializer
            continue
        for path, messages in error_paths(serializer.errors).items():
            row, column = locate(draft, path)
            label = headers[column].text if column in headers else ""
            problems += [Problem(row, label, message) for message in messages]
    return problems


def locate(draft: DraftOrder, path: str) -> tuple[int, Column | None]:
    """The row and column behind an error path such as 'lines[2].quantity' or 'ship_to.city'."""
    line = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", path)
    if line:
        row, _ = draft.lines[int(line.group(1))]
        return row, COLUMNS_BY_PATH.get(f"lines.{line.group(2)}")
    column = COLUMNS_BY_PATH.get(path)
    cell = draft.fields.get(column) if column else None
    return (cell.row if cell else draft.first_row), column


def already_existing(drafts: list[DraftOrder], headers: dict[Column, Header]) -> list[Problem]:
    """Orders already entered through the API or an earlier upload are not imported twice."""
    existing = dict(
        Order.objects.filter(
            store__isnull=True, order_number__in=[draft.number for draft in drafts]
        ).values_list("order_number", "pk")
    )
    label = headers[COLUMNS_BY_PATH["order_number"]].text
    return [
        Problem(
            draft.first_row,
            label,
            f"order {draft.number} already exists in the hub (id {existing[draft.number]}).",
        )
        for draft in drafts
        if draft.number in existing
    ]


def parse_order_date(text: str) -> datetime | None:
    """ISO dates, US 'M/D/YYYY [h:mm AM]' as ShipStation writes them, or 'D.M.YYYY'."""
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


def queue_csv_import(data: bytes, *, file_name: str, actor: str) -> CsvImport:
    """Keep a large file for a worker; the import page then shows its progress and result."""
    upload = CsvImport.objects.create(
        uploaded_by=actor, file_name=file_name[:255], content=data, rows=data.count(b"\n")
    )
    work.schedule(upload)
    return upload


def register_work_kind() -> None:
    """A queued file is a work item: a killed worker's import (one transaction, rolled back)
    is simply run again once its lease has expired."""
    work.register(
        work.WorkKind(
            model=CsvImport,
            task="orders.import_csv_file",
            work_states=(CsvImport.State.QUEUED,),
            needs_attention=CsvImport.State.FAILED,
            failed=CsvImport.State.FAILED,
            in_tenants=True,
            age_field="created_at",
            max_attempts=3,
        )
    )


def run_csv_import(import_id: int) -> str:
    """Import a queued file: everything in one transaction, or nothing with every problem."""
    return work.process(CsvImport, import_id, _import)


def _import(upload: CsvImport) -> None:
    """The orders and the import's result commit together: a worker killed midway leaves
    neither, and the file is simply imported again."""
    with transaction.atomic():
        result = import_orders_csv(io.BytesIO(bytes(upload.content)), actor=upload.uploaded_by)
        work.guarded_move(
            upload,
            CsvImport.State.DONE if result.ok else CsvImport.State.REJECTED,
            "",
            {
                "problems": result.errors,
                "orders_created": result.orders,
                "lines_created": result.lines,
                "finished_at": timezone.now(),
            },
        )
        record_activity(
            "order.csv_imported" if result.ok else "order.csv_rejected",
            actor=upload.uploaded_by,
            obj=upload,
            outcome="success" if result.ok else "failure",
            message=f"{upload.file_name}: {result.orders} orders ({result.lines} lines), "
            f"{len(result.errors)} problem(s).",
        )
