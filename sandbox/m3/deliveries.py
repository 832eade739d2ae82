"""Deliveries and packages: MWS410MI, MWS411MI, MWS423MI."""

from __future__ import annotations

from typing import Any

from sandbox.m3.transactions import M3Context, Record, lmdt, not_found, transaction


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
