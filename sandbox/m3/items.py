"""Items, stock balances and prices: MMS200MI, MMS060MI, OIS100MI balances, OIS320MI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.m3.orders import balance, list_price
from sandbox.m3.transactions import (
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
