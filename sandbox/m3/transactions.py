"""The M3 MI transactions the sandbox simulates, one ION tenant (TI) = one M3 with its own data.

Each transaction is a plain function registered with `@transaction(program, name, mandatory)`
in the module of its program area (`customers`, `orders`, `items`, `deliveries`, `invoices`);
this module holds the registry, `M3Context` and the shared helpers. The protocol layer in
`fake.py` checks the mandatory (*) fields of contracts/infor-m3.md §4, runs
the function inside one SQLite transaction and wraps its records in the v1/v2 envelopes.

Simulated behaviour worth knowing (the contract leaves these open):
- Error codes follow one pattern, labelled simulated: `W{first two letters of the field}0102`
  "must be entered", `...0203` "does not exist", `...0302` "already exists", `...0401` invalid.
- `LMTS` is epoch milliseconds; inputs also accept `yyyyMMddHHmmssSSS`.
- `Lst*` transactions with a start key (`LstByNumber`, `LstBySearchKey`, `LstHead`) list from that
  key onwards, as M3 does, so callers must check for an exact match.
- `Confirm` allocates stock (lines 33 when the warehouse has enough, else 22); the `deliver`
  control ships every line in full and M3 "invoices" at once (delivery status 70, lines 77).
- A confirmed order's lines change in `order_changes.py` (docs/m3-order-changes.md): `DelLine`
  and `CloLine` take an open line to 99 and free its allocation, `ChgLineBatchEnt` points it at
  another delivery address; lines on a picking list, delivered or invoiced are refused. A line
  at 99 stays listed, is never delivered and no longer counts in the head's totals.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox import demo_data
from sandbox.demo_data import DemoTenant

Record = dict[str, str]

PRICE_LIST = "WEBSHOP"
CURRENCY = "EUR"
ORDER_TYPE = "B2C"
PAYMENT_TERMS = "30"
PAYMENT_DAYS = 30
DELIVERY_METHOD = "UPS"
BATCH_STATUS_TRANSFERRED = "90"
ORDER_STATUS_ACTIVE = "20"
LINE_CLOSED = "99"
CUSTOMER_STATUS_ACTIVE = "20"
ITEM_STATUS_ACTIVE = "20"
AR_STATUS_OPEN = "0"
AR_STATUS_PAID = "9"
DELIVERY_INVOICED = "70"

# Field name -> (type A/N/D, length, description): error texts, v1 metadata and v1 padding.
FIELDS: dict[str, tuple[str, int, str]] = {
    "ADID": ("A", 6, "Address number"),
    "ADRT": ("N", 1, "Address type"),
    "ALCU": ("A", 10, "Search key"),
    "ALQT": ("N", 15, "Allocated quantity"),
    "AV01": ("N", 15, "Allocatable net"),
    "AV02": ("N", 15, "Available on hand"),
    "CINO": ("A", 15, "Invoice number"),
    "CONO": ("N", 3, "Company"),
    "CRAM": ("N", 17, "Charge amount"),
    "CRID": ("A", 10, "Charge"),
    "CSCD": ("A", 3, "Country"),
    "CUA1": ("A", 36, "Customer address line 1"),
    "CUA2": ("A", 36, "Customer address line 2"),
    "CUA3": ("A", 36, "Customer address line 3"),
    "CUA4": ("A", 36, "Customer address line 4"),
    "CUCD": ("A", 3, "Currency"),
    "CUNM": ("A", 36, "Customer name"),
    "CUNO": ("A", 10, "Customer number"),
    "CUOR": ("A", 20, "Customer's order number"),
    "CUTM": ("A", 10, "Customer template"),
    "DLIX": ("N", 11, "Delivery number"),
    "DLQT": ("N", 15, "Delivered quantity"),
    "DSDT": ("D", 8, "Departure date"),
    "DUDT": ("D", 8, "Due date"),
    "DWDT": ("D", 8, "Requested delivery date"),
    "ETRN": ("A", 30, "External tracking number"),
    "FVDT": ("D", 8, "Valid from"),
    "INYR": ("N", 4, "Invoice year"),
    "IDAT": ("D", 8, "Invoice date"),
    "ITDS": ("A", 30, "Name"),
    "ITNO": ("A", 15, "Item number"),
    "IVAV": ("N", 17, "Invoice amount"),
    "IVNO": ("N", 9, "Invoice number"),
    "IVQT": ("N", 15, "Invoiced quantity"),
    "LMDT": ("D", 8, "Change date"),
    "LMTS": ("N", 18, "Timestamp"),
    "MAIL": ("A", 50, "E-mail address"),
    "MODL": ("A", 3, "Delivery method"),
    "NEPR": ("N", 17, "Net price"),
    "NLAM": ("N", 17, "Net line amount"),
    "NTAM": ("N", 17, "Net order value"),
    "ORDT": ("D", 8, "Order date"),
    "ORNO": ("A", 10, "Customer order number"),
    "ORQT": ("N", 15, "Ordered quantity"),
    "ORSL": ("A", 2, "Lowest status"),
    "OT65": ("N", 1, "Lost sales statistics"),
    "ORST": ("A", 2, "Highest status"),
    "PGRS": ("A", 2, "Delivery status"),
    "PHNO": ("A", 16, "Telephone number"),
    "PONO": ("A", 10, "Postal code"),
    "PONR": ("N", 5, "Order line number"),
    "POSX": ("N", 2, "Line suffix"),
    "PRRF": ("A", 10, "Price list"),
    "PYNO": ("A", 10, "Payer"),
    "RAFC": ("N", 17, "Remaining amount"),
    "RECO": ("N", 1, "Reconciliation code"),
    "RLDT": ("D", 8, "Requested delivery date"),
    "RSCD": ("A", 3, "Transaction reason"),
    "SAPR": ("N", 17, "Sales price"),
    "SQRY": ("A", 1024, "Search query"),
    "STAT": ("A", 2, "Status"),
    "STQT": ("N", 15, "On-hand balance"),
    "TEDL": ("A", 3, "Delivery terms"),
    "TOPY": ("N", 17, "Total order value"),
    "TOWN": ("A", 20, "City"),
    "TYPE": ("N", 1, "Text type"),
    "TYTR": ("N", 1, "Text position"),
    "PARM": ("A", 60, "Text"),
    "WHLO": ("A", 3, "Warehouse"),
    "YEA4": ("N", 4, "Year"),
    "YREF": ("A", 36, "Your reference"),
    "YRE2": ("A", 36, "Your reference 2"),
}

CUSTOMER_OUTPUT = (
    "CONO", "CUNO", "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "TOWN", "CSCD", "ECAR",
    "PHNO", "MAIL", "ALCU", "YREF", "YRE2", "CFC1", "STAT", "CUTP", "CUCD", "ORTP", "WHLO",
    "TEPY", "PYNO", "LNCD", "DIVI", "RGDT", "LMDT",
)  # fmt: skip
CUSTOMER_INPUT = (
    "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "TOWN", "CSCD", "ECAR", "PHNO", "MAIL",
    "ALCU", "YREF", "YRE2", "CUTP", "STAT", "LNCD", "DIVI", "CFC1", "CFC2", "CFC3", "CFC4",
    "CFC5", "CFC6", "CFC7", "CFC8", "CFC9", "CFC0", "ORTP", "WHLO", "TEPY", "CUCD",
)  # fmt: skip
ADDRESS_FIELDS = (
    "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "TOWN", "CSCD", "ECAR", "PHNO", "YREF",
    "MODL", "TEDL",
)  # fmt: skip
HEAD_INPUT = (
    "CUNO", "ORTP", "FACI", "WHLO", "CUOR", "YREF", "RLDT", "ORDT", "CUCD", "TEPY", "MODL",
    "TEDL", "PYCD", "ADID", "PLTB", "OREF", "RESP", "OHEA",
)  # fmt: skip


class M3Error(Exception):
    """A NOK answer from a transaction: code, message and the offending field.

    `keep_changes` lets a transaction record its error log (LstErrMsgOrder) and still fail.
    """

    def __init__(
        self, code: str, message: str, field: str = "", *, keep_changes: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.keep_changes = keep_changes


def describe(field: str) -> str:
    return FIELDS.get(field, ("A", 0, field))[2]


def missing(field: str) -> M3Error:
    return M3Error(f"W{field[:2]}0102", f"{describe(field)} must be entered", field)


def not_found(field: str, value: str) -> M3Error:
    return M3Error(f"W{field[:2]}0203", f"{describe(field)} {value} does not exist", field)


def already_exists(field: str, value: str) -> M3Error:
    return M3Error(f"W{field[:2]}0302", f"{describe(field)} {value} already exists", field)


def invalid(field: str, value: str) -> M3Error:
    return M3Error(f"W{field[:2]}0401", f"{describe(field)} {value} is invalid", field)


def num(value: Decimal | int | str) -> str:
    """M3 style number text: no exponent, no trailing zeros ("12.5", "3")."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


