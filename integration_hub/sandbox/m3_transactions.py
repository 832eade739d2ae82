"""The M3 MI transactions the sandbox simulates, one ION tenant (TI) = one M3 with its own data.

Each transaction is a plain function registered with `@transaction(program, name, mandatory)`;
the protocol layer in `m3.py` checks the mandatory (*) fields of contracts/infor-m3.md §4, runs
the function inside one SQLite transaction and wraps its records in the v1/v2 envelopes.

Simulated behaviour worth knowing (the contract leaves these open):
- Error codes follow one pattern, labelled simulated: `W{first two letters of the field}0102`
  "must be entered", `...0203` "does not exist", `...0302` "already exists", `...0401` invalid.
- `LMTS` is epoch milliseconds; inputs also accept `yyyyMMddHHmmssSSS`.
- `Lst*` transactions with a start key (`LstByNumber`, `LstBySearchKey`, `LstHead`) list from that
  key onwards, as M3 does, so callers must check for an exact match.
- `Confirm` allocates stock (lines 33 when the warehouse has enough, else 22); the `deliver`
  control ships every line in full and M3 "invoices" at once (delivery status 70, lines 77).
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from integration_hub.sandbox import demo_data
from integration_hub.sandbox.demo_data import DemoTenant

Record = dict[str, str]

PRICE_LIST = "WEBSHOP"
CURRENCY = "EUR"
ORDER_TYPE = "B2C"
PAYMENT_TERMS = "30"
PAYMENT_DAYS = 30
DELIVERY_METHOD = "UPS"
BATCH_STATUS_TRANSFERRED = "90"
ORDER_STATUS_ACTIVE = "20"
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
    "NEPR": ("N", 17, "Net price"),
    "NLAM": ("N", 17, "Net line amount"),
    "NTAM": ("N", 17, "Net order value"),
    "ORDT": ("D", 8, "Order date"),
    "ORNO": ("A", 10, "Customer order number"),
    "ORQT": ("N", 15, "Ordered quantity"),
    "ORSL": ("A", 2, "Lowest status"),
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
    "SAPR": ("N", 17, "Sales price"),
    "SQRY": ("A", 1024, "Search query"),
    "STAT": ("A", 2, "Status"),
    "STQT": ("N", 15, "On-hand balance"),
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

    def __init__(self, conn: sqlite3.Connection, tenant: DemoTenant, now: datetime) -> None:
        self.conn = conn
        self.tenant = tenant
        self.ti = tenant.erp_tenant
        self.now = now

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
        first = SERIES[series] * (demo_data.TENANTS.index(self.tenant) + 1) + 1
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


# --- CRS610MI: customers -----------------------------------------------------------------------


def customer_record(ctx: M3Context, customer: dict[str, Any]) -> Record:
    data = customer["data"]
    record = {field: str(data.get(field, "")) for field in CUSTOMER_OUTPUT}
    record["CONO"] = ctx.tenant.company
    record["LMDT"] = lmdt(customer["lmts"])
    return record


def all_customers(ctx: M3Context, where: str = "", params: Iterable[Any] = ()) -> list[dict]:
    found = ctx.rows(
        f"SELECT * FROM m3_customers WHERE ti = ? {where} ORDER BY cuno", (ctx.ti, *params)
    )
    for customer in found:
        customer["data"] = json.loads(customer["data"])
    return found


def create_customer(
    ctx: M3Context, fields: Record, *, template: bool = False, by_api: bool = False
) -> str:
    """Insert a customer; the number comes from the series unless `CUNO` is given."""
    cuno = fields.get("CUNO") or f"{ctx.tenant.sku_prefix}{ctx.next_number('customer'):08d}"
    data = {
        "CUNO": cuno,
        "STAT": CUSTOMER_STATUS_ACTIVE,
        "CUCD": CURRENCY,
        "ORTP": ORDER_TYPE,
        "WHLO": ctx.tenant.warehouse,
        "TEPY": PAYMENT_TERMS,
        "DIVI": ctx.tenant.division,
        "LNCD": "GB",
        "CUTP": "0",
        "RGDT": ctx.today,
        **fields,
    }
    data.setdefault("ALCU", data.get("CUNM", "").upper()[:10])
    data.setdefault("PYNO", cuno)
    ctx.execute(
        "INSERT INTO m3_customers(ti, cuno, template, created_by_api, mail, alcu, lmts, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (ctx.ti, cuno, int(template), int(by_api), data.get("MAIL", "").lower(), data["ALCU"],
         ctx.lmts, json.dumps(data)),
    )  # fmt: skip
    return cuno


@transaction("CRS610MI", "GetBasicData", ["CUNO"])
def get_basic_data(ctx: M3Context, inputs: Record) -> list[Record]:
    return [customer_record(ctx, ctx.customer(inputs["CUNO"]))]


@transaction("CRS610MI", "LstByNumber")
def list_customers_by_number(ctx: M3Context, inputs: Record) -> list[Record]:
    since = parse_lmts(inputs.get("LMTS", ""))
    found = all_customers(ctx, "AND cuno >= ? AND lmts > ?", (inputs.get("CUNO", ""), since))
    return [customer_record(ctx, customer) for customer in found]


@transaction("CRS610MI", "LstBySearchKey")
def list_customers_by_search_key(ctx: M3Context, inputs: Record) -> list[Record]:
    found = ctx.rows(
        "SELECT * FROM m3_customers WHERE ti = ? AND alcu >= ? ORDER BY alcu, cuno",
        (ctx.ti, inputs.get("ALCU", "")),
    )
    return [customer_record(ctx, {**row, "data": json.loads(row["data"])}) for row in found]


@transaction("CRS610MI", "SearchCustomer", ["SQRY"])
def search_customer(ctx: M3Context, inputs: Record) -> list[Record]:
    query = parse_query(inputs["SQRY"])
    records = [customer_record(ctx, customer) for customer in all_customers(ctx)]
    fields = ("CUNO", "CUNM", "STAT", "CUCL", "CUTP", "PYNO", "MAIL", "ALCU", "TOWN", "CSCD")
    return [
        {field: record.get(field, "") for field in fields}
        for record in records
        if query_matches(query, record)
    ]


@transaction("CRS610MI", "Add", ["CUTM", "CUNM", "CUA1"])
def add_customer(ctx: M3Context, inputs: Record) -> list[Record]:
    """Create a customer from a template: the template's order type, terms, currency apply."""
    template = ctx.row(
        "SELECT data FROM m3_customers WHERE ti = ? AND cuno = ? AND template = 1",
        (ctx.ti, inputs["CUTM"]),
    )
    if template is None:
        raise not_found("CUTM", inputs["CUTM"])
    if inputs.get("CUNO") and ctx.row(
        "SELECT 1 FROM m3_customers WHERE ti = ? AND cuno = ?", (ctx.ti, inputs["CUNO"])
    ):
        raise already_exists("CUNO", inputs["CUNO"])
    inherited = {
        key: value
        for key, value in json.loads(template["data"]).items()
        if key in ("CUTP", "CUCD", "ORTP", "WHLO", "TEPY", "LNCD", "DIVI", "CSCD")
    }
    own = {field: inputs[field] for field in (*CUSTOMER_INPUT, "CUNO") if inputs.get(field)}
    cuno = create_customer(ctx, {**inherited, **own}, by_api=True)
    return [{"CUNO": cuno, "ERRM": ""}]


