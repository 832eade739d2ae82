"""OIS100MI: batch orders, confirmation with stock allocation, customer orders."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sandbox.core import ControlError
from sandbox.m3.transactions import (
    ADDRESS_FIELDS,
    BATCH_STATUS_TRANSFERRED,
    CURRENCY,
    CUSTOMER_STATUS_ACTIVE,
    DELIVERY_METHOD,
    HEAD_INPUT,
    ITEM_STATUS_ACTIVE,
    LINE_CLOSED,
    ORDER_STATUS_ACTIVE,
    ORDER_TYPE,
    PAYMENT_TERMS,
    PRICE_LIST,
    M3Context,
    M3Error,
    Record,
    invalid,
    money,
    num,
    parse_query,
    query_matches,
    transaction,
)


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
    every_line = ctx.lines(order["batch_orno"])
    lines = [line for line in every_line if line["orst"] != LINE_CLOSED]
    statuses = [line["orst"] for line in lines] or ([LINE_CLOSED] if every_line else ["22"])
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
            "RSCD": json.loads(line["data"]).get("RSCD", ""),
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
    records = [order_head_record(ctx, order) for order in confirmed_orders(ctx, *_narrowed(query))]
    return [
        {field: record[field] for field in HEAD_LIST_FIELDS}
        for record in records
        if query_matches(query, record)
    ]


def _narrowed(query: list[list[tuple[str | None, str]]]) -> tuple[str, list[str]]:
    """SQL that keeps only the orders a query can match, when every alternative names an exact
    CUOR or CUNO: the answer is the same, without building every order's head record."""
    conditions, params = [], []
    for group in query:
        exact = [(f, v) for f, v in group if f in ("CUOR", "CUNO") and not v.endswith("*")]
        if not exact:
            return "", []
        field, value = exact[0]
        conditions.append(f"lower({field.lower()}) = ?")
        params.append(value)
    return f"AND ({' OR '.join(conditions)})", params


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


# --- control actions: disagreements on purpose, and bulk seeding for benches ---------------------


def duplicate_order(ctx: M3Context, payload: dict[str, Any]) -> dict[str, Any]:
    """A second confirmed order under the same `CUOR` (as a double-click in M3's own UI, or an
    old import, leaves), so the hub's reconciliation can be shown finding it."""
    wanted = str(payload.get("order") or "")
    if not wanted:
        raise ControlError("duplicate-order needs 'order' (ORNO or CUOR)")
    found = confirmed_orders(ctx, "AND (orno = ? OR cuor = ?)", (wanted, wanted))
    if not found:
        raise ControlError(f"{ctx.tenant.slug} has no confirmed order {wanted!r}")
    original = found[0]
    batch_orno = f"{ctx.next_number('batch'):010d}"
    orno = str(ctx.next_number("order"))
    ctx.execute(
        "INSERT INTO m3_orders(ti, batch_orno, orno, cuno, cuor, head, lmts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            ctx.ti,
            batch_orno,
            orno,
            original["cuno"],
            original["cuor"],
            json.dumps(original["head"]),
            ctx.lmts,
        ),
    )
    for line in ctx.lines(original["batch_orno"]):
        columns = {**line, "batch_orno": batch_orno}
        names = ", ".join(columns)
        ctx.execute(
            f"INSERT INTO m3_order_lines ({names}) VALUES ({', '.join('?' for _ in columns)})",
            tuple(columns.values()),
        )
    return {"original": original["orno"], "duplicate": orno, "cuor": original["cuor"]}


def seed_orders(ctx: M3Context, payload: dict[str, Any]) -> dict[str, Any]:
    """Confirmed orders without lines in bulk, `orders: [{"CUOR": ..., "CUNO": ...}]`: for a
    bench that needs thousands of ERP orders without running the ERP step for each."""
    wanted = payload.get("orders")
    if not isinstance(wanted, list) or not all(isinstance(o, dict) for o in wanted):
        raise ControlError("seed-orders needs 'orders': a list of {CUOR, CUNO}")
    numbers = []
    for order in wanted:
        cuno, cuor = str(order.get("CUNO") or ""), str(order.get("CUOR") or "")
        if not cuno or not cuor:
            raise ControlError("each order needs CUOR and CUNO")
        head = {
            "CUOR": cuor,
            "ORTP": ORDER_TYPE,
            "CUCD": CURRENCY,
            "TEPY": PAYMENT_TERMS,
            "MODL": DELIVERY_METHOD,
            "WHLO": ctx.tenant.warehouse,
            "ORDT": ctx.today,
            "RLDT": ctx.today,
            "addresses": {},
            "charges": [],
            "texts": [],
        }
        orno = str(ctx.next_number("order"))
        ctx.execute(
            "INSERT INTO m3_orders(ti, batch_orno, orno, cuno, cuor, head, lmts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ctx.ti, f"{ctx.next_number('batch'):010d}", orno, cuno, cuor, json.dumps(head),
             ctx.lmts),
        )  # fmt: skip
        numbers.append(orno)
    return {"orders": numbers}