@dataclass
class Transaction:
    program: str
    name: str
    mandatory: tuple[str, ...]
    run: Callable[[M3Context, Record], list[Record]]


TRANSACTIONS: dict[tuple[str, str], Transaction] = {}
PROGRAMS: set[str] = set()


def transaction(
    program: str, name: str, mandatory: Iterable[str] = ()
) -> Callable[[Callable[[M3Context, Record], list[Record]]], Callable]:
    """Register an MI transaction; `mandatory` mirrors the `*` fields of the contract."""

    def register(func: Callable[[M3Context, Record], list[Record]]) -> Callable:
        TRANSACTIONS[(program, name)] = Transaction(program, name, tuple(mandatory), func)
        PROGRAMS.add(program)
        return func

    return register


class M3Context:
    """One tenant's M3 as seen from inside a database transaction."""

    def __init__(
        self, conn: sqlite3.Connection, tenant: DemoTenant, now: datetime, max_records: int = 0
    ) -> None:
        self.conn = conn
        self.tenant = tenant
        self.ti = tenant.erp_tenant
        self.now = now
        self.max_records = max_records
        """The caller's `maxrecs` (0: all): a list may stop reading there, as M3 does."""

    @property
    def sql_limit(self) -> int:
        """`max_records` for SQLite's LIMIT, where -1 means no limit."""
        return self.max_records if self.max_records > 0 else -1

    @property
    def today(self) -> str:
        return self.now.strftime("%Y%m%d")

    @property
    def lmts(self) -> int:
        return int(self.now.timestamp() * 1000)

    @property
    def warehouses(self) -> tuple[str, ...]:
        return warehouses(self.tenant)

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute(sql, tuple(params)).fetchall()]

    def row(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        self.conn.execute(sql, tuple(params))

    def next_number(self, series: str) -> int:
        """A number series per TI, like M3's CRS165; each tenant gets its own range."""
        name = f"{self.ti}:{series}"
        first = SERIES[series] * series_slot(self.tenant) + 1
        self.execute(
            "INSERT INTO m3_counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (name, first),
        )
        return int(
            self.conn.execute("SELECT value FROM m3_counters WHERE name = ?", (name,)).fetchone()[0]
        )

    def date(self, inputs: Record, field: str, default: str = "") -> str:
        value = inputs.get(field, default)
        try:
            datetime.strptime(value, "%Y%m%d")
        except ValueError:
            raise invalid(field, value) from None
        return value

    def decimal(self, inputs: Record, field: str, default: str = "0") -> Decimal:
        value = inputs.get(field, default)
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise invalid(field, value) from None
        if not number.is_finite():
            raise invalid(field, value)
        return number

    def customer(self, cuno: str) -> dict[str, Any]:
        found = self.row("SELECT * FROM m3_customers WHERE ti = ? AND cuno = ?", (self.ti, cuno))
        if found is None:
            raise not_found("CUNO", cuno)
        found["data"] = json.loads(found["data"])
        return found

    def item(self, itno: str) -> dict[str, Any]:
        found = self.row("SELECT * FROM m3_items WHERE ti = ? AND itno = ?", (self.ti, itno))
        if found is None:
            raise not_found("ITNO", itno)
        return found

    def warehouse(self, whlo: str) -> str:
        if whlo not in self.warehouses:
            raise not_found("WHLO", whlo)
        return whlo

    def batch_order(self, orno: str) -> dict[str, Any]:
        """A batch order by its temporary number (OIS275), confirmed or not."""
        found = self.row("SELECT * FROM m3_orders WHERE ti = ? AND batch_orno = ?", (self.ti, orno))
        if found is None:
            raise not_found("ORNO", orno)
        found["head"] = json.loads(found["head"])
        return found

    def open_batch_order(self, orno: str) -> dict[str, Any]:
        order = self.batch_order(orno)
        if order["orno"]:
            raise M3Error(
                "WOR0305",
                f"Batch order {orno} is already transferred to order {order['orno']}",
                "ORNO",
            )
        return order

    def order(self, orno: str) -> dict[str, Any]:
        """A real (confirmed) customer order by its order number."""
        found = self.row("SELECT * FROM m3_orders WHERE ti = ? AND orno = ?", (self.ti, orno))
        if found is None:
            raise not_found("ORNO", orno)
        found["head"] = json.loads(found["head"])
        return found

    def lines(self, batch_orno: str) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT * FROM m3_order_lines WHERE ti = ? AND batch_orno = ? ORDER BY ponr, posx",
            (self.ti, batch_orno),
        )

    def log_order_error(self, batch_orno: str, msid: str, field: str, text: str) -> None:
        """Keep a batch-order error for LstErrMsgOrder (M3's OIS275 error log)."""
        self.execute(
            "INSERT INTO m3_order_errors(ti, batch_orno, levl, msid, mdta, tx60) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self.ti, batch_orno, "1", msid, field, text[:60]),
        )