@transaction("CRS610MI", "ChgBasicData", ["CUNO"])
def change_customer(ctx: M3Context, inputs: Record) -> list[Record]:
    customer = ctx.customer(inputs["CUNO"])
    data = customer["data"]
    data.update({field: inputs[field] for field in CUSTOMER_INPUT if inputs.get(field)})
    ctx.execute(
        "UPDATE m3_customers SET data = ?, mail = ?, alcu = ?, lmts = ? WHERE ti = ? AND cuno = ?",
        (json.dumps(data), data.get("MAIL", "").lower(), data.get("ALCU", ""), ctx.lmts, ctx.ti,
         data["CUNO"]),
    )  # fmt: skip
    return []


@transaction("CRS610MI", "AddAddress", ["CUNO", "ADRT", "ADID", "CUA1", "PONO", "CSCD", "TOWN"])
def add_address(ctx: M3Context, inputs: Record) -> list[Record]:
    ctx.customer(inputs["CUNO"])
    if not inputs["ADRT"].isdigit():
        raise invalid("ADRT", inputs["ADRT"])
    key = (ctx.ti, inputs["CUNO"], inputs["ADRT"], inputs["ADID"])
    if ctx.row(
        "SELECT 1 FROM m3_addresses WHERE ti = ? AND cuno = ? AND adrt = ? AND adid = ?", key
    ):
        raise already_exists("ADID", inputs["ADID"])
    data = {field: inputs[field] for field in ADDRESS_FIELDS if inputs.get(field)}
    ctx.execute(
        "INSERT INTO m3_addresses(ti, cuno, adrt, adid, data) VALUES (?, ?, ?, ?, ?)",
        (*key, json.dumps(data)),
    )
    return [{"CUNO": inputs["CUNO"], "ADRT": inputs["ADRT"], "ADID": inputs["ADID"]}]


# --- OIS100MI: batch orders and customer orders ------------------------------------------------


@transaction("OIS100MI", "AddBatchHead", ["CUNO"])
def add_batch_head(ctx: M3Context, inputs: Record) -> list[Record]:
    """Start a batch order; the answer is its temporary number, not the real order number."""
    customer = ctx.customer(inputs["CUNO"])
    if customer["template"]:
        raise M3Error("WCU0405", f"Customer {inputs['CUNO']} is a template", "CUNO")
    if customer["data"].get("STAT") != CUSTOMER_STATUS_ACTIVE:
        raise M3Error("WCU0407", f"Customer {inputs['CUNO']} is not active", "CUNO")
    data = customer["data"]
    head = {field: inputs[field] for field in HEAD_INPUT if inputs.get(field)}
    head.setdefault("ORTP", data.get("ORTP", ORDER_TYPE))
    head.setdefault("CUCD", data.get("CUCD", CURRENCY))
    head.setdefault("TEPY", data.get("TEPY", PAYMENT_TERMS))
    head.setdefault("MODL", DELIVERY_METHOD)
    head["WHLO"] = ctx.warehouse(head.get("WHLO") or data.get("WHLO") or ctx.tenant.warehouse)
    head["ORDT"] = ctx.date(inputs, "ORDT", ctx.today)
    head["RLDT"] = ctx.date(inputs, "RLDT", head["ORDT"])
    head["addresses"] = {}
    head["charges"] = []
    head["texts"] = []
    batch_orno = f"{ctx.next_number('batch'):010d}"
    ctx.execute(
        "INSERT INTO m3_orders(ti, batch_orno, orno, cuno, cuor, head, lmts) "
        "VALUES (?, ?, NULL, ?, ?, ?, ?)",
        (ctx.ti, batch_orno, inputs["CUNO"], head.get("CUOR", ""), json.dumps(head), ctx.lmts),
    )
    return [{"ORNO": batch_orno}]


def save_head(ctx: M3Context, order: dict[str, Any]) -> None:
    ctx.execute(
        "UPDATE m3_orders SET head = ? WHERE ti = ? AND batch_orno = ?",
        (json.dumps(order["head"]), ctx.ti, order["batch_orno"]),
    )


