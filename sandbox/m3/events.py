"""Business events driven by the control API: prices, stock, deliveries, payments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.m3.invoices import invoice_rows
from sandbox.m3.items import balance_record
from sandbox.m3.orders import balance, confirmed_orders, line_amount, save_balance
from sandbox.m3.transactions import (
    AR_STATUS_OPEN,
    AR_STATUS_PAID,
    DELIVERY_INVOICED,
    LINE_CLOSED,
    PAYMENT_DAYS,
    M3Context,
    money,
    num,
)


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
    """Orders with a line still to ship: undelivered and neither deleted nor closed (99)."""
    return confirmed_orders(
        ctx,
        "AND batch_orno IN (SELECT batch_orno FROM m3_order_lines WHERE ti = ? AND dlqt = '0' "
        "AND orst != ?)",
        (ctx.ti, LINE_CLOSED),
    )


def deliver_order(
    ctx: M3Context, order: dict[str, Any], tracking: str = "", carrier: str = ""
) -> dict[str, Any]:
    """Ship every open line in full, then let M3's invoicing run: delivery 70, lines 77."""
    lines = [
        line
        for line in ctx.lines(order["batch_orno"])
        if line["dlqt"] == "0" and line["orst"] != LINE_CLOSED
    ]
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
