"""Checking an order file order by order: its rows grouped into orders, each order's values read
as people write them (`orders.files.values`) and checked with the order API's rules, every
problem traced to the row and column a person has to fix.

One row per order line; rows sharing an order number (and sales channel, when a column names
it) form one order, whose order-level fields come from its first row and may be left blank on
the others (as Shopify exports them); a different value on a later row is a problem named by
row. A problem belongs to its order: the order is refused whole (never imported with a line
missing), the file's other orders are not affected. A row without an order number is a problem
of its own.

A cell the import would store must not hold a control character (a NUL cannot even be stored):
such a cell is a problem of its row like any other, named by row and column.

What the file may leave out: an e-mail (the tenant's customer policy finds the ERP customer;
`buyer_key` tells the buyers apart), the ship-to of an order whose lines all say they need
no shipping (a Requires Shipping column), and a line's SKU when the line's name (and variant)
is the name of exactly one SKU of the tenant's catalog (`CatalogNames`); otherwise a line
without a SKU refuses its order, naming the line. A line's unit price may be worked out from
its total (price × quantity, as Amazon writes it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from orders.addresses import ShipTo, country_code
from orders.changes.versions import CANCELLED, store_lifecycle
from orders.files.mapping import (
    FIELDS,
    FIELDS_BY_PATH,
    ORDER_MONEY,
    SHIPPING_FLAG,
    Field,
    Mapping,
    is_required,
    without_lines,
)
from orders.files.reading import CONTROL_OR_BREAK, Row, control_character, describe_character
from orders.files.values import (
    DATE_HELP,
    DateReading,
    decimal_comma_column,
    read_date,
    read_date_column,
    read_flag,
    read_number,
    strip_text_marker,
)
from orders.intake.accept import HISTORY, IncomingLine, IncomingOrder
from orders.intake.serializers import OrderInputSerializer, ShipToSerializer, error_paths
from orders.models import Order
from orders.money import StoreLine, StoreTotals, read_store_money, split_money, unit_price_of

MONEY_LIMIT = Decimal("1e12")
CENT = Decimal("0.01")
PROGRESS_EVERY = 500
TEXT_MARKED = ("order_number", "ship_to.postal_code", "ship_to.phone", "lines.sku")
"""Fields Excel users keep as text with a leading apostrophe or ="…" (leading zeros)."""
LINE_PRICES = ("lines.unit_price", "lines.line_total")
SHIP_TO_BLANK = ("This field is required.", "This field may not be blank.")
SHIP_TO_FIELDS = ("name", "company", "street1", "street2", "city", "state", "postal_code",
                  "country", "phone")  # fmt: skip
BUYER_KEY_PREFIX = "file-buyer:"
NO_NUMBER = "This field is required: every row needs the number of the order it belongs to."

Progress = Callable[[str, int, int], None]
"""Told (phase, done, total) while a file is checked or imported."""


@dataclass(frozen=True, order=True)
class Problem:
    """Why an order (or the whole file, row 0) was refused, pointing at the row and column to
    fix."""

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


@dataclass
class Cell:
    value: str
    row: int


@dataclass
class DraftOrder:
    """The rows of one order, merged into the order API's shape, and what became of it."""

    number: str
    first_row: int
    channel: str = ""
    """The sales channel its rows name (a mapped column), or "" for the import's own."""
    fields: dict[Field, Cell] = field(default_factory=dict)
    lines: list[tuple[int, dict[Field, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    incoming: IncomingOrder | None = None
    skipped: bool = False
    """Arrived already done, and the import skips such orders: not checked, not written."""
    known: int | None = None
    """The hub's order of the same sales channel and number: skipped, not checked."""
    needs_shipping: bool = True
    unreadable: bool = False
    """A row of it cannot be read (a control character, too many values): it is refused
    without being checked further, so that row's text never reaches another message."""
    named_skus: list[tuple[int, str, str]] = field(default_factory=list)
    """Lines without a SKU that got one by their name: (row, name, SKU)."""
    name_fits: dict[int, list[str]] = field(default_factory=dict)
    """Lines without a SKU whose name fits several SKUs of the catalog, by line index."""

    def value(self, path: str) -> str:
        cell = self.fields.get(FIELDS_BY_PATH[path])
        return cell.value if cell else ""

    @property
    def refused(self) -> bool:
        return bool(self.problems) and not self.skipped and self.known is None

    @property
    def to_write(self) -> bool:
        return self.incoming is not None and not self.skipped and self.known is None

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
        """The order as the file gives it (text markers stripped), in the order API's shape."""
        order: dict[str, Any] = {"order_number": self.number, "ship_to": {}, "lines": []}
        for column, cell in self.fields.items():
            value = _unmarked(column, cell.value)
            if column.path.startswith("ship_to."):
                order["ship_to"][column.name] = value
            elif column.path not in ORDER_MONEY:
                order[column.path] = value
        for _, values in self.lines:
            order["lines"].append(
                {column.name: _unmarked(column, value) for column, value in values.items()}
            )
        return order


def _unmarked(column: Field, value: str) -> str:
    return strip_text_marker(value) if column.path in TEXT_MARKED else value


class FileLayout:
    """Where each mapped field sits in this file, and what the file calls it."""

    def __init__(self, header: list[str], mapping: Mapping) -> None:
        self.header = header
        self.width = len(header)
        placed = [(FIELDS_BY_PATH[path], index) for path, index in mapping.items()]
        self.number_index = mapping["order_number"]
        self.channel_index = mapping.get("sales_channel")
        self.order_fields = [
            (column, index)
            for column, index in placed
            if not column.is_line_field and column.path != "order_number"
        ]
        self.line_fields = [(column, index) for column, index in placed if column.is_line_field]
        self.names = {column: header[index] for column, index in placed}
        self.placed = placed
        self.mapping = mapping

    def name(self, column: Field | None) -> str:
        return self.names.get(column, "") if column else ""

    def name_of(self, path: str) -> str:
        return self.name(FIELDS_BY_PATH.get(path))


def mapping_problems(header: list[str], mapping: Mapping) -> list[Problem]:
    """A mapping that cannot be used with this file: unknown fields, missing required ones (and,
    for an export that holds no order lines, why and what to export instead)."""
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
    missing = [f.label for f in FIELDS if is_required(f, mapping) and f.path not in mapping]
    if missing:
        problems.append(Problem(0, "", f"No column chosen for: {', '.join(missing)}."))
        reason = without_lines(header, mapping)
        if reason:
            problems.append(Problem(0, "", reason))
    return problems


# Rows into orders


def group_rows(
    rows: Iterator[Row], layout: FileLayout, *, progress: Progress | None = None
) -> tuple[list[DraftOrder], list[Problem]]:
    """Rows merged into orders by order number (and sales channel, when a column names it; a
    later row that leaves it blank belongs to the last order of that number), with each
    order's own problems; and the problems of rows that belong to no order (no number).

    Row numbers are the file's (the header is row 1)."""
    drafts: dict[tuple[str, str], DraftOrder] = {}
    latest: dict[str, DraftOrder] = {}
    loose: list[Problem] = []
    for seen, (row_number, row) in enumerate(rows, start=1):
        if progress and seen % PROGRESS_EVERY == 0:
            progress("checking rows", seen, 0)
        unusable = row_problems(row_number, row, layout)
        number = strip_text_marker(cell_at(row, layout.number_index))
        if not number or control_character(number):
            if not number:
                unusable.append(Problem(row_number, layout.name_of("order_number"), NO_NUMBER))
            loose += unusable
            continue
        channel = cell_at(row, layout.channel_index) if layout.channel_index is not None else ""
        draft = latest.get(number) if not channel else drafts.get((channel.casefold(), number))
        if draft is None:
            draft = DraftOrder(number=number, first_row=row_number, channel=channel)
            drafts[(channel.casefold(), number)] = draft
        latest[number] = draft
        if unusable:  # its order is refused; the row is not read further
            draft.problems += unusable
            draft.unreadable = True
            continue
        _merge(draft, row_number, row, layout)
    return list(drafts.values()), loose


def _merge(draft: DraftOrder, row_number: int, row: list[str], layout: FileLayout) -> None:
    for column, index in layout.order_fields:
        value = cell_at(row, index)
        known = draft.fields.get(column)
        if known is None or not known.value:
            draft.fields[column] = Cell(value, row_number)
        elif value and value != known.value:
            message = (
                f"'{value}' differs from '{known.value}' on row {known.row} for order "
                f"{draft.number}; the rows of one order must agree."
            )
            draft.problems.append(Problem(row_number, layout.names[column], message))
    draft.lines.append(
        (row_number, {column: cell_at(row, index) for column, index in layout.line_fields})
    )


def cell_at(row: list[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""


def row_problems(row_number: int, row: list[str], layout: FileLayout) -> list[Problem]:
    """A row wider than the header, or cells that would be stored holding a control character
    (a NUL, which PostgreSQL cannot store, or any other; tabs and line breaks only in fields
    that may span lines). The row is read no further, so its text never reaches a message."""
    width = layout.width
    if len(row) > width and any(row[width:]):
        message = f"has {len(row)} values but the header names only {width} columns."
        return [Problem(row_number, "", message)]
    problems = []
    for column, index in layout.placed:
        text = cell_at(row, index)
        if not CONTROL_OR_BREAK.search(text):  # the common case, one scan
            continue
        char = control_character(text, breaks_allowed=column.multiline)
        if char:
            what = describe_character(char)
            message = f"contains {what}, which this field cannot hold; remove it."
            problems.append(Problem(row_number, layout.names[column], message))
    return problems


# How the file writes its values, decided from whole columns


@dataclass(frozen=True)
class ColumnReading:
    """What the file's columns say about how they are written."""

    dates: DateReading | None = None
    decimal_comma: frozenset[str] = frozenset()
    """Money fields whose column writes decimals after a comma (12,50)."""

    @classmethod
    def of(cls, drafts: list[DraftOrder], layout: FileLayout, date_order: str) -> ColumnReading:
        dates = None
        if "ordered_at" in layout.mapping:
            dates = read_date_column((d.value("ordered_at") for d in drafts), date_order)
        commas = {
            path
            for path in ORDER_MONEY
            if path in layout.mapping and decimal_comma_column(d.value(path) for d in drafts)
        }
        for path in LINE_PRICES:
            price = FIELDS_BY_PATH[path]
            lines = (values.get(price, "") for d in drafts for _, values in d.lines)
            if path in layout.mapping and decimal_comma_column(lines):
                commas.add(path)
        return cls(dates, frozenset(commas))

    def amount(self, path: str, text: str) -> Decimal | None:
        return read_number(text, decimal_comma=path in self.decimal_comma)


# Each order checked with the order API's rules


class FileShipToSerializer(ShipToSerializer):
    """A ship-to as a file writes it: the country by name or code (United States, UK,
    Deutschland, US, DE)."""

    def validate_country(self, value: str) -> str:
        code = country_code(value)
        if code is None:
            raise serializers.ValidationError(
                f"'{value}' is not a country the hub knows; write its name (United States, "
                "Deutschland) or its ISO code (US, DE)."
            )
        return code


class NoShippingShipTo(FileShipToSerializer):
    """The ship-to of an order that needs no shipping: anything given is kept, nothing is
    required."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    street1 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_country(self, value: str) -> str:
        return super().validate_country(value) if value else ""


class FileOrderSerializer(OrderInputSerializer):
    """The order API's rules for a file's order: the e-mail may be blank (Etsy, Amazon and
    eBay reports carry none)."""

    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    ship_to = FileShipToSerializer()


class NoShippingOrderSerializer(FileOrderSerializer):
    ship_to = NoShippingShipTo(required=False, default=dict)


def name_key(text: str) -> str:
    """A name as the catalog is searched for it: case and spaces aside."""
    return "".join(text.split()).lower()


def name_keys(name: str, variant: str = "") -> tuple[str, ...]:
    """The names a line may have in the catalog: its own, or with its variant as platforms join
    them ("Mug - Large", "Mug (Large)")."""
    if not variant.strip():
        return (name_key(name),)
    forms = (f"{name} - {variant}", f"{name} ({variant})", f"{name} {variant}")
    return tuple(dict.fromkeys(name_key(form) for form in forms))


def unnamed_lines(drafts: list[DraftOrder]) -> set[str]:
    """The name keys of every line without a SKU (that has a name): what the catalog is asked."""
    sku, name, variant = (FIELDS_BY_PATH[p] for p in ("lines.sku", "lines.name", "lines.variant"))
    keys: set[str] = set()
    for draft in drafts:
        for _, values in draft.lines:
            if not strip_text_marker(values.get(sku, "")).strip() and values.get(name, "").strip():
                keys.update(name_keys(values[name], values.get(variant, "")))
    return keys


CatalogNames = dict[str, set[str]]
"""Name key → the catalog SKUs sold under that name."""


@dataclass
class OrderRules:
    """One serializer per kind of order checks every order of a file (`run_validation`), so
    its fields are built once per file rather than once per order."""

    reading: ColumnReading
    layout: FileLayout
    default_channel: str
    names: CatalogNames = field(default_factory=dict)
    shipping: FileOrderSerializer = field(default_factory=FileOrderSerializer)
    no_shipping: NoShippingOrderSerializer = field(default_factory=NoShippingOrderSerializer)

    def check(self, draft: DraftOrder) -> None:
        """Add the order's problems, or make its incoming order when it has none."""
        draft.needs_shipping = self._needs_shipping(draft)
        payload = draft.payload()
        payload["ordered_at"] = self._ordered_at(draft)
        money = self._money(draft)
        self._read_lines(payload)
        self._skus_by_name(draft, payload)
        if payload["ship_to"].get("country"):
            payload["ship_to"]["country"] = (
                country_code(payload["ship_to"]["country"]) or payload["ship_to"]["country"]
            )
        rules = self.shipping if draft.needs_shipping else self.no_shipping
        try:
            data = rules.run_validation(payload)
        except ValidationError as invalid:
            self._trace(draft, invalid)
            return
        if not draft.problems:
            channel = draft.channel or self.default_channel
            draft.incoming = incoming_order(
                data, payload, money, customer_key=buyer_key(channel, data, draft.number)
            ).with_arrival(draft.lifecycle, HISTORY)

    def _needs_shipping(self, draft: DraftOrder) -> bool:
        """False when the file says of every line (or of the order) that it needs none. A value
        that is neither yes nor no refuses the order; its ship-to is then not checked (it
        would only add problems that may not be)."""
        column = FIELDS_BY_PATH[SHIPPING_FLAG]
        said = []
        for row, values in draft.lines:
            try:
                flag = read_flag(values.get(column, ""))
            except ValueError as error:
                draft.problems.append(Problem(row, self.layout.names[column], str(error)))
                return False
            if flag is not None:
                said.append(flag)
        return not said or any(said)

    def _ordered_at(self, draft: DraftOrder) -> str | None:
        cell = draft.fields.get(FIELDS_BY_PATH["ordered_at"])
        if cell is None or not cell.value:
            return None
        dates = self.reading.dates
        when = read_date(cell.value, day_first=bool(dates and dates.is_day_first))
        if when is None:
            message = f"'{cell.value}' is not a date; {DATE_HELP}."
            if dates and read_date(cell.value, day_first=not dates.is_day_first):
                message = (
                    f"'{cell.value}' is not a date when read {dates.way}, as the "
                    "rest of the column is; correct it, or choose how dates are read."
                )
            draft.problems.append(Problem(cell.row, self.layout.name_of("ordered_at"), message))
            return None
        return when.isoformat()

    def _money(self, draft: DraftOrder) -> dict[str, Decimal]:
        """The order's total, shipping, tax and discount where the file gives them."""
        money: dict[str, Decimal] = {}
        for path in ORDER_MONEY:
            cell = draft.fields.get(FIELDS_BY_PATH[path])
            if cell is None or not cell.value:
                continue
            amount = money_amount(self.reading.amount(path, cell.value))
            if amount is None:
                message = (
                    f"'{cell.value}' is not an amount; write 0 or more with at most two "
                    "decimals, e.g. 12.50, 12,50 or $1,234.50."
                )
                draft.problems.append(Problem(cell.row, self.layout.name_of(path), message))
            else:
                money[path] = amount
        return money

    def _read_lines(self, payload: dict[str, Any]) -> None:
        """Prices and quantities as written ($9.99, 1,000) in the API's plain form; a value
        that is no number is left as it is, for the API's rules to name. Without a unit price,
        it is the line's total divided by its quantity."""
        for line in payload["lines"]:
            for name, path in (("unit_price", "lines.unit_price"), ("quantity", "")):
                text = line.get(name)
                if text:
                    number = self.reading.amount(path, text)
                    line[name] = text if number is None else str(number)
            total = line.get("line_total", "")
            if total and "unit_price" not in line:
                line["unit_price"] = self._unit_price(total, line.get("quantity", ""))

    def _unit_price(self, total: str, quantity: str) -> str:
        """The unit price of a line total, or the total as written when it cannot be divided
        (the API's rules then name it)."""
        amount = money_amount(self.reading.amount("lines.line_total", total))
        count = read_number(quantity) if quantity else None
        if amount is None or count is None or not count.is_finite() or count <= 0:
            return total
        return str(unit_price_of(amount, count))

    def _skus_by_name(self, draft: DraftOrder, payload: dict[str, Any]) -> None:
        """A line without a SKU takes the one catalog SKU its name (and variant) is sold
        under; a name that fits several is noted for the line's problem."""
        for index, line in enumerate(payload["lines"]):
            name = (line.get("name") or "").strip()
            if (line.get("sku") or "").strip() or not name:
                continue
            keys = name_keys(name, line.get("variant") or "")
            fits = sorted({sku for key in keys for sku in self.names.get(key, ())})
            if len(fits) == 1:
                line["sku"] = fits[0]
                draft.named_skus.append((draft.lines[index][0], name, fits[0]))
            elif fits:
                draft.name_fits[index] = fits

    def _trace(self, draft: DraftOrder, invalid: ValidationError) -> None:
        """The API's errors on the order, each traced to its row and column (a unit price
        worked out from the line total to the total's column)."""
        for path, messages in error_paths(invalid.detail).items():
            row, column = locate(draft, path)
            name = self.layout.name(column)
            if not name and path.endswith(".unit_price"):
                name = self.layout.name_of("lines.line_total")
            for message in messages:
                draft.problems.append(Problem(row, name, self._explained(draft, path, message)))

    def _explained(self, draft: DraftOrder, path: str, message: str) -> str:
        """What to do, for the problems people meet most: a line without a SKU, an order
        without its ship-to."""
        line = re.fullmatch(r"lines\[(\d+)\]\.sku", path)
        if line and message in SHIP_TO_BLANK:
            index = int(line.group(1))
            _, values = draft.lines[index]
            named = values.get(FIELDS_BY_PATH["lines.name"], "")
            what = f" ({named})" if named else ""
            fits = draft.name_fits.get(index)
            if fits:
                return (
                    f"Line {index + 1}{what} has no SKU, and its name fits several SKUs of the "
                    f"catalog ({', '.join(fits)}): enter the SKU of the item it sells."
                )
            return (
                f"Line {index + 1}{what} has no SKU: enter the SKU of the item it sells, or "
                "remove the row if it is not an item (a tip, a gift card)."
            )
        if path.startswith("ship_to.") and message in SHIP_TO_BLANK:
            label = FIELDS_BY_PATH[path].label
            flag = self.layout.name_of(SHIPPING_FLAG)
            where = f"column {flag}" if flag else "a Requires Shipping column"
            return (
                f"The order needs shipping but has no {label}: fill it in, or say in {where} "
                "that the order needs no shipping."
            )
        return message


def check_orders(
    drafts: list[DraftOrder], rules: OrderRules, *, progress: Progress | None = None
) -> None:
    """Each order still to import checked (those skipped or already known are not)."""
    for checked, draft in enumerate(drafts, start=1):
        if progress and checked % PROGRESS_EVERY == 0:
            progress("checking orders", checked, len(drafts))
        if not (draft.skipped or draft.unreadable or draft.known is not None):
            rules.check(draft)


def money_amount(amount: Decimal | None) -> Decimal | None:
    """A non-negative amount of money with at most two decimals."""
    if amount is None or not amount.is_finite() or amount < 0 or amount >= MONEY_LIMIT:
        return None
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        return None
    return amount.quantize(CENT)


def buyer_key(channel: str, data: dict[str, Any], number: str) -> str:
    """Who bought an order without an e-mail, for finding its ERP customer again: the same
    name at the same postcode in one sales channel is one buyer; without a name, the order
    alone. "" when the order has an e-mail (the e-mail tells buyers apart)."""
    if data.get("email"):
        return ""
    ship_to = data.get("ship_to") or {}
    name = (ship_to.get("name") or "").strip()
    who = "|".join((name, ship_to.get("postal_code") or "", ship_to.get("country") or ""))
    seed = f"{channel.casefold()}|{who.casefold()}" if name else f"{channel}|order|{number}"
    return BUYER_KEY_PREFIX + hashlib.sha256(seed.encode()).hexdigest()[:32]


def incoming_order(
    data: dict[str, Any],
    payload: dict[str, Any],
    money: dict[str, Decimal],
    *,
    customer_key: str = "",
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
    ship_to = {name: "" for name in SHIP_TO_FIELDS} | dict(data.get("ship_to") or {})
    return IncomingOrder(
        source=Order.Source.CSV,
        store_order_id=data["order_number"],
        order_number=data["order_number"],
        ordered_at=data["ordered_at"],
        email=data.get("email") or "",
        store_customer_id=customer_key,
        currency=data["currency"],
        ship_to=ShipTo(**ship_to),
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