@transaction("OIS100MI", "AddBatchAddress", ["ORNO", "ADRT"])
def add_batch_address(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.open_batch_order(inputs["ORNO"])
    if not inputs["ADRT"].isdigit():
        raise invalid("ADRT", inputs["ADRT"])
    address = {field: inputs[field] for field in ADDRESS_FIELDS if inputs.get(field)}
    order["head"]["addresses"][inputs["ADRT"]] = address
    save_head(ctx, order)
    return []


@transaction("OIS100MI", "AddBatchLine", ["ORNO", "ITNO"])
def add_batch_line(ctx: M3Context, inputs: Record) -> list[Record]:
    """Add a line; an unknown item fails and is also kept in the batch order's error log."""
    order = ctx.open_batch_order(inputs["ORNO"])
    try:
        item = ctx.item(inputs["ITNO"])
        if item["stat"] != ITEM_STATUS_ACTIVE:
            raise M3Error("WIT0405", f"Item {inputs['ITNO']} is not sellable", "ITNO")
        quantity = ctx.decimal(inputs, "ORQT")
        if quantity <= 0:
            raise M3Error("WOR0102", "Ordered quantity must be entered", "ORQT")
        whlo = ctx.warehouse(inputs.get("WHLO") or order["head"]["WHLO"])
        dwdt = ctx.date(inputs, "DWDT", order["head"]["RLDT"])
        price = ctx.decimal(inputs, "SAPR") if inputs.get("SAPR") else list_price(ctx, item)
    except M3Error as error:
        ctx.log_order_error(order["batch_orno"], error.code, error.field, error.message)
        error.keep_changes = True
        raise
    net = price
    for n in range(1, 7):
        net = net * (1 - ctx.decimal(inputs, f"DIP{n}") / 100)
    discount_amounts = sum((ctx.decimal(inputs, f"DIA{n}") for n in range(1, 7)), Decimal(0))
    net = money(max(Decimal(0), net - discount_amounts / quantity))
    last_line = ctx.conn.execute(
        "SELECT COALESCE(MAX(ponr), 0) FROM m3_order_lines WHERE ti = ? AND batch_orno = ?",
        (ctx.ti, order["batch_orno"]),
    ).fetchone()[0]
    ponr = last_line + 1
    extra = {
        field: inputs[field] for field in ("CUOR", "CUPO", "ITDS", "ALUN") if inputs.get(field)
    }
    ctx.execute(
        "INSERT INTO m3_order_lines(ti, batch_orno, ponr, posx, itno, whlo, orqt, sapr, nepr, "
        "alqt, dlqt, ivqt, orst, dwdt, data) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, '0', '0', '0', "
        "'', ?, ?)",
        (ctx.ti, order["batch_orno"], ponr, item["itno"], whlo, num(quantity), num(price),
         num(net), dwdt, json.dumps(extra)),
    )  # fmt: skip
    return [{"PONR": str(ponr), "POSX": "0", "ATNR": "0"}]


def list_price(ctx: M3Context, item: dict[str, Any]) -> Decimal:
    price = ctx.row(
        "SELECT sapr FROM m3_prices WHERE ti = ? AND itno = ? AND prrf = ? ORDER BY fvdt DESC",
        (ctx.ti, item["itno"], PRICE_LIST),
    )
    if price is None:
        raise M3Error("WSA0203", f"No sales price found for item {item['itno']}", "SAPR")
    return Decimal(price["sapr"])


@transaction("OIS100MI", "AddBatchHeadChg", ["ORNO", "CRID"])
def add_batch_head_charge(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.open_batch_order(inputs["ORNO"])
    amount = ctx.decimal(inputs, "CRAM")
    order["head"]["charges"].append({"CRID": inputs["CRID"], "CRAM": num(amount)})
    save_head(ctx, order)
    return []


@transaction("OIS100MI", "AddBatchText", ["ORNO", "TYPE", "TYTR", "PARM"])
def add_batch_text(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.open_batch_order(inputs["ORNO"])
    if inputs["TYPE"] not in ("1", "2"):
        raise invalid("TYPE", inputs["TYPE"])
    if inputs["TYTR"] not in ("1", "2"):
        raise invalid("TYTR", inputs["TYTR"])
    text = {field: inputs[field] for field in ("TYPE", "TYTR", "PARM", "PONR") if field in inputs}
    order["head"]["texts"].append(text)
    save_head(ctx, order)
    return []


@transaction("OIS100MI", "Confirm", ["ORNO"])
def confirm(ctx: M3Context, inputs: Record) -> list[Record]:
    """Transfer the batch order into a real order, allocating what the warehouse has."""
    order = ctx.open_batch_order(inputs["ORNO"])
    lines = ctx.lines(order["batch_orno"])
    problem = None
    if not lines:
        problem = M3Error("OI00001", "Order has no lines", "ORNO")
    elif ctx.customer(order["cuno"])["data"].get("STAT") != CUSTOMER_STATUS_ACTIVE:
        problem = M3Error("WCU0407", f"Customer {order['cuno']} is not active", "CUNO")
    if problem:
        ctx.log_order_error(order["batch_orno"], problem.code, problem.field, problem.message)
        problem.keep_changes = True
        raise problem
    for line in lines:
        allocate(ctx, line)
    orno = str(ctx.next_number("order"))
    ctx.execute(
        "UPDATE m3_orders SET orno = ?, lmts = ? WHERE ti = ? AND batch_orno = ?",
        (orno, ctx.lmts, ctx.ti, order["batch_orno"]),
    )
    return [{"ORNO": orno, "STAT": BATCH_STATUS_TRANSFERRED}]


def balance(ctx: M3Context, whlo: str, itno: str) -> dict[str, Any]:
    found = ctx.row(
        "SELECT * FROM m3_balances WHERE ti = ? AND whlo = ? AND itno = ?", (ctx.ti, whlo, itno)
    )
    return found or {"whlo": whlo, "itno": itno, "stqt": "0", "alqt": "0", "lmts": 0}


def save_balance(ctx: M3Context, whlo: str, itno: str, stqt: Decimal, alqt: Decimal) -> None:
    """Write a warehouse balance and bump its change timestamp (seen by LstNewBalances)."""
    ctx.execute(
        "INSERT INTO m3_balances(ti, whlo, itno, stqt, alqt, lmts) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(ti, whlo, itno) DO UPDATE SET stqt = excluded.stqt, alqt = excluded.alqt, "
        "lmts = excluded.lmts",
        (ctx.ti, whlo, itno, num(stqt), num(alqt), ctx.lmts),
    )


def allocate(ctx: M3Context, line: dict[str, Any]) -> None:
    stock = balance(ctx, line["whlo"], line["itno"])
    on_hand, allocated = Decimal(stock["stqt"]), Decimal(stock["alqt"])
    quantity = Decimal(line["orqt"])
    if on_hand - allocated >= quantity:
        save_balance(ctx, line["whlo"], line["itno"], on_hand, allocated + quantity)
        status, line_allocated = "33", quantity
    else:
        status, line_allocated = "22", Decimal(0)
    ctx.execute(
        "UPDATE m3_order_lines SET orst = ?, alqt = ? WHERE ti = ? AND batch_orno = ? AND ponr = ?",
        (status, num(line_allocated), ctx.ti, line["batch_orno"], line["ponr"]),
    )


@transaction("OIS100MI", "LstErrMsgOrder", ["ORNO"])
def list_order_errors(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.batch_order(inputs["ORNO"])
    errors = ctx.rows(
        "SELECT levl, msid, mdta, tx60 FROM m3_order_errors WHERE ti = ? AND batch_orno = ? "
        "ORDER BY id",
        (ctx.ti, order["batch_orno"]),
    )
    return [{key.upper(): value for key, value in error.items()} for error in errors]


@transaction("OIS100MI", "GetOrderNo", ["ORNO"])
def get_order_number(ctx: M3Context, inputs: Record) -> list[Record]:
    """Temporary → real order number; blank while the batch order is not confirmed."""
    return [{"ORNR": ctx.batch_order(inputs["ORNO"])["orno"] or ""}]


@transaction("OIS100MI", "DelBatchHead", ["ORNO"])
def delete_batch_head(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.open_batch_order(inputs["ORNO"])
    for table in ("m3_order_lines", "m3_order_errors", "m3_orders"):
        ctx.execute(
            f"DELETE FROM {table} WHERE ti = ? AND batch_orno = ?", (ctx.ti, order["batch_orno"])
        )
    return []


def line_amount(line: dict[str, Any]) -> Decimal:
    return money(Decimal(line["nepr"]) * Decimal(line["orqt"]))


def order_head_record(ctx: M3Context, order: dict[str, Any]) -> Record:
    head = order["head"]
    lines = ctx.lines(order["batch_orno"])
    statuses = [line["orst"] for line in lines] or ["22"]
    net = sum((line_amount(line) for line in lines), Decimal(0))
    charges = sum((Decimal(charge["CRAM"]) for charge in head["charges"]), Decimal(0))
    last_delivery = ctx.row(
        "SELECT dlix FROM m3_deliveries WHERE ti = ? AND orno = ? ORDER BY dlix DESC",
        (ctx.ti, order["orno"]),
    )
    return {
        "CONO": ctx.tenant.company,
        "ORNO": order["orno"],
        "CUNO": order["cuno"],
        "CUOR": head.get("CUOR", ""),
        "ORTP": head["ORTP"],
        "ORDT": head["ORDT"],
        "RLDT": head["RLDT"],
        "WHLO": head["WHLO"],
        "CUCD": head["CUCD"],
        "TEPY": head["TEPY"],
        "MODL": head["MODL"],
        "YREF": head.get("YREF", ""),
        "STAT": ORDER_STATUS_ACTIVE,
        "ORSL": min(statuses),
        "ORST": max(statuses),
        "OBLC": "0",
        "NTAM": num(net),
        "TOPY": num(net + charges),
        "DLIX": str(last_delivery["dlix"]) if last_delivery else "",
    }


def confirmed_orders(ctx: M3Context, where: str = "", params: Iterable[Any] = ()) -> list[dict]:
    found = ctx.rows(
        f"SELECT * FROM m3_orders WHERE ti = ? AND orno IS NOT NULL {where} ORDER BY orno",
        (ctx.ti, *params),
    )
    for order in found:
        order["head"] = json.loads(order["head"])
    return found


@transaction("OIS100MI", "GetHead", ["ORNO"])
def get_head(ctx: M3Context, inputs: Record) -> list[Record]:
    return [order_head_record(ctx, ctx.order(inputs["ORNO"]))]


@transaction("OIS100MI", "LstLine", ["ORNO"])
def list_lines(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.order(inputs["ORNO"])
    records = [
        {
            "ORNO": order["orno"],
            "PONR": str(line["ponr"]),
            "POSX": str(line["posx"]),
            "ITNO": line["itno"],
            "WHLO": line["whlo"],
            "ORQT": line["orqt"],
            "SAPR": line["sapr"],
            "NEPR": line["nepr"],
            "NLAM": num(line_amount(line)),
            "ORST": line["orst"],
            "ALQT": line["alqt"],
            "DLQT": line["dlqt"],
            "IVQT": line["ivqt"],
            "CODT": line["dwdt"],
        }
        for line in ctx.lines(order["batch_orno"])
    ]
    return [
        record
        for record in records
        if inputs.get("ORST", record["ORST"]) == record["ORST"]
        and inputs.get("ITNO", record["ITNO"]) == record["ITNO"]
    ]


HEAD_LIST_FIELDS = ("ORNO", "CUNO", "CUOR", "ORDT", "ORTP", "ORSL", "ORST", "NTAM", "CUCD", "DLIX")


@transaction("OIS100MI", "LstHead", ["CUNO"])
def list_heads(ctx: M3Context, inputs: Record) -> list[Record]:
    ctx.customer(inputs["CUNO"])
    records = [
        order_head_record(ctx, order)
        for order in confirmed_orders(ctx, "AND cuno = ?", (inputs["CUNO"],))
    ]
    return [
        {field: record[field] for field in HEAD_LIST_FIELDS}
        for record in records
        if inputs.get("ORSL", record["ORSL"]) == record["ORSL"]
        and inputs.get("ORST", record["ORST"]) == record["ORST"]
    ]


@transaction("OIS100MI", "SearchHead", ["SQRY"])
def search_heads(ctx: M3Context, inputs: Record) -> list[Record]:
    query = parse_query(inputs["SQRY"])
    records = [order_head_record(ctx, order) for order in confirmed_orders(ctx)]
    return [
        {field: record[field] for field in HEAD_LIST_FIELDS}
        for record in records
        if query_matches(query, record)
    ]


@transaction("OIS100MI", "GetOrderValue", ["ORNO"])
def get_order_value(ctx: M3Context, inputs: Record) -> list[Record]:
    head = order_head_record(ctx, ctx.order(inputs["ORNO"]))
    invoiced = sum(
        (
            Decimal(invoice["ivav"])
            for invoice in ctx.rows(
                "SELECT ivav FROM m3_invoices WHERE ti = ? AND orno = ?", (ctx.ti, head["ORNO"])
            )
        ),
        Decimal(0),
    )
    return [
        {
            "ORNO": head["ORNO"],
            "CUCD": head["CUCD"],
            "NTAM": head["NTAM"],
            "TOPY": head["TOPY"],
            "ITOP": num(invoiced),
            "IVTA": num(invoiced),
        }
    ]


@transaction("OIS100MI", "LstDelLineByCO", ["ORNO", "PONR"])
def list_delivery_lines_by_order(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.order(inputs["ORNO"])
    found = ctx.rows(
        "SELECT l.*, d.pgrs, d.modl FROM m3_delivery_lines l JOIN m3_deliveries d "
        "ON d.ti = l.ti AND d.dlix = l.dlix WHERE l.ti = ? AND l.orno = ? AND l.ponr = ? "
        "AND l.posx = ? ORDER BY l.dlix",
        (ctx.ti, order["orno"], inputs["PONR"], inputs.get("POSX", "0")),
    )
    return [
        {
            "DLIX": str(row["dlix"]),
            "RIDN": row["orno"],
            "RIDL": str(row["ponr"]),
            "RIDX": str(row["posx"]),
            "ITNO": row["itno"],
            "TRQT": row["trqt"],
            "PGRS": row["pgrs"],
            "MODL": row["modl"],
        }
        for row in found
    ]


# --- stock: OIS100MI, MMS200MI, MMS060MI ------------------------------------------------------


def balance_record(row: dict[str, Any]) -> Record:
    on_hand, allocated = Decimal(row["stqt"]), Decimal(row["alqt"])
    return {
        "WHLO": row["whlo"],
        "ITNO": row["itno"],
        "STQT": num(on_hand),
        "ALQT": num(allocated),
        "AVAL": num(on_hand - allocated),
        "AV01": num(on_hand - allocated),
        "AV02": num(on_hand),
        "LTDT": "",
        "PFDT": "",
        "LMDT": lmdt(row["lmts"]),
    }


@transaction("OIS100MI", "LstNewBalances")
def list_new_balances(ctx: M3Context, inputs: Record) -> list[Record]:
    since = parse_lmts(inputs.get("LMTS", ""))
    found = ctx.rows(
        "SELECT * FROM m3_balances WHERE ti = ? AND lmts > ? ORDER BY whlo, itno", (ctx.ti, since)
    )
    fields = ("WHLO", "ITNO", "AV01", "AV02", "LTDT", "PFDT")
    return [{field: balance_record(row)[field] for field in fields} for row in found]


@transaction("OIS100MI", "LstWarehBalance", ["ITNO"])
def list_warehouse_balance(ctx: M3Context, inputs: Record) -> list[Record]:
    ctx.item(inputs["ITNO"])
    found = ctx.rows(
        "SELECT * FROM m3_balances WHERE ti = ? AND itno = ? ORDER BY whlo",
        (ctx.ti, inputs["ITNO"]),
    )
    fields = ("WHLO", "ITNO", "AV01", "AV02", "LTDT", "PFDT", "LMDT")
    return [{field: balance_record(row)[field] for field in fields} for row in found]


@transaction("OIS100MI", "GetATP", ["ITNO", "WHLO"])
def get_atp(ctx: M3Context, inputs: Record) -> list[Record]:
    item = ctx.item(inputs["ITNO"])
    record = balance_record(balance(ctx, ctx.warehouse(inputs["WHLO"]), item["itno"]))
    return [{"AVTQ": record["AV01"], "UNMS": item["unms"], "AVTD": inputs.get("DWDT", ctx.today)}]


@transaction("MMS200MI", "GetItmWhsBal", ["WHLO", "ITNO"])
def get_item_warehouse_balance(ctx: M3Context, inputs: Record) -> list[Record]:
    item = ctx.item(inputs["ITNO"])
    record = balance_record(balance(ctx, ctx.warehouse(inputs["WHLO"]), item["itno"]))
    for field in ("REQT", "PLQT", "ORQT", "QUQT", "RJQT"):
        record[field] = "0"
    record["ORQT"] = record["ALQT"]
    return [record]


@transaction("MMS060MI", "LstNewItemBal", ["ITNO"])
def list_new_item_balance(ctx: M3Context, inputs: Record) -> list[Record]:
    item = ctx.item(inputs["ITNO"])
    since = parse_lmts(inputs.get("LMTS", ""))
    found = ctx.rows(
        "SELECT * FROM m3_balances WHERE ti = ? AND itno = ? AND lmts > ? ORDER BY whlo",
        (ctx.ti, item["itno"], since),
    )
    return [
        {
            "WHLO": row["whlo"],
            "ITNO": row["itno"],
            "WHSL": "A-01",
            "STAS": "2",
            "STQT": num(Decimal(row["stqt"])),
            "STQM": num(Decimal(row["stqt"])),
        }
        for row in found
    ]


def item_record(ctx: M3Context, item: dict[str, Any]) -> Record:
    return {
        "CONO": ctx.tenant.company,
        "ITNO": item["itno"],
        "ITDS": item["itds"],
        "UNMS": item["unms"],
        "STAT": item["stat"],
        "SALE": "1",
        "GRWE": item["grwe"],
        "LMDT": lmdt(item["lmts"]),
    }


@transaction("MMS200MI", "Get", ["ITNO"])
def get_item(ctx: M3Context, inputs: Record) -> list[Record]:
    return [item_record(ctx, ctx.item(inputs["ITNO"]))]


@transaction("MMS200MI", "GetItmBasic", ["ITNO"])
def get_item_basic(ctx: M3Context, inputs: Record) -> list[Record]:
    return [item_record(ctx, ctx.item(inputs["ITNO"]))]


@transaction("MMS200MI", "GetItmPrice", ["ITNO"])
def get_item_price(ctx: M3Context, inputs: Record) -> list[Record]:
    item = ctx.item(inputs["ITNO"])
    price = num(list_price(ctx, item))
    return [{"ITNO": item["itno"], "SAPR": price, "SAPB": price, "LMDT": lmdt(item["lmts"])}]


@transaction("MMS200MI", "LstItmByChgDate")
def list_items_by_change_date(ctx: M3Context, inputs: Record) -> list[Record]:
    since = ctx.date(inputs, "CSDS", "19000101") if inputs.get("CSDS") else "19000101"
    start = ctx.date(inputs, "FLMD", since) if inputs.get("FLMD") else since
    end = ctx.date(inputs, "TLMD", "99991231") if inputs.get("TLMD") else "99991231"
    items = ctx.rows("SELECT * FROM m3_items WHERE ti = ? ORDER BY itno", (ctx.ti,))
    records = [item_record(ctx, item) for item in items]
    return [record for record in records if start <= record["LMDT"] <= end]


# --- OIS320MI: prices --------------------------------------------------------------------------


def price_record(ctx: M3Context, row: dict[str, Any]) -> Record:
    return {
        "CONO": ctx.tenant.company,
        "PRRF": row["prrf"],
        "CUCD": row["cucd"],
        "CUNO": "",
        "FVDT": row["fvdt"],
        "LVDT": "",
        "ITNO": row["itno"],
        "QTYL": "0",
        "SAPR": num(Decimal(row["sapr"])),
        "SACD": "1",
        "SPUN": "EA",
        "NTCD": "0",
        "TINC": "0",
    }


@transaction("OIS320MI", "LstNewPrices")
def list_new_prices(ctx: M3Context, inputs: Record) -> list[Record]:
    since = parse_lmts(inputs.get("LMTS", ""))
    found = ctx.rows(
        "SELECT * FROM m3_prices WHERE ti = ? AND lmts > ? ORDER BY prrf, itno", (ctx.ti, since)
    )
    return [price_record(ctx, row) for row in found]


@transaction("OIS320MI", "LstListPrices")
def list_list_prices(ctx: M3Context, inputs: Record) -> list[Record]:
    found = ctx.rows("SELECT * FROM m3_prices WHERE ti = ? ORDER BY prrf, itno", (ctx.ti,))
    records = [price_record(ctx, row) for row in found]
    return [
        record
        for record in records
        if all(inputs.get(field, record[field]) == record[field] for field in ("PRRF", "CUCD"))
        and inputs.get("FVDT", record["FVDT"]) >= record["FVDT"]
    ]


def customer_price(ctx: M3Context, inputs: Record) -> tuple[dict[str, Any], Decimal]:
    ctx.customer(inputs["CUNO"])
    item = ctx.item(inputs["ITNO"])
    return item, list_price(ctx, item)


@transaction("OIS320MI", "GetPriceLine", ["CUNO", "ITNO"])
def get_price_line(ctx: M3Context, inputs: Record) -> list[Record]:
    item, price = customer_price(ctx, inputs)
    quantity = ctx.decimal(inputs, "ORQA", "1")
    record = {"ITNO": item["itno"], "SAPR": num(price), "NETP": num(price), "PRRF": PRICE_LIST}
    record.update({"LNAM": num(money(price * quantity)), "PRMO": "2", "TINC": "0"})
    record.update({f"DIP{n}": "0" for n in range(1, 7)})
    record.update({f"DIA{n}": "0" for n in range(1, 7)})
    return [record]


@transaction("OIS320MI", "LstPrices", ["CUNO", "ITNO"])
def list_prices(ctx: M3Context, inputs: Record) -> list[Record]:
    _, price = customer_price(ctx, inputs)
    return [
        {
            "QTLB": "0",
            "SAPR": num(price),
            "DIPC": "0",
            "NETP": num(price),
            "PRRF": PRICE_LIST,
            "PRMO": "2",
        }
    ]


# --- deliveries: MWS410MI, MWS411MI, MWS423MI --------------------------------------------------


def delivery(ctx: M3Context, dlix: str) -> dict[str, Any]:
    found = ctx.row(
        "SELECT * FROM m3_deliveries WHERE ti = ? AND dlix = ?",
        (ctx.ti, int(dlix) if dlix.isdigit() else -1),
    )
    if found is None:
        raise not_found("DLIX", dlix)
    return found


def sscc(dlix: int) -> str:
    return f"38700{dlix:013d}"


@transaction("MWS410MI", "GetHead", ["DLIX"])
def get_delivery_head(ctx: M3Context, inputs: Record) -> list[Record]:
    row = delivery(ctx, inputs["DLIX"])
    return [
        {
            "CONO": ctx.tenant.company,
            "DLIX": str(row["dlix"]),
            "RORC": "3",
            "RIDN": row["orno"],
            "WHLO": row["whlo"],
            "ETRN": row["etrn"],
            "FWNO": row["fwno"],
            "MODL": row["modl"],
            "MODF": row["modl"],
            "PGRS": row["pgrs"],
            "DSDT": row["dsdt"],
            "DSHM": row["dshm"],
            "CONN": str(row["conn"]),
            "IVNO": str(row["ivno"] or ""),
            "IVDT": row["ivdt"] or "",
            "NBOL": f"BOL{row['dlix']}",
            "NRUL": "1",
            "GRW2": row["grw2"],
        }
    ]


@transaction("MWS410MI", "LstPackages", ["DLIX"])
def list_delivery_packages(ctx: M3Context, inputs: Record) -> list[Record]:
    row = delivery(ctx, inputs["DLIX"])
    return [
        {
            "DLIX": str(row["dlix"]),
            "PANR": "1",
            "SSCC": sscc(row["dlix"]),
            "PACT": "BOX",
            "NUPA": "1",
            "DLMO": row["modl"],
            "PCON": str(row["conn"]),
        }
    ]


@transaction("MWS423MI", "LstPackages", ["INOU", "DLIX", "PACO"])
def list_packages(ctx: M3Context, inputs: Record) -> list[Record]:
    row = delivery(ctx, inputs["DLIX"])
    return [
        {
            "DLIX": str(row["dlix"]),
            "PACO": inputs["PACO"],
            "PANR": "1",
            "SSCC": sscc(row["dlix"]),
            "ETRN": row["etrn"],
            "GRWE": row["grw2"],
            "LMDT": lmdt(row["lmts"]),
            "CONN": str(row["conn"]),
            "PGRS": row["pgrs"],
        }
    ]


@transaction("MWS411MI", "LstDelLnByOrd")
def list_delivery_lines_by_reference(ctx: M3Context, inputs: Record) -> list[Record]:
    found = ctx.rows(
        "SELECT l.*, d.lmts FROM m3_delivery_lines l JOIN m3_deliveries d "
        "ON d.ti = l.ti AND d.dlix = l.dlix WHERE l.ti = ? ORDER BY l.dlix, l.ponr",
        (ctx.ti,),
    )
    records = [
        {
            "DLIX": str(row["dlix"]),
            "RORC": "3",
            "RIDN": row["orno"],
            "RIDL": str(row["ponr"]),
            "RIDX": str(row["posx"]),
            "ITNO": row["itno"],
            "TRQT": row["trqt"],
            "PLQT": "0",
            "LMDT": lmdt(row["lmts"]),
            "LMTS": str(row["lmts"]),
        }
        for row in found
    ]
    keys = ("RORC", "RIDN", "RIDL", "RIDX")
    return [r for r in records if all(inputs.get(k, r[k]) == r[k] for k in keys)]


# --- invoices: OIS350MI, ARS200MI --------------------------------------------------------------


def invoice_rows(ctx: M3Context, where: str, params: Iterable[Any]) -> list[dict[str, Any]]:
    return ctx.rows(
        f"SELECT * FROM m3_invoices WHERE ti = ? {where} ORDER BY yea4, ivno", (ctx.ti, *params)
    )


def invoice_record(row: dict[str, Any]) -> Record:
    paid = row["reco"] == AR_STATUS_PAID
    return {
        "YEA4": str(row["yea4"]),
        "IVNO": str(row["ivno"]),
        "INPX": "",
        "EXIN": str(row["ivno"]),
        "ORNO": row["orno"],
        "DLIX": str(row["dlix"]),
        "CUNO": row["cuno"],
        "PYNO": row["cuno"],
        "CUCD": row["cucd"],
        "TEPY": PAYMENT_TERMS,
        "IDAT": row["idat"],
        "IVDT": row["idat"],
        "DUDT": row["dudt"],
        "IVAV": row["ivav"],
        "RAFC": row["rafc"],
        "INST": "9" if paid else "0",
        "LMDT": lmdt(row["lmts"]),
    }


def pick(record: Record, fields: Iterable[str]) -> Record:
    return {field: record[field] for field in fields}


@transaction("OIS350MI", "LstAllInvByCO", ["ORNO"])
def list_all_invoices_by_order(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.order(inputs["ORNO"])
    fields = ("IVNO", "YEA4", "IDAT", "IVAV", "RAFC", "CUCD", "DUDT", "EXIN", "INPX", "PYNO",
              "TEPY")  # fmt: skip
    rows = invoice_rows(ctx, "AND orno = ?", (order["orno"],))
    return [pick(invoice_record(row), fields) for row in rows]


@transaction("OIS350MI", "LstInvHeadByCo", ["ORNO"])
def list_invoice_heads_by_order(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.order(inputs["ORNO"])
    rows = invoice_rows(ctx, "AND orno = ?", (order["orno"],))
    records = []
    for row in rows:
        record = invoice_record(row)
        if inputs.get("DLIX", record["DLIX"]) != record["DLIX"]:
            continue
        if inputs.get("OOIN") == "1" and Decimal(record["RAFC"]) == 0:
            continue
        fields = ("IVNO", "IVDT", "DLIX", "YEA4", "DUDT", "RAFC", "EXIN")
        records.append({**pick(record, fields), "AMT1": record["IVAV"], "AMT2": record["IVAV"]})
    return records


def invoice(ctx: M3Context, yea4: str, ivno: str) -> dict[str, Any]:
    rows = invoice_rows(ctx, "AND yea4 = ? AND ivno = ?", (yea4, ivno))
    if not rows:
        raise not_found("IVNO", ivno)
    return rows[0]


@transaction("OIS350MI", "GetInvHead", ["YEA4", "IVNO"])
def get_invoice_head(ctx: M3Context, inputs: Record) -> list[Record]:
    record = invoice_record(invoice(ctx, inputs["YEA4"], inputs["IVNO"]))
    fields = ("YEA4", "IVNO", "INST", "IDAT", "DUDT", "RAFC", "IVAV", "CUCD", "CUNO", "PYNO",
              "EXIN", "LMDT")  # fmt: skip
    return [pick(record, fields)]


@transaction("OIS350MI", "LstDelHeadByInv", ["YEA4", "IVNO"])
def list_deliveries_by_invoice(ctx: M3Context, inputs: Record) -> list[Record]:
    row = invoice(ctx, inputs["YEA4"], inputs["IVNO"])
    whlo = delivery(ctx, str(row["dlix"]))["whlo"]
    return [{"ORNO": row["orno"], "DLIX": str(row["dlix"]), "WHLO": whlo}]


@transaction("OIS350MI", "GetDelHead", ["ORNO", "WHLO", "DLIX", "TEPY"])
def get_invoiced_delivery(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.order(inputs["ORNO"])
    row = delivery(ctx, inputs["DLIX"])
    if row["orno"] != order["orno"] or row["whlo"] != inputs["WHLO"]:
        raise not_found("DLIX", inputs["DLIX"])
    return [
        {
            "IVNO": str(row["ivno"] or ""),
            "IVDT": row["ivdt"] or "",
            "DLDT": row["dsdt"],
            "CONN": str(row["conn"]),
            "MODL": row["modl"],
            "EXIN": str(row["ivno"] or ""),
        }
    ]


def ar_record(row: dict[str, Any]) -> Record:
    paid = row["reco"] == AR_STATUS_PAID
    return {
        "CUNO": row["cuno"],
        "PYNO": row["cuno"],
        "CINO": str(row["ivno"]),
        "INYR": str(row["yea4"]),
        "YEA4": str(row["yea4"]),
        "JRNO": str(row["ivno"]),
        "JSNO": "1",
        "IVDT": row["idat"],
        "DUDT": row["dudt"],
        "CUAM": row["ivav"],
        "PCUA": row["ivav"] if paid else "0",
        "OCUA": row["rafc"],
        "RECO": row["reco"],
        "REDE": row["dtp5"] or "",
        "DTP5": row["dtp5"] or "",
        "CRST": "",
        "RMST": "",
        "LMTS": str(row["lmts"]),
    }


@transaction("ARS200MI", "LstInvoices", ["CUNO"])
def list_ar_invoices(ctx: M3Context, inputs: Record) -> list[Record]:
    ctx.customer(inputs["CUNO"])
    records = [ar_record(row) for row in invoice_rows(ctx, "AND cuno = ?", (inputs["CUNO"],))]
    fields = ("CINO", "INYR", "RECO", "REDE", "DUDT", "YEA4", "JRNO", "JSNO", "CUAM", "PYNO")
    return [
        pick(record, fields)
        for record in records
        if not (inputs.get("AAC0") == "1" and record["RECO"] == AR_STATUS_PAID)
        and inputs.get("IVDT", "") <= record["IVDT"]
    ]


@transaction("ARS200MI", "GetInvTotInfo", ["PYNO", "CINO", "INYR", "CUNO"])
def get_ar_invoice_totals(ctx: M3Context, inputs: Record) -> list[Record]:
    rows = invoice_rows(
        ctx, "AND cuno = ? AND ivno = ? AND yea4 = ?", (inputs["CUNO"], inputs["CINO"],
                                                         inputs["INYR"])
    )  # fmt: skip
    if not rows or rows[0]["cuno"] != inputs["PYNO"]:
        raise not_found("CINO", inputs["CINO"])
    fields = ("CUAM", "PCUA", "OCUA", "DTP5", "RECO", "CRST", "DUDT", "LMTS")
    return [pick(ar_record(rows[0]), fields)]


@transaction("ARS200MI", "GetInvoice", ["YEA4", "JRNO", "JSNO"])
def get_ar_invoice(ctx: M3Context, inputs: Record) -> list[Record]:
    if inputs["JSNO"] != "1":
        raise not_found("JSNO", inputs["JSNO"])
    record = ar_record(invoice(ctx, inputs["YEA4"], inputs["JRNO"]))
    fields = ("CUNO", "PYNO", "CINO", "YEA4", "JRNO", "JSNO", "CUAM", "RECO", "DTP5", "RMST",
              "DUDT")  # fmt: skip
    return [pick(record, fields)]


# --- business events driven by the control API -----------------------------------------------


def set_price(ctx: M3Context, itno: str, amount: Decimal) -> dict[str, Any]:
    """Change an item's price on every price list and bump the change timestamps."""
    ctx.execute(
        "UPDATE m3_prices SET sapr = ?, lmts = ? WHERE ti = ? AND itno = ?",
        (num(money(amount)), ctx.lmts, ctx.ti, itno),
    )
    ctx.execute("UPDATE m3_items SET lmts = ? WHERE ti = ? AND itno = ?", (ctx.lmts, ctx.ti, itno))
    return {"tenant": ctx.ti, "sku": itno, "price": num(money(amount)), "lmts": ctx.lmts}


def set_stock(ctx: M3Context, itno: str, whlo: str, quantity: Decimal) -> dict[str, Any]:
    """Set the on-hand balance; AV01 stays on-hand minus what open orders have allocated."""
    current = balance(ctx, whlo, itno)
    save_balance(ctx, whlo, itno, quantity, Decimal(current["alqt"]))
    record = balance_record(balance(ctx, whlo, itno))
    return {"tenant": ctx.ti, "sku": itno, "warehouse": whlo, "on_hand": record["STQT"],
            "available": record["AV01"], "lmts": ctx.lmts}  # fmt: skip


def undelivered_orders(ctx: M3Context) -> list[dict[str, Any]]:
    return confirmed_orders(
        ctx,
        "AND batch_orno IN (SELECT batch_orno FROM m3_order_lines WHERE ti = ? AND dlqt = '0')",
        (ctx.ti,),
    )


def deliver_order(
    ctx: M3Context, order: dict[str, Any], tracking: str = "", carrier: str = ""
) -> dict[str, Any]:
    """Ship every open line in full, then let M3's invoicing run: delivery 70, lines 77."""
    lines = [line for line in ctx.lines(order["batch_orno"]) if line["dlqt"] == "0"]
    dlix = ctx.next_number("delivery")
    ivno = ctx.next_number("invoice")
    whlo = order["head"]["WHLO"]
    weight = Decimal(0)
    amount = Decimal(0)
    for line in lines:
        quantity = Decimal(line["orqt"])
        stock = balance(ctx, line["whlo"], line["itno"])
        on_hand = max(Decimal(0), Decimal(stock["stqt"]) - quantity)
        allocated = max(Decimal(0), Decimal(stock["alqt"]) - Decimal(line["alqt"]))
        save_balance(ctx, line["whlo"], line["itno"], on_hand, allocated)
        ctx.execute(
            "UPDATE m3_order_lines SET orst = '77', alqt = '0', dlqt = orqt, ivqt = orqt "
            "WHERE ti = ? AND batch_orno = ? AND ponr = ? AND posx = ?",
            (ctx.ti, line["batch_orno"], line["ponr"], line["posx"]),
        )
        ctx.execute(
            "INSERT INTO m3_delivery_lines(ti, dlix, orno, ponr, posx, itno, trqt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ctx.ti, dlix, order["orno"], line["ponr"], line["posx"], line["itno"], line["orqt"]),
        )
        weight += Decimal(ctx.item(line["itno"])["grwe"]) * quantity
        amount += line_amount(line)
    if not any(invoice_rows(ctx, "AND orno = ?", (order["orno"],))):
        amount += sum((Decimal(c["CRAM"]) for c in order["head"]["charges"]), Decimal(0))
    tracking = tracking or f"1ZSBX{dlix:011d}"
    ctx.execute(
        "INSERT INTO m3_deliveries(ti, dlix, orno, whlo, pgrs, etrn, fwno, modl, dsdt, dshm, "
        "conn, ivno, ivdt, grw2, lmts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ctx.ti, dlix, order["orno"], whlo, DELIVERY_INVOICED, tracking,
         carrier or order["head"]["MODL"], order["head"]["MODL"], ctx.today,
         ctx.now.strftime("%H%M"), dlix, ivno, ctx.today, num(weight), ctx.lmts),
    )  # fmt: skip
    due = (ctx.now + timedelta(days=PAYMENT_DAYS)).strftime("%Y%m%d")
    ctx.execute(
        "INSERT INTO m3_invoices(ti, yea4, ivno, orno, dlix, cuno, cucd, idat, dudt, ivav, rafc, "
        "reco, dtp5, lmts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        (ctx.ti, ctx.now.year, ivno, order["orno"], dlix, order["cuno"], order["head"]["CUCD"],
         ctx.today, due, num(money(amount)), num(money(amount)), AR_STATUS_OPEN, ctx.lmts),
    )  # fmt: skip
    return {"tenant": ctx.ti, "order": order["orno"], "cuor": order["head"].get("CUOR", ""),
            "dlix": str(dlix), "tracking": tracking, "invoice": str(ivno),
            "year": str(ctx.now.year), "amount": num(money(amount))}  # fmt: skip


def pay_invoice(ctx: M3Context, row: dict[str, Any]) -> dict[str, Any]:
    """Record the customer's payment in AR: nothing left to pay (RAFC 0), RECO 9."""
    ctx.execute(
        "UPDATE m3_invoices SET rafc = '0', reco = ?, dtp5 = ?, lmts = ? "
        "WHERE ti = ? AND yea4 = ? AND ivno = ?",
        (AR_STATUS_PAID, ctx.today, ctx.lmts, ctx.ti, row["yea4"], row["ivno"]),
    )
    return {"tenant": ctx.ti, "invoice": str(row["ivno"]), "year": str(row["yea4"]),
            "order": row["orno"], "amount": row["ivav"]}  # fmt: skip


# --- seed ----------------------------------------------------------------------------------------


def seed_tenant(ctx: M3Context) -> None:
    """Items and prices for every sellable SKU, stock in two warehouses, known customers."""
    rng = random.Random(f"m3-stock-{ctx.tenant.slug}")
    for product in demo_data.products(ctx.tenant.slug):
        variants = product.variants or ()
        sellable = [(v.sku, v.price, " ".join(value for _, value in v.options)) for v in variants]
        for sku, price, option in sellable or [(product.sku, product.price, "")]:
            name = f"{product.name} {option}".strip()[:30]
            ctx.execute(
                "INSERT INTO m3_items(ti, itno, itds, unms, stat, grwe, lmts) "
                "VALUES (?, ?, ?, 'EA', '20', ?, ?)",
                (ctx.ti, sku, name, num(product.weight_kg), ctx.lmts),
            )
            ctx.execute(
                "INSERT INTO m3_prices(ti, prrf, cucd, itno, fvdt, sapr, lmts) "
                "VALUES (?, ?, ?, ?, '20240101', ?, ?)",
                (ctx.ti, PRICE_LIST, CURRENCY, sku, num(price), ctx.lmts),
            )
            for n, whlo in enumerate(ctx.warehouses):
                on_hand = 0 if rng.random() < 0.1 else rng.randrange(1, 120 if n == 0 else 40)
                save_balance(ctx, whlo, sku, Decimal(on_hand), Decimal(0))
    create_customer(
        ctx,
        {"CUNO": template_customer(ctx.tenant), "CUNM": "B2C web customer template",
         "CUA1": "-", "STAT": "90"},
        template=True,
    )  # fmt: skip
    create_customer(
        ctx,
        {"CUNO": ctx.tenant.default_customer, "CUNM": f"{ctx.tenant.name} web shop",
         "CUA1": "Web orders", "TOWN": "Leeds", "PONO": "LS1 4AP", "CSCD": "GB"},
    )  # fmt: skip
    for person in demo_data.erp_known_customers(ctx.tenant.slug):
        create_customer(
            ctx,
            {"CUNM": person.company or f"{person.first_name} {person.last_name}",
             "CUA1": person.address1, "TOWN": person.city, "PONO": person.postcode,
             "CSCD": person.country, "PHNO": person.phone, "MAIL": person.email,
             "YREF": f"{person.first_name} {person.last_name}"},
        )  # fmt: skip


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS m3_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS m3_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS m3_tokens (
        token TEXT PRIMARY KEY, kind TEXT NOT NULL, ti TEXT NOT NULL, client_id TEXT NOT NULL,
        expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS m3_customers (
        ti TEXT, cuno TEXT, template INTEGER NOT NULL, created_by_api INTEGER NOT NULL,
        mail TEXT NOT NULL, alcu TEXT NOT NULL, lmts INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (ti, cuno))""",
    """CREATE TABLE IF NOT EXISTS m3_addresses (
        ti TEXT, cuno TEXT, adrt TEXT, adid TEXT, data TEXT NOT NULL,
        PRIMARY KEY (ti, cuno, adrt, adid))""",
    """CREATE TABLE IF NOT EXISTS m3_items (
        ti TEXT, itno TEXT, itds TEXT NOT NULL, unms TEXT NOT NULL, stat TEXT NOT NULL,
        grwe TEXT NOT NULL, lmts INTEGER NOT NULL, PRIMARY KEY (ti, itno))""",
    """CREATE TABLE IF NOT EXISTS m3_prices (
        ti TEXT, prrf TEXT, cucd TEXT, itno TEXT, fvdt TEXT, sapr TEXT NOT NULL,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, prrf, cucd, itno, fvdt))""",
    """CREATE TABLE IF NOT EXISTS m3_balances (
        ti TEXT, whlo TEXT, itno TEXT, stqt TEXT NOT NULL, alqt TEXT NOT NULL,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, whlo, itno))""",
    """CREATE TABLE IF NOT EXISTS m3_orders (
        ti TEXT, batch_orno TEXT, orno TEXT, cuno TEXT NOT NULL, cuor TEXT NOT NULL,
        head TEXT NOT NULL, lmts INTEGER NOT NULL, PRIMARY KEY (ti, batch_orno),
        UNIQUE (ti, orno))""",
    """CREATE TABLE IF NOT EXISTS m3_order_lines (
        ti TEXT, batch_orno TEXT, ponr INTEGER, posx INTEGER, itno TEXT NOT NULL,
        whlo TEXT NOT NULL, orqt TEXT NOT NULL, sapr TEXT NOT NULL, nepr TEXT NOT NULL,
        alqt TEXT NOT NULL, dlqt TEXT NOT NULL, ivqt TEXT NOT NULL, orst TEXT NOT NULL,
        dwdt TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ti, batch_orno, ponr, posx))""",
    """CREATE TABLE IF NOT EXISTS m3_order_errors (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ti TEXT NOT NULL, batch_orno TEXT NOT NULL,
        levl TEXT NOT NULL, msid TEXT NOT NULL, mdta TEXT NOT NULL, tx60 TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS m3_deliveries (
        ti TEXT, dlix INTEGER, orno TEXT NOT NULL, whlo TEXT NOT NULL, pgrs TEXT NOT NULL,
        etrn TEXT NOT NULL, fwno TEXT NOT NULL, modl TEXT NOT NULL, dsdt TEXT NOT NULL,
        dshm TEXT NOT NULL, conn INTEGER NOT NULL, ivno INTEGER, ivdt TEXT, grw2 TEXT NOT NULL,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, dlix))""",
    """CREATE TABLE IF NOT EXISTS m3_delivery_lines (
        ti TEXT, dlix INTEGER, orno TEXT NOT NULL, ponr INTEGER, posx INTEGER,
        itno TEXT NOT NULL, trqt TEXT NOT NULL, PRIMARY KEY (ti, dlix, ponr, posx))""",
    """CREATE TABLE IF NOT EXISTS m3_invoices (
        ti TEXT, yea4 INTEGER, ivno INTEGER, orno TEXT NOT NULL, dlix INTEGER NOT NULL,
        cuno TEXT NOT NULL, cucd TEXT NOT NULL, idat TEXT NOT NULL, dudt TEXT NOT NULL,
        ivav TEXT NOT NULL, rafc TEXT NOT NULL, reco TEXT NOT NULL, dtp5 TEXT,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, yea4, ivno))""",
    "CREATE INDEX IF NOT EXISTS m3_customers_mail ON m3_customers (ti, mail)",
    "CREATE INDEX IF NOT EXISTS m3_order_cuor ON m3_orders (ti, cuor)",
)
