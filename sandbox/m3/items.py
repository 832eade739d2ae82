"""Items, stock balances and prices: MMS200MI, MMS060MI, OIS100MI balances, OIS320MI."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from sandbox.core import ControlError
from sandbox.m3.orders import balance, list_price
from sandbox.m3.transactions import (
    CURRENCY,
    PRICE_LIST,
    M3Context,
    Record,
    lmdt,
    money,
    num,
    parse_lmts,
    transaction,
)


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
        "LMDT": _day_of(row["lmts"]),
    }


_day_of = lru_cache(maxsize=4096)(lmdt)
"""Rows changed together share a timestamp: a full list formats each day once."""


def _pick(record: Record, fields: tuple[str, ...]) -> Record:
    return {field: record[field] for field in fields}


@transaction("OIS100MI", "LstNewBalances")
def list_new_balances(ctx: M3Context, inputs: Record) -> list[Record]:
    since = parse_lmts(inputs.get("LMTS", ""))
    found = ctx.rows(
        "SELECT * FROM m3_balances WHERE ti = ? AND lmts > ? ORDER BY whlo, itno", (ctx.ti, since)
    )
    fields = ("WHLO", "ITNO", "AV01", "AV02", "LTDT", "PFDT")
    return [_pick(balance_record(row), fields) for row in found]


@transaction("OIS100MI", "LstWarehBalance", ["ITNO"])
def list_warehouse_balance(ctx: M3Context, inputs: Record) -> list[Record]:
    ctx.item(inputs["ITNO"])
    found = ctx.rows(
        "SELECT * FROM m3_balances WHERE ti = ? AND itno = ? ORDER BY whlo",
        (ctx.ti, inputs["ITNO"]),
    )
    fields = ("WHLO", "ITNO", "AV01", "AV02", "LTDT", "PFDT", "LMDT")
    return [_pick(balance_record(row), fields) for row in found]


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


# --- bulk control actions (benchmarks and tests) ------------------------------------------------


def seed_items(
    ctx: M3Context, count: int, prefix: str, price: Decimal, on_hand: int, age_minutes: int = 0
) -> dict:
    """`count` items `{prefix}{n:06d}` with a list price and stock in every warehouse, last
    changed `age_minutes` ago (so a change feed read now does not list them)."""
    lmts = ctx.lmts - age_minutes * 60_000
    itnos = [f"{prefix}{n:06d}" for n in range(count)]
    ctx.conn.executemany(
        "INSERT OR REPLACE INTO m3_items(ti, itno, itds, unms, stat, grwe, lmts) "
        "VALUES (?, ?, ?, 'EA', '20', '0.5', ?)",
        [(ctx.ti, itno, f"Bench item {itno}", lmts) for itno in itnos],
    )
    ctx.conn.executemany(
        "INSERT OR REPLACE INTO m3_prices(ti, prrf, cucd, itno, fvdt, sapr, lmts) "
        "VALUES (?, ?, ?, ?, '20240101', ?, ?)",
        [(ctx.ti, PRICE_LIST, CURRENCY, itno, num(price), lmts) for itno in itnos],
    )
    ctx.conn.executemany(
        "INSERT OR REPLACE INTO m3_balances(ti, whlo, itno, stqt, alqt, lmts) "
        "VALUES (?, ?, ?, ?, '0', ?)",
        [(ctx.ti, whlo, itno, str(on_hand), lmts) for itno in itnos for whlo in ctx.warehouses],
    )
    return {"tenant": ctx.ti, "items": count, "first": itnos[0] if itnos else ""}


def set_prices(ctx: M3Context, prices: list[tuple[str, Decimal]]) -> dict:
    """Many price changes in one go, each bumping its change timestamp."""
    ctx.conn.executemany(
        "UPDATE m3_prices SET sapr = ?, lmts = ? WHERE ti = ? AND itno = ?",
        [(num(money(amount)), ctx.lmts, ctx.ti, itno) for itno, amount in prices],
    )
    return {"tenant": ctx.ti, "prices": len(prices), "lmts": ctx.lmts}


def set_stocks(ctx: M3Context, stocks: list[tuple[str, str, Decimal]]) -> dict:
    """Many on-hand changes (item, warehouse, quantity) in one go."""
    ctx.conn.executemany(
        "UPDATE m3_balances SET stqt = ?, lmts = ? WHERE ti = ? AND itno = ? AND whlo = ?",
        [(num(quantity), ctx.lmts, ctx.ti, itno, whlo) for itno, whlo, quantity in stocks],
    )
    return {"tenant": ctx.ti, "balances": len(stocks), "lmts": ctx.lmts}


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ControlError(f"'{name}' must be a number, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ControlError(f"'{name}' must be a number of zero or more, got {value!r}")
    return number


def bulk_items(ctx: M3Context, payload: dict) -> dict:
    """Control `seed-items`: {tenant, count, prefix, price, on_hand}."""
    count = int(_decimal(payload.get("count", 0), "count"))
    if not 1 <= count <= 200_000:
        raise ControlError("'count' must be between 1 and 200000")
    price = _decimal(payload.get("price", "10.00"), "price")
    on_hand = int(_decimal(payload.get("on_hand", 10), "on_hand"))
    age = int(_decimal(payload.get("age_minutes", 0), "age_minutes"))
    return seed_items(ctx, count, str(payload.get("prefix") or "BX-"), price, on_hand, age)


def bulk_prices(ctx: M3Context, payload: dict) -> dict:
    """Control `set-prices`: {tenant, prices: [{sku, amount}, ...]}."""
    rows = payload.get("prices") or []
    return set_prices(ctx, [(str(r["sku"]), _decimal(r.get("amount"), "amount")) for r in rows])


def bulk_stocks(ctx: M3Context, payload: dict) -> dict:
    """Control `set-stocks`: {tenant, stocks: [{sku, warehouse, qty}, ...]}."""
    rows = payload.get("stocks") or []
    return set_stocks(
        ctx,
        [(str(r["sku"]), str(r["warehouse"]), _decimal(r.get("qty"), "qty")) for r in rows],
    )
