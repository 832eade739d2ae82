"""Invoices and receivables: OIS350MI, ARS200MI."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sandbox.m3.deliveries import delivery
from sandbox.m3.transactions import (
    AR_STATUS_PAID,
    PAYMENT_TERMS,
    M3Context,
    Record,
    lmdt,
    not_found,
    transaction,
)


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
