"""The `order.shipment.*` methods."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from sandbox.api2cart.shared import (
    Call,
    a2c_date,
    boolean,
    date_clauses,
    dumps,
    invalid,
    method,
    need,
    not_found,
    parse_input_date,
    select_fields,
    stored,
    text,
    uint,
)

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake


SHIPMENT_SORT = {"id": "id", "created_at": "created_at", "modified_time": "modified_at"}


@method("order.shipment.add")
def order_shipment_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        order = fake.find_order(store_key, {"order_id": need(args, "order_id")})
        lines = {item["order_product_id"]: item for item in order["order_products"]}
        already: Counter[str] = Counter()
        for row in conn.execute(
            "SELECT doc FROM a2c_shipments WHERE store_key = ? AND order_id = ?",
            (store_key, order["order_id"]),
        ):
            for item in json.loads(row["doc"])["items"]:
                already[item["order_product_id"]] += item["quantity"]
        requested = args.get("items") or [
            {"order_product_id": key, "quantity": line["quantity"] - already[key]}
            for key, line in lines.items()
            if line["quantity"] > already[key]
        ]
        if not isinstance(requested, list) or not requested:
            raise invalid("items", "Nothing left to ship on this order.")
        items = []
        for item in requested:
            key = str(item.get("order_product_id"))
            if key not in lines:
                raise not_found("Order product", key)
            line = lines[key]
            quantity = uint(item, "quantity", line["quantity"])
            if quantity < 1 or already[key] + quantity > line["quantity"]:
                raise invalid(
                    "items", f"Quantity for order product {key} exceeds the ordered quantity."
                )
            already[key] += quantity
            items.append(
                {
                    "order_product_id": key,
                    "product_id": line["product_id"],
                    "variant_id": line["variant_id"],
                    "model": line["model"],
                    "name": line["name"],
                    "price": line["price"],
                    "quantity": quantity,
                }
            )
        tracking = [
            {
                "carrier_id": str(t.get("carrier_id") or ""),
                "tracking_number": str(t.get("tracking_number") or ""),
            }
            for t in args.get("tracking_numbers") or []
        ]
        now = stored(fake.sandbox.now())
        shipment_id = fake.next_id(
            conn, "a2c_shipments", store_key, fake.store_number(store_key) * 1000000
        )
        shipment = {
            "id": str(shipment_id),
            "order_id": order["order_id"],
            "name": f"#{order['order_id']}-F{shipment_id % 1000}",
            "warehouse_id": text(args, "warehouse_id") or "1",
            "shipment_provider": text(args, "shipment_provider") or "",
            "tracking_numbers": tracking,
            "tracking_link": text(args, "tracking_link") or "",
            "created_at": a2c_date(now),
            "modified_time": a2c_date(now),
            "items": items,
            "is_shipped": boolean(args, "is_shipped", True),
            "delivered_at": None,
        }
        conn.execute(
            "INSERT INTO a2c_shipments VALUES (?,?,?,?,?,?)",
            (store_key, shipment_id, order["order_id"], now, now, dumps(shipment)),
        )
        fake.refresh_fulfillment(conn, store_key, order)
    return {"shipment_id": str(shipment_id)}


def load_shipment(
    fake: Api2CartFake, store_key: str, shipment_id: str, order_id: str | None
) -> dict:
    shipment = fake.load("a2c_shipments", store_key, shipment_id, "Shipment")
    if order_id is not None and shipment["order_id"] != order_id:
        raise not_found("Shipment", shipment_id)
    return shipment


def save_shipment(conn: Any, store_key: str, shipment: dict) -> None:
    conn.execute(
        "UPDATE a2c_shipments SET modified_at = ?, doc = ? WHERE store_key = ? AND id = ?",
        (shipment["modified_time"]["value"], dumps(shipment), store_key, int(shipment["id"])),
    )


@method("order.shipment.list", paginated=True)
def order_shipment_list(fake: Api2CartFake, call: Call) -> dict:
    if not text(call.args, "page_cursor"):
        need(call.args, "order_id")

    def where(filters: dict) -> tuple[list[str], list[Any]]:
        clauses, params = date_clauses(
            filters, {"created": "created_at", "modified": "modified_at"}
        )
        clauses.append("order_id = ?")
        params.append(need(filters, "order_id"))
        return clauses, params

    def render(shipment: dict, args: dict) -> dict:
        return select_fields(shipment, args, "id,order_id,items,tracking_numbers")

    return fake.paged(
        call, "a2c_shipments", where, SHIPMENT_SORT, "id", "shipment", "shipment_count", render
    )


@method("order.shipment.info")
def order_shipment_info(fake: Api2CartFake, call: Call) -> dict:
    shipment = load_shipment(
        fake, call.store["store_key"], need(call.args, "id"), need(call.args, "order_id")
    )
    return select_fields(shipment, call.args, "force_all")


@method("order.shipment.update")
def order_shipment_update(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        shipment = load_shipment(fake, store_key, need(args, "shipment_id"), text(args, "order_id"))
        if isinstance(args.get("tracking_numbers"), list):
            numbers = [
                {
                    "carrier_id": str(t.get("carrier_id") or ""),
                    "tracking_number": str(t.get("tracking_number") or ""),
                }
                for t in args["tracking_numbers"]
            ]
            replace = boolean(args, "replace", True)
            shipment["tracking_numbers"] = (
                numbers if replace else shipment["tracking_numbers"] + numbers
            )
        if (shipped := boolean(args, "is_shipped")) is not None:
            shipment["is_shipped"] = shipped
        if text(args, "delivered_at"):
            shipment["delivered_at"] = a2c_date(
                parse_input_date("delivered_at", args["delivered_at"])
            )
        if text(args, "tracking_link"):
            shipment["tracking_link"] = args["tracking_link"]
        shipment["modified_time"] = a2c_date(stored(fake.sandbox.now()))
        save_shipment(conn, store_key, shipment)
    return {"updated_items": 1}


@method("order.shipment.tracking.add")
def order_shipment_tracking_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        shipment = load_shipment(fake, store_key, need(args, "shipment_id"), text(args, "order_id"))
        shipment["tracking_numbers"].append(
            {
                "carrier_id": text(args, "carrier_id") or "",
                "tracking_number": need(args, "tracking_number"),
            }
        )
        if text(args, "tracking_link"):
            shipment["tracking_link"] = args["tracking_link"]
        shipment["modified_time"] = a2c_date(stored(fake.sandbox.now()))
        save_shipment(conn, store_key, shipment)
    return {"shipment_tracking_id": f"{shipment['id']}-{len(shipment['tracking_numbers'])}"}


@method("order.shipment.delete")
def order_shipment_delete(fake: Api2CartFake, call: Call) -> dict:
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        shipment = load_shipment(
            fake, store_key, need(call.args, "shipment_id"), text(call.args, "order_id")
        )
        conn.execute(
            "DELETE FROM a2c_shipments WHERE store_key = ? AND id = ?",
            (store_key, int(shipment["id"])),
        )
        order = fake.find_order(store_key, {"order_id": shipment["order_id"]})
        fake.refresh_fulfillment(conn, store_key, order)
    return {"deleted_items": 1}
