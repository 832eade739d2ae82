"""Typed shapes of the M3 records the hub's flows read and write (contracts/infor-m3.md).

Records out of M3 are built from their documented field names (`from_record`), records into
M3 write them (`to_fields`); values are read and written by `values`. `BulkTransaction` and
`BulkResult` are one transaction of a bulk call and its outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.errors import M3TransactionError, RetryableError
from connectors.m3.values import (
    Fields,
    Record,
    parse_m3_date,
    parse_m3_date_fast,
    parse_m3_decimal,
)


@dataclass(frozen=True)
class BulkTransaction:
    """One transaction inside a bulk POST."""

    transaction: str
    fields: Fields
    return_columns: Sequence[str] = ()


@dataclass(frozen=True)
class BulkResult:
    """The outcome of one bulk transaction: records, or the error M3 reported for it.

    `processed` is False when M3 never ran the transaction (a run stopped partway): it is then
    neither done nor refused, and may be sent again. `error` may still hold why the run stopped.
    """

    transaction: str
    records: list[Record]
    error: M3TransactionError | None = None
    processed: bool = True

    @property
    def ok(self) -> bool:
        """Done: processed, and without an error."""
        return self.processed and self.error is None

    @property
    def refused(self) -> bool:
        """M3 ran the transaction and refused it."""
        return self.processed and self.error is not None

    def raise_for_error(self) -> None:
        if self.refused:
            raise self.error  # type: ignore[misc]
        if not self.processed:
            reason = f": {self.error.message}" if self.error else ""
            raise RetryableError(
                f"{self.transaction} was not processed by M3{reason}", upstream="m3"
            )


@dataclass(frozen=True)
class M3Customer:
    number: str
    name: str
    email: str
    search_key: str
    status: str
    currency: str
    address_lines: tuple[str, ...]
    postcode: str
    town: str
    country: str
    phone: str
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3Customer:
        return cls(
            number=r.get("CUNO", ""),
            name=r.get("CUNM", ""),
            email=r.get("MAIL", ""),
            search_key=r.get("ALCU", ""),
            status=r.get("STAT", ""),
            currency=r.get("CUCD", ""),
            address_lines=tuple(r[k] for k in ("CUA1", "CUA2", "CUA3", "CUA4") if r.get(k)),
            postcode=r.get("PONO", ""),
            town=r.get("TOWN", ""),
            country=r.get("CSCD", ""),
            phone=r.get("PHNO", ""),
            raw=r,
        )


@dataclass(frozen=True)
class M3Address:
    """An address for `CRS610MI/AddAddress` or `OIS100MI/AddBatchAddress`."""

    address_type: str
    name: str
    line1: str
    postcode: str
    town: str
    country: str
    line2: str = ""
    line3: str = ""
    address_id: str = ""
    phone: str = ""

    @classmethod
    def from_record(cls, r: Record, address_type: str = "") -> M3Address:
        """An address as `OIS100MI/GetAddress` or `GetLineAddress` answer it."""
        return cls(
            address_type=r.get("ADRT", address_type),
            name=r.get("CUNM", ""),
            line1=r.get("CUA1", ""),
            postcode=r.get("PONO", ""),
            town=r.get("TOWN", ""),
            country=r.get("CSCD", ""),
            line2=r.get("CUA2", ""),
            line3=r.get("CUA3", ""),
            address_id=r.get("ADID", ""),
            phone=r.get("PHNO", ""),
        )

    def to_fields(self) -> dict[str, str]:
        return {
            "ADRT": self.address_type,
            "ADID": self.address_id,
            "CUNM": self.name,
            "CUA1": self.line1,
            "CUA2": self.line2,
            "CUA3": self.line3,
            "PONO": self.postcode,
            "TOWN": self.town,
            "CSCD": self.country,
            "PHNO": self.phone,
        }


@dataclass(frozen=True)
class NewM3Customer:
    """Input of `CRS610MI/Add`: a template (`CUTM`) carries order type, terms, currency."""

    template: str
    name: str
    line1: str
    email: str = ""
    search_key: str = ""
    line2: str = ""
    postcode: str = ""
    town: str = ""
    country: str = ""
    phone: str = ""
    reference: str = ""
    number: str = ""

    def to_fields(self) -> dict[str, str]:
        return {
            "CUTM": self.template,
            "CUNO": self.number,
            "CUNM": self.name,
            "CUA1": self.line1,
            "CUA2": self.line2,
            "PONO": self.postcode,
            "TOWN": self.town,
            "CSCD": self.country,
            "PHNO": self.phone,
            "MAIL": self.email,
            "ALCU": self.search_key[:10],
            "YREF": self.reference,
        }


@dataclass(frozen=True)
class NewM3OrderHead:
    """Input of `OIS100MI/AddBatchHead`. `customer_order_ref` (`CUOR`) is the store order id."""

    customer_number: str
    customer_order_ref: str
    order_type: str = ""
    warehouse: str = ""
    order_date: date | None = None
    requested_delivery: date | None = None
    currency: str = ""
    your_reference: str = ""

    def to_fields(self) -> dict[str, Any]:
        return {
            "CUNO": self.customer_number,
            "CUOR": self.customer_order_ref[:20],
            "ORTP": self.order_type,
            "WHLO": self.warehouse,
            "ORDT": self.order_date,
            "RLDT": self.requested_delivery,
            "CUCD": self.currency,
            "YREF": self.your_reference,
        }


@dataclass(frozen=True)
class NewM3OrderLine:
    """Input of `OIS100MI/AddBatchLine`; leave `price` None to let M3 price the line."""

    item_number: str
    quantity: Decimal
    price: Decimal | None = None
    warehouse: str = ""
    description: str = ""
    discount_amount: Decimal | None = None
    """The line's discount as an amount (`DIA1`); None or 0 sends none."""

    def to_fields(self) -> dict[str, Any]:
        return {
            "ITNO": self.item_number,
            "ORQT": self.quantity,
            "SAPR": self.price,
            "WHLO": self.warehouse,
            "ITDS": self.description,
            "DIA1": self.discount_amount or None,
        }


