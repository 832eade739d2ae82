"""OIS100MI changes to a confirmed customer order: deleting, closing and re-addressing its lines,
and reading its addresses (docs/m3-order-changes.md gives the sources and their confidence).

What the fake does, where the sources leave it open (simulated, labelled so):
- A line may change only while open: status 22, 23 or 33 (05 and 10 too), nothing delivered.
  On a picking list (x4), delivered (x6) or invoiced (x7) it is refused with `WPO0905`; a
  line already at 99 with `WPO0906`; an unknown order or line with the usual `...0203`.
- `DelLine` and `CloLine` (and `DelLineBatchEnt`) take the line to 99 and free what it had
  allocated; the line stays listed by `LstLine`. `RSCD` is kept and listed, `OT65` checked.
- `ChgLineBatchEnt` points the line at a delivery address of the order's customer (`ADID`,
  type 1 from `CRS610MI/AddAddress`); `MODL` and `TEDL` are kept. Quantities (`ORQA`) and the
  other inputs are not simulated. `GetLineAddress` shows the line's address, `GetAddress` the
  order's own one, which no transaction here changes once the order is confirmed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sandbox.m3.orders import balance, save_balance
from sandbox.m3.transactions import (
    LINE_CLOSED,
    M3Context,
    M3Error,
    Record,
    invalid,
    not_found,
    transaction,
)

DELIVERY_ADDRESS = "1"
OPEN_BEFORE_ALLOCATION = ("05", "10")
LOCKED = {"4": "is on a picking list", "6": "is delivered", "7": "is invoiced"}
ADDRESS_OUTPUT = ("CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "TOWN", "ECAR", "CSCD", "PHNO",
                  "YREF")  # fmt: skip


def order_line(ctx: M3Context, order: dict[str, Any], inputs: Record) -> dict[str, Any]:
    """The line `PONR`/`POSX` of a confirmed order."""
    ponr, posx = inputs["PONR"], inputs.get("POSX", "0")
    for field, value in (("PONR", ponr), ("POSX", posx)):
        if not value.isdigit():
            raise invalid(field, value)
    line = ctx.row(
        "SELECT * FROM m3_order_lines WHERE ti = ? AND batch_orno = ? AND ponr = ? AND posx = ?",
        (ctx.ti, order["batch_orno"], int(ponr), int(posx)),
    )
    if line is None:
        raise not_found("PONR", ponr if int(posx) == 0 else f"{ponr}/{posx}")
    line["data"] = json.loads(line["data"])
    return line


def require_open(line: dict[str, Any], verb: str) -> None:
    """Refuse a line the warehouse has started on, or one already finished."""
    status, ponr = line["orst"], line["ponr"]
    if status == LINE_CLOSED:
        raise M3Error(
            "WPO0906", f"Order line {ponr} is already deleted or closed (status 99)", "PONR"
        )
    if status in OPEN_BEFORE_ALLOCATION:
        return
    why = LOCKED.get(status[-1:])
    if why is None and Decimal(line["dlqt"]) > 0:
        why = LOCKED["6"]
    if why:
        raise M3Error(
            "WPO0905", f"Order line {ponr} {why} (status {status}) and cannot be {verb}", "PONR"
        )


def save_line(ctx: M3Context, order: dict[str, Any], line: dict[str, Any]) -> None:
    """Write the line back and bump the order's change timestamp."""
    ctx.execute(
        "UPDATE m3_order_lines SET orst = ?, alqt = ?, data = ? "
        "WHERE ti = ? AND batch_orno = ? AND ponr = ? AND posx = ?",
        (line["orst"], line["alqt"], json.dumps(line["data"]), ctx.ti, order["batch_orno"],
         line["ponr"], line["posx"]),
    )  # fmt: skip
    ctx.execute(
        "UPDATE m3_orders SET lmts = ? WHERE ti = ? AND batch_orno = ?",
        (ctx.lmts, ctx.ti, order["batch_orno"]),
    )