SERIES = {
    "batch": 100_000,
    "order": 1_000_000_000,
    "delivery": 100_000_000,
    "invoice": 10_000_000,
    "customer": 10_000,
}


def series_slot(tenant: DemoTenant) -> int:
    """1 and 2 for the demo tenants; 3 to 9 for ERP tenants added later (numbers may repeat
    between those, which is harmless: every series is per TI)."""
    if tenant in demo_data.TENANTS:
        return demo_data.TENANTS.index(tenant) + 1
    return 3 + zlib.crc32(tenant.erp_tenant.encode()) % 7


def warehouses(tenant: DemoTenant) -> tuple[str, ...]:
    """The tenant's main warehouse plus one more (e.g. 100 and 110)."""
    main = int(tenant.warehouse)
    return tuple(f"{main + 10 * n:03d}" for n in range(demo_data.WAREHOUSES_PER_TENANT))


def template_customer(tenant: DemoTenant) -> str:
    """The B2C customer template (CUTM) seeded in each M3, e.g. ACTEMPLATE."""
    return f"{tenant.sku_prefix}TEMPLATE"


def parse_lmts(value: str) -> int:
    """`LMTS` input as epoch milliseconds; `yyyyMMddHHmmss[SSS]` is accepted too.

    Epoch milliseconds have 13 digits until the year 2286, so longer values are date-shaped.
    """
    if not value:
        return 0
    if not value.isdigit():
        raise invalid("LMTS", value)
    if len(value) >= 14 and value[:2] in ("19", "20"):
        try:
            stamp = value[:17].ljust(17, "0")
            moment = datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
        except ValueError:
            raise invalid("LMTS", value) from None
        return int(moment.timestamp() * 1000)
    return int(value)


