"""CRS610MI: customers and their addresses."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sandbox.m3.transactions import (
    ADDRESS_FIELDS,
    CURRENCY,
    CUSTOMER_INPUT,
    CUSTOMER_OUTPUT,
    CUSTOMER_STATUS_ACTIVE,
    ORDER_TYPE,
    PAYMENT_TERMS,
    M3Context,
    Record,
    already_exists,
    invalid,
    lmdt,
    not_found,
    parse_lmts,
    parse_query,
    query_matches,
    transaction,
)


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
        "SELECT * FROM m3_customers WHERE ti = ? AND alcu >= ? ORDER BY alcu, cuno LIMIT ?",
        (ctx.ti, inputs.get("ALCU", ""), ctx.sql_limit),
    )
    return [customer_record(ctx, {**row, "data": json.loads(row["data"])}) for row in found]


def _narrowed(query: list[list[tuple[str | None, str]]]) -> tuple[str, list[str]]:
    """SQL that keeps only the customers a query can match, when every alternative names an
    exact MAIL, CUNO or ALCU: the same answer without building every customer's record."""
    conditions, params = [], []
    for group in query:
        exact = [(f, v) for f, v in group if f in ("MAIL", "CUNO", "ALCU") and not v.endswith("*")]
        if not exact:
            return "", []
        field, value = exact[0]
        conditions.append(f"lower({field.lower()}) = ?")
        params.append(value)
    return f"AND ({' OR '.join(conditions)})", params


@transaction("CRS610MI", "SearchCustomer", ["SQRY"])
def search_customer(ctx: M3Context, inputs: Record) -> list[Record]:
    query = parse_query(inputs["SQRY"])
    records = [customer_record(ctx, customer) for customer in all_customers(ctx, *_narrowed(query))]
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