def finish_line(ctx: M3Context, inputs: Record, verb: str) -> list[Record]:
    """Take an open line to 99 and give back the stock it had allocated."""
    order = ctx.order(inputs["ORNO"])
    line = order_line(ctx, order, inputs)
    require_open(line, verb)
    if inputs.get("OT65", "0") not in ("0", "1"):
        raise invalid("OT65", inputs["OT65"])
    allocated = Decimal(line["alqt"])
    if allocated:
        stock = balance(ctx, line["whlo"], line["itno"])
        left = max(Decimal(0), Decimal(stock["alqt"]) - allocated)
        save_balance(ctx, line["whlo"], line["itno"], Decimal(stock["stqt"]), left)
    line["orst"], line["alqt"] = LINE_CLOSED, "0"
    if inputs.get("RSCD"):
        line["data"]["RSCD"] = inputs["RSCD"]
    save_line(ctx, order, line)
    return []


@transaction("OIS100MI", "DelLine", ["ORNO", "PONR"])
def delete_line(ctx: M3Context, inputs: Record) -> list[Record]:
    return finish_line(ctx, inputs, "deleted")


@transaction("OIS100MI", "DelLineBatchEnt", ["ORNO", "PONR"])
def delete_line_batch_entry(ctx: M3Context, inputs: Record) -> list[Record]:
    return finish_line(ctx, inputs, "deleted")


@transaction("OIS100MI", "CloLine", ["ORNO", "PONR"])
def close_line(ctx: M3Context, inputs: Record) -> list[Record]:
    """M3's metadata marks no input mandatory here; without an order line there is no line."""
    return finish_line(ctx, inputs, "closed")


def customer_address(ctx: M3Context, cuno: str, adrt: str, adid: str) -> dict[str, str] | None:
    found = ctx.row(
        "SELECT data FROM m3_addresses WHERE ti = ? AND cuno = ? AND adrt = ? AND adid = ?",
        (ctx.ti, cuno, adrt, adid),
    )
    return json.loads(found["data"]) if found else None


@transaction("OIS100MI", "ChgLineBatchEnt", ["ORNO", "PONR"])
def change_line(ctx: M3Context, inputs: Record) -> list[Record]:
    """Change an open line: its delivery address number, delivery method and terms."""
    order = ctx.order(inputs["ORNO"])
    line = order_line(ctx, order, inputs)
    require_open(line, "changed")
    adid = inputs.get("ADID")
    if adid and customer_address(ctx, order["cuno"], DELIVERY_ADDRESS, adid) is None:
        raise not_found("ADID", adid)
    line["data"].update({f: inputs[f] for f in ("ADID", "MODL", "TEDL") if inputs.get(f)})
    save_line(ctx, order, line)
    return []


def address_type(inputs: Record) -> str:
    """`ADRT` is numeric: "01" and "1" are the same type."""
    value = inputs.get("ADRT", DELIVERY_ADDRESS)
    if not value.isdigit():
        raise invalid("ADRT", value)
    return str(int(value))


def order_address(ctx: M3Context, order: dict[str, Any], adrt: str) -> dict[str, str]:
    """The order's own address: the batch order's, else the customer's numbered one, else the
    customer's main address."""
    head = order["head"]
    given = {str(int(k)): v for k, v in head["addresses"].items() if k.isdigit()}
    if adrt in given:
        return given[adrt]
    numbered = head.get("ADID") and customer_address(ctx, order["cuno"], adrt, head["ADID"])
    return numbered or ctx.customer(order["cuno"])["data"]


def address_record(address: dict[str, str]) -> Record:
    return {field: str(address.get(field, "")) for field in ADDRESS_OUTPUT}


@transaction("OIS100MI", "GetAddress", ["ORNO", "ADRT"])
def get_address(ctx: M3Context, inputs: Record) -> list[Record]:
    order = ctx.order(inputs["ORNO"])
    return [address_record(order_address(ctx, order, address_type(inputs)))]


@transaction("OIS100MI", "GetLineAddress", ["ORNO"])
def get_line_address(ctx: M3Context, inputs: Record) -> list[Record]:
    """Where one line goes: the address its `ADID` names, else the order's delivery address."""
    order = ctx.order(inputs["ORNO"])
    address = order_address(ctx, order, DELIVERY_ADDRESS)
    if inputs.get("PONR"):
        adid = order_line(ctx, order, inputs)["data"].get("ADID")
        if adid:
            address = customer_address(ctx, order["cuno"], DELIVERY_ADDRESS, adid) or address
    return [address_record(address)]
