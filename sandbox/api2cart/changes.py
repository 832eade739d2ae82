"""What a store does to an order after it was placed: cancel, refund, re-address, edit lines.

Orders change after the hub imported them; API2Cart reports that with `order.update` webhooks
and a moved `modified_at` (contract §6.2, §7.23-24). These control actions make the fake store
do it, through the same path as `order.update` (`OrdersMixin.change_order`).
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.api2cart.orders import (
    Refund,
    RefundedLine,
    order_line,
    record_refund,
    refunded_so_far,
    set_status,
)
from sandbox.api2cart.pricing import cents, price_order
from sandbox.api2cart.shared import COUNTRIES, ORDER_STATUSES, money
from sandbox.core import ControlError

CANCELLED_STATUS = next(s for s in ORDER_STATUSES if s.lower() in ("canceled", "cancelled"))
REFUNDED_STATUS = next((s for s in ORDER_STATUSES if s.lower() == "refunded"), None)

# Plausible UK addresses a re-addressed order moves to when no new address is given.
NEW_UK_ADDRESSES = (
    {"address1": "27 Marine Parade", "city": "Brighton", "postcode": "BN2 1TL", "country": "GB"},
    {"address1": "4 Castle Street", "city": "Edinburgh", "postcode": "EH2 3AH", "country": "GB"},
)
ADDRESS_FIELDS = ("address1", "address2", "city", "postcode", "country", "region", "name")


class StoreChangesMixin:
    """`/_control/api2cart/{cancel-order,refund-order,readdress-order,edit-order-lines}`."""

    def _control_order(self, payload: dict) -> tuple[dict, dict]:
        """(store, order) for `order_id`: the store's order number or the internal `id` that
        place-orders prints; without `store`, every store is searched."""
        wanted = str(payload.get("order_id") or "").strip()
        if not wanted:
            raise ControlError("Missing 'order_id' (the order number or id place-orders printed)")
        if payload.get("store"):
            stores = [self._control_store(payload)]
        else:
            stores = [dict(row) for row in self.db.query("SELECT * FROM a2c_stores ORDER BY id")]
        found = []
        for store in stores:
            rows = self.db.query(
                "SELECT doc FROM a2c_orders WHERE store_key = ?"
                " AND (order_id = ? OR CAST(id AS TEXT) = ?)",
                (store["store_key"], wanted, wanted),
            )
            found += [(store, json.loads(row["doc"])) for row in rows]
        if not found:
            where = f" in store {stores[0]['name']}" if payload.get("store") else ""
            raise ControlError(f"No order {wanted!r}{where}")
        if len(found) > 1:
            raise ControlError(f"{len(found)} orders match {wanted!r}; pass 'store'")
        return found[0]

    def _control_cancel_order(self, payload: dict) -> dict:
        store, order = self._control_order(payload)
        if order["status"]["id"] == CANCELLED_STATUS:
            raise ControlError(f"Order {order['order_id']} is already {CANCELLED_STATUS}")
        reason = str(payload.get("reason") or "")

        def cancel(order: dict, now: str) -> None:
            set_status(order, CANCELLED_STATUS, now, reason)

        order, webhooks = self.change_order(store, order["order_id"], cancel)
        return change_answer(store, order, webhooks)

    def _control_refund_order(self, payload: dict) -> dict:
        """A full refund without `amount`, `lines` or `shipping`; otherwise a partial one."""
        store, order = self._control_order(payload)
        refund = planned_refund(order, payload)

        def record(order: dict, now: str) -> None:
            record_refund(order, refund, now)
            if order["financial_status"] == "refunded" and REFUNDED_STATUS:
                set_status(order, REFUNDED_STATUS, now, refund.comment)

        order, webhooks = self.change_order(store, order["order_id"], record)
        return change_answer(store, order, webhooks, refund=order["refunds"][-1])

    def _control_readdress_order(self, payload: dict) -> dict:
        store, order = self._control_order(payload)
        wanted = {name: str(payload[name]) for name in ADDRESS_FIELDS if payload.get(name)}
        if not wanted:
            wanted = new_uk_address(order["shipping_address"])

        def readdress(order: dict, now: str) -> None:
            order["shipping_address"] = moved_address(order["shipping_address"], wanted)

        order, webhooks = self.change_order(store, order["order_id"], readdress)
        return change_answer(store, order, webhooks, shipping_address=order["shipping_address"])

    def _control_edit_order_lines(self, payload: dict) -> dict:
        """New quantities by SKU: 0 removes the line, a catalogue SKU not on the order adds one;
        the order is then priced again as at creation."""
        store, order = self._control_order(payload)
        wanted = sku_quantities(payload.get("lines"))
        on_order = {line["model"] for line in order["order_products"]}
        new_skus = [sku for sku in wanted if sku not in on_order]
        if gone := [sku for sku in new_skus if wanted[sku] == 0]:
            raise ControlError(f"SKU {gone[0]!r} is not on order {order['order_id']}")
        catalogue = self._order_lines_from_skus(
            store, [{"sku": sku, "quantity": wanted[sku]} for sku in new_skus]
        )
        if all(wanted.get(sku, 1) == 0 for sku in on_order) and not catalogue:
            raise ControlError("An order keeps at least one line; cancel it instead")

        def edit(order: dict, now: str) -> None:
            order["order_products"] = edited_lines(order, wanted, catalogue)
            price_order(store, order)

        order, webhooks = self.change_order(store, order["order_id"], edit)
        lines = [
            {"model": ln["model"], "quantity": ln["quantity"], "total_price": ln["total_price"]}
            for ln in order["order_products"]
        ]
        return change_answer(store, order, webhooks, order_products=lines, totals=order["totals"])


def change_answer(store: dict, order: dict, webhooks: int, **extra: Any) -> dict:
    return {
        "store": store["name"],
        "order_id": order["order_id"],
        "id": order["id"],
        "status": order["status"]["id"],
        "financial_status": order["financial_status"],
        "modified_at": order["modified_at"]["value"],
        "webhooks": webhooks,
        **extra,
    }


def sku_quantities(raw: Any) -> dict[str, int]:
    """`[{"sku": ..., "quantity": n}, ...]` as {sku: n}; quantities are whole numbers >= 0."""
    if not isinstance(raw, list) or not raw:
        raise ControlError("'lines' must be a non-empty list of {sku, quantity} objects")
    wanted: dict[str, int] = {}
    for item in raw:
        sku = str(item.get("sku") or "") if isinstance(item, dict) else ""
        try:
            quantity = int(item["quantity"])
        except (KeyError, TypeError, ValueError):
            quantity = -1
        if not sku or quantity < 0:
            raise ControlError(f"Each line needs a 'sku' and a 'quantity' >= 0, got {item!r}")
        wanted[sku] = quantity
    return wanted


def edited_lines(
    order: dict, wanted: dict[str, int], catalogue: list[tuple[dict, dict | None, int]]
) -> list[dict]:
    kept = []
    for line in order["order_products"]:
        quantity = wanted.get(line["model"], line["quantity"])
        if quantity == 0:
            continue
        price = Decimal(str(line["price"]))
        kept.append(dict(line, quantity=quantity, total_price=money(price * quantity)))
    next_number = max((int(ln["order_product_id"]) for ln in order["order_products"]), default=0)
    if not next_number:
        next_number = int(order["id"]) * 100
    for offset, (product, child, quantity) in enumerate(catalogue, start=1):
        kept.append(order_line(product, child, quantity, str(next_number + offset)))
    return kept


def decimal_of(payload: dict, name: str) -> Decimal | None:
    if payload.get(name) in (None, ""):
        return None
    try:
        value = Decimal(str(payload[name]))
    except InvalidOperation:
        raise ControlError(f"'{name}' must be a number, got {payload[name]!r}") from None
    if not value.is_finite() or value < 0:
        raise ControlError(f"'{name}' must be a positive number")
    return value


def planned_refund(order: dict, payload: dict) -> Refund:
    """The refund the store makes: what is left of the order, or the lines, shipping and
    amount asked for; never more than is left to refund."""
    left = Decimal(str(order["totals"]["total"])) - refunded_so_far(order)
    if left <= 0:
        raise ControlError(f"Order {order['order_id']} is already fully refunded")
    amount, shipping = decimal_of(payload, "amount"), decimal_of(payload, "shipping")
    comment = str(payload.get("comment") or "")
    if amount is None and shipping is None and not payload.get("lines"):
        return full_refund(order, left, comment)
    lines = refunded_lines(order, sku_quantities(payload["lines"])) if payload.get("lines") else []
    goods = sum((money_ for _, _, money_ in lines), Decimal(0))
    tax = sum((tax_of(line, quantity) for line, quantity, _ in lines), Decimal(0))
    shipping = shipping or Decimal(0)
    shipping_left = Decimal(str(order["totals"]["shipping"])) - refunded_so_far(order, "shipping")
    if shipping > shipping_left:
        raise ControlError(f"Only {shipping_left} of shipping is left to refund")
    total = amount if amount is not None else goods + shipping + tax
    if total <= 0:
        raise ControlError("A refund must be more than 0")
    if total > left:
        raise ControlError(f"Only {left} is left to refund on order {order['order_id']}")
    return Refund(lines, shipping, Decimal(0), tax, total, comment)


def full_refund(order: dict, left: Decimal, comment: str) -> Refund:
    lines = refunded_lines(order, {}, everything=True)
    shipping = Decimal(str(order["totals"]["shipping"])) - refunded_so_far(order, "shipping")
    tax = Decimal(str(order["totals"]["tax"])) - refunded_so_far(order, "tax")
    return Refund(lines, max(shipping, Decimal(0)), Decimal(0), max(tax, Decimal(0)), left, comment)


def refunded_lines(
    order: dict, wanted: dict[str, int], everything: bool = False
) -> list[RefundedLine]:
    """Lines to refund by SKU (or all that is left of every line), within what is left."""
    done: Counter[str] = Counter()
    for refund in order["refunds"]:
        for item in refund["items"]:
            done[item["order_product_id"]] += int(item["qty"])
    by_sku = {line["model"]: line for line in order["order_products"] if line["model"]}
    unknown = [sku for sku in wanted if sku not in by_sku]
    if unknown:
        raise ControlError(f"SKU {unknown[0]!r} is not on order {order['order_id']}")
    chosen = order["order_products"] if everything else [by_sku[sku] for sku in wanted]
    lines = []
    for line in chosen:
        left = line["quantity"] - done[line["order_product_id"]]
        quantity = left if everything else wanted[line["model"]]
        if quantity > left:
            raise ControlError(f"Only {left} of {line['model']} is left to refund")
        if quantity > 0:
            lines.append((line, quantity, paid_for(line, quantity)))
    return lines


def paid_for(line: dict, quantity: int) -> Decimal:
    """What `quantity` of the line cost before tax: their share of its net less its discount."""
    net = Decimal(str(line["total_price"])) - Decimal(str(line.get("discount_amount") or 0))
    return cents(net * quantity / line["quantity"])


def tax_of(line: dict, quantity: int) -> Decimal:
    """The tax charged on `quantity` of the line: their share of the line's own tax."""
    tax = line.get("tax_value_after_discount", line.get("tax_value")) or 0
    return cents(Decimal(str(tax)) * quantity / line["quantity"])


def new_uk_address(current: dict) -> dict[str, str]:
    """The first of the stock UK addresses the order is not already going to."""
    for address in NEW_UK_ADDRESSES:
        if address["address1"] != current.get("address1"):
            return address
    return NEW_UK_ADDRESSES[0]


def moved_address(current: dict, wanted: dict[str, str]) -> dict:
    """The shipping address with the given fields replaced; a new name is split in two."""
    address = dict(current, type="shipping")
    for name in ("address1", "address2", "city", "postcode"):
        if name in wanted:
            address[name] = wanted[name]
    if "name" in wanted:
        first, _, last = wanted["name"].strip().partition(" ")
        address["first_name"], address["last_name"] = first, last
    if "country" in wanted:
        code2 = wanted["country"].upper()
        code3, country_name = COUNTRIES.get(code2, (code2, code2))
        address["country"] = {"code2": code2, "code3": code3, "name": country_name}
    if "region" in wanted or "country" in wanted:
        region = wanted.get("region", "")
        address["region"] = region
        address["state"] = {"code": region, "name": region}
    return address