def lmdt(lmts: int) -> str:
    return datetime.fromtimestamp(lmts / 1000, UTC).strftime("%Y%m%d")


def check_inputs(ctx: M3Context, trx: Transaction, inputs: Record) -> None:
    """What M3 checks before the program logic: company, mandatory fields, field lengths."""
    cono = inputs.get("CONO")
    if cono and cono != ctx.tenant.company:
        raise M3Error("XAU0008", f"Not authorized for company {cono}", "CONO")
    for field in trx.mandatory:
        if not inputs.get(field):
            raise missing(field)
    for field, value in inputs.items():
        kind, length, _ = FIELDS.get(field, ("A", 0, ""))
        if kind == "A" and length and len(value) > length:
            raise M3Error("XRE0104", f"Field {field} is longer than {length} characters", field)


# --- search queries (SQRY) -------------------------------------------------------------------

_QUERY_TERM = re.compile(r'(?:(\w+):)?("(?:[^"\\]|\\.)*"|\S+)')


def parse_query(sqry: str) -> list[list[tuple[str | None, str]]]:
    """A small Lucene-like query: `FIELD:value AND FIELD:"a b" OR word*`, no parentheses."""
    groups: list[list[tuple[str | None, str]]] = [[]]
    for match in _QUERY_TERM.finditer(sqry):
        field, value = match.group(1), match.group(2)
        if field is None and value in ("AND", "&&"):
            continue
        if field is None and value in ("OR", "||"):
            groups.append([])
            continue
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        value = re.sub(r"\\(.)", r"\1", value)
        groups[-1].append((field.upper() if field else None, value.lower()))
    if not any(groups):
        raise invalid("SQRY", sqry)
    return [group for group in groups if group]


def query_matches(query: list[list[tuple[str | None, str]]], record: Record) -> bool:
    def term_matches(field: str | None, pattern: str) -> bool:
        values = [record.get(field, "")] if field else list(record.values())
        for value in values:
            value = value.lower()
            if pattern.endswith("*") and value.startswith(pattern[:-1]):
                return True
            if value == pattern or (field is None and pattern in value.split()):
                return True
        return False

    return any(all(term_matches(field, pattern) for field, pattern in group) for group in query)