@dataclass(frozen=True)
class M3OrderHead:
    order_number: str
    customer_number: str
    customer_order_ref: str
    lowest_status: str
    highest_status: str
    order_date: date | None
    total: Decimal
    currency: str
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3OrderHead:
        return cls(
            order_number=r.get("ORNO", ""),
            customer_number=r.get("CUNO", ""),
            customer_order_ref=r.get("CUOR", ""),
            lowest_status=r.get("ORSL", ""),
            highest_status=r.get("ORST", ""),
            order_date=parse_m3_date(r.get("ORDT")),
            total=parse_m3_decimal(r.get("TOPY") or r.get("NTAM")),
            currency=r.get("CUCD", ""),
            raw=r,
        )


LINE_CLOSED = "99"
"""Line status "deleted" / "completed without delivery" (docs/m3-order-changes.md)."""
_BEFORE_ALLOCATION = frozenset({"05", "10"})


class LineStage(StrEnum):
    """How far a customer order line has gone, from its two-digit status (contract §4b).

    The value reads in a sentence: "line 2 is on a picking list".
    """

    OPEN = "open"
    PICKING = "on a picking list"
    DELIVERED = "delivered"
    INVOICED = "invoiced"
    CLOSED = "deleted or closed"
    UNKNOWN = "in a status the hub does not know"

    @classmethod
    def of(cls, status: str, delivered: Decimal = Decimal(0)) -> LineStage:
        """The stage of the *furthest* part of the line (second digit), as that part decides
        what may still be done to it; a delivered quantity counts even if the status lags."""
        status = status.strip()
        if status == LINE_CLOSED:
            return cls.CLOSED
        if status in _BEFORE_ALLOCATION:
            return cls.OPEN
        if len(status) != 2 or not status.isdigit():
            return cls.UNKNOWN
        furthest = int(status[1])
        if furthest == 7:
            return cls.INVOICED
        if furthest == 6 or delivered > 0:
            return cls.DELIVERED
        if furthest == 4:
            return cls.PICKING
        return cls.OPEN if furthest in (2, 3) else cls.UNKNOWN


@dataclass(frozen=True)
class M3OrderLine:
    line_number: str
    line_suffix: str
    item_number: str
    ordered: Decimal
    allocated: Decimal
    delivered: Decimal
    invoiced: Decimal
    status: str
    price: Decimal
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3OrderLine:
        return cls(
            line_number=r.get("PONR", ""),
            line_suffix=r.get("POSX", ""),
            item_number=r.get("ITNO", ""),
            ordered=parse_m3_decimal(r.get("ORQT")),
            allocated=parse_m3_decimal(r.get("ALQT")),
            delivered=parse_m3_decimal(r.get("DLQT")),
            invoiced=parse_m3_decimal(r.get("IVQT")),
            status=r.get("ORST", ""),
            price=parse_m3_decimal(r.get("SAPR")),
            raw=r,
        )

    @property
    def stage(self) -> LineStage:
        return LineStage.of(self.status, self.delivered)

    @property
    def label(self) -> str:
        """How a person finds the line in M3: "line 2", or "line 2/1" with a suffix."""
        suffix = self.line_suffix.strip()
        return f"line {self.line_number}" + (f"/{suffix}" if suffix not in ("", "0") else "")


@dataclass(frozen=True)
class M3LineRefusal:
    """A line a change did not reach: why (its stage, or M3's own words) and M3's error."""

    line: M3OrderLine
    reason: str
    error: M3TransactionError | None = None


@dataclass(frozen=True)
class M3OrderChange:
    """What one change of a confirmed order did, line by line.

    `changed` lines took the change, `unchanged` needed none (already deleted or closed),
    `refused` were left as they are; `next_step` tells a person what to do in M3 about them.
    """

    order_number: str
    transaction: str
    changed: tuple[M3OrderLine, ...] = ()
    unchanged: tuple[M3OrderLine, ...] = ()
    refused: tuple[M3LineRefusal, ...] = ()
    next_step: str = ""

    @property
    def complete(self) -> bool:
        """Nothing left for a person: every line took the change or needed none."""
        return not self.refused

    def summary(self) -> str:
        """One sentence for an order event or the needs-attention list."""
        done = ", ".join(line.label for line in self.changed) or "no line"
        text = f"M3 order {self.order_number}: {self.transaction} done for {done}"
        if self.refused:
            why = "; ".join(f"{r.line.label} {r.reason}" for r in self.refused)
            text += f"; not done for {why}"
        return text + "."


@dataclass(frozen=True)
class M3DeliveryLine:
    delivery_number: str
    order_number: str
    order_line: str
    quantity: Decimal
    status: str
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3DeliveryLine:
        return cls(
            delivery_number=r.get("DLIX", ""),
            order_number=r.get("RIDN", ""),
            order_line=r.get("RIDL", ""),
            quantity=parse_m3_decimal(r.get("TRQT")),
            status=r.get("PGRS", ""),
            raw=r,
        )


@dataclass(frozen=True)
class M3Delivery:
    delivery_number: str
    order_number: str
    tracking_number: str
    forwarding_agent: str
    delivery_method: str
    status: str
    departure_date: date | None
    invoice_number: str
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3Delivery:
        return cls(
            delivery_number=r.get("DLIX", ""),
            order_number=r.get("RIDN", ""),
            tracking_number=r.get("ETRN", ""),
            forwarding_agent=r.get("FWNO", ""),
            delivery_method=r.get("MODL", ""),
            status=r.get("PGRS", ""),
            departure_date=parse_m3_date(r.get("DSDT")),
            invoice_number=r.get("IVNO", ""),
            raw=r,
        )


@dataclass(frozen=True)
class M3Invoice:
    invoice_number: str
    year: str
    invoice_date: date | None
    due_date: date | None
    amount: Decimal
    remaining: Decimal
    currency: str
    raw: Record = field(repr=False, compare=False)

    @property
    def is_paid(self) -> bool:
        """Contract §4e: paid when nothing remains to pay (`RAFC = 0`)."""
        return self.remaining == 0

    @classmethod
    def from_record(cls, r: Record) -> M3Invoice:
        return cls(
            invoice_number=r.get("IVNO", ""),
            year=r.get("YEA4", ""),
            invoice_date=parse_m3_date(r.get("IDAT") or r.get("IVDT")),
            due_date=parse_m3_date(r.get("DUDT")),
            amount=parse_m3_decimal(r.get("IVAV")),
            remaining=parse_m3_decimal(r.get("RAFC")),
            currency=r.get("CUCD", ""),
            raw=r,
        )


@dataclass(frozen=True)
class M3Price:
    item_number: str
    price_list: str
    customer_number: str
    currency: str
    price: Decimal
    valid_from: date | None
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3Price:
        return cls(
            item_number=r.get("ITNO", ""),
            price_list=r.get("PRRF", ""),
            customer_number=r.get("CUNO", ""),
            currency=r.get("CUCD", ""),
            price=parse_m3_decimal(r.get("SAPR")),
            valid_from=parse_m3_date_fast(r.get("FVDT")),
            raw=r,
        )


@dataclass(frozen=True)
class M3Balance:
    item_number: str
    warehouse: str
    allocatable: Decimal
    available: Decimal
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3Balance:
        return cls(
            item_number=r.get("ITNO", ""),
            warehouse=r.get("WHLO", ""),
            allocatable=parse_m3_decimal(r.get("AV01")),
            available=parse_m3_decimal(r.get("AV02")),
            raw=r,
        )


@dataclass(frozen=True)
class M3Item:
    """An item of the item master (`MMS200MI/GetItmBasic`)."""

    item_number: str
    name: str
    status: str
    raw: Record = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, r: Record) -> M3Item:
        return cls(
            item_number=r.get("ITNO", ""),
            name=r.get("ITDS", ""),
            status=r.get("STAT", ""),
            raw=r,
        )
