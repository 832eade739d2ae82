"""Orders: creating and updating them, and the `order.*` methods."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox import demo_data
from sandbox.api2cart.account import store_currency
from sandbox.api2cart.pricing import price_order
from sandbox.api2cart.shared import (
    FINANCIAL_STATUSES,
    FULFILLMENT_STATUSES,
    ORDER_DEFAULT_PARAMS,
    ORDER_GROUPS,
    ORDER_STATUSES,
    Call,
    a2c_date,
    boolean,
    count_in_store,
    csv,
    date_clauses,
    dumps,
    in_clause,
    invalid,
    method,
    money,
    need,
    not_found,
    parse_input_date,
    required,
    select_fields,
    stored,
    text,
    uint,
)

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake


class OrdersMixin:
    """Order writes shared by the control API and the `order.*` methods."""

    def create_order(
        self,
        store: dict,
        customer: dict,
        lines: list[tuple[dict, dict | None, int]],
        status: str,
        financial_status: str,
        shipping_address: dict | None = None,
        placed_at: datetime | None = None,
    ) -> dict:
        now = stored(placed_at or self.sandbox.now())
        store_key = store["store_key"]
        with self.db.transaction() as conn:
            number_ = self.store_number(store_key)
            internal = self.next_id(conn, "a2c_orders", store_key, number_ * 1000000 + 5000)
            order_number = str(internal - number_ * 1000000 - 5000 + 1000)
            items = [
                order_line(product, child, quantity, str(internal * 100 + line_no))
                for line_no, (product, child, quantity) in enumerate(lines, start=1)
            ]
            billing = dict(customer["address_book"][0], type="billing")
            order = {
                "id": str(internal),
                "order_id": order_number,
                "basket_id": None,
                "channel_id": None,
                "store_id": "1",
                "customer": {
                    "id": customer["id"],
                    "email": customer["email"],
                    "first_name": customer["first_name"],
                    "last_name": customer["last_name"],
                    "phone": customer["phone"],
                },
                "create_at": a2c_date(now),
                "modified_at": a2c_date(now),
                "finished_time": None,
                "currency": store_currency(self, store_key),
                "billing_address": billing,
                "shipping_address": dict(shipping_address or billing, type="shipping"),
                "payment_method": {"name": "Credit Card"},
                "shipping_method": {"name": "Standard Shipping"},
                "shipping_methods": [{"name": "Standard Shipping"}],
                "status": {
                    "id": status,
                    "name": status,
                    "history": [status_entry(status, now)],
                    "refund_info": None,
                },
                "financial_status": financial_status,
                "fulfillment_status": "unfulfilled",
                "totals": None,  # set by price_order
                "total": None,
                "discounts": [],
                "order_products": items,
                "bundles": [],
                "comment": None,
                "gift_message": None,
                "order_details_url": f"{store['url']}/admin/orders/{internal}",
                "warehouses_ids": ["1"],
                "refunds": [],
                "total_weight": 0.0,
                "additional_fields": {},
                "custom_fields": {},
            }
            price_order(store, order)
            self.save_order(conn, store_key, order)
            customer_doc = self.load("a2c_customers", store_key, customer["id"], "Customer")
            customer_doc["orders_count"] += 1
            customer_doc["last_order_id"] = order_number
            conn.execute(
                "UPDATE a2c_customers SET doc = ? WHERE store_key = ? AND id = ?",
                (dumps(customer_doc), store_key, int(customer["id"])),
            )
        return order

    def change_order(
        self, store: dict, order_id: str, change: Callable[[dict, str], None]
    ) -> tuple[dict, int]:
        """Apply a change the store made to an order, as order.update does: `modified_at`
        moves and `order.update` webhooks fire. Returns the order and the webhooks sent."""
        now = stored(self.sandbox.now())
        with self.db.transaction() as conn:
            order = self.find_order(store["store_key"], {"order_id": order_id})
            change(order, now)
            order["modified_at"] = a2c_date(now)
            self.save_order(conn, store["store_key"], order)
        return order, self.fire(store, "order", "update", order, order["id"])

    def update_order(self, store: dict, order_id: str, changes: dict) -> dict:
        """Apply order.update fields and fire order.update webhooks."""
        checks = (
            ("order_status", ORDER_STATUSES),
            ("financial_status", FINANCIAL_STATUSES),
            ("fulfillment_status", FULFILLMENT_STATUSES),
        )
        for field_name, allowed in checks:
            value = changes.get(field_name)
            if value is not None and value not in allowed:
                raise invalid(field_name, f"Supported values: {', '.join(allowed)}.")

        def apply(order: dict, now: str) -> None:
            status = changes.get("order_status")
            if status:
                notify = bool(boolean(changes, "send_notifications", False))
                comment = changes.get("comment") or changes.get("cancellation_reason") or ""
                set_status(order, status, now, comment, notify)
            for name in ("financial_status", "fulfillment_status"):
                if changes.get(name):
                    order[name] = changes[name]
            if changes.get("financial_status") == "paid":
                order["total"]["total_paid"] = order["total"]["total"]
            if changes.get("comment"):
                order["comment"] = changes["comment"]

        return self.change_order(store, order_id, apply)[0]

    def refresh_fulfillment(self, conn: Any, store_key: str, order: dict) -> None:
        shipped: Counter[str] = Counter()
        rows = conn.execute(
            "SELECT doc FROM a2c_shipments WHERE store_key = ? AND order_id = ?",
            (store_key, order["order_id"]),
        ).fetchall()
        for row in rows:
            for item in json.loads(row["doc"])["items"]:
                shipped[item["order_product_id"]] += item["quantity"]
        ordered = {item["order_product_id"]: item["quantity"] for item in order["order_products"]}
        if not shipped:
            order["fulfillment_status"] = "unfulfilled"
        elif all(shipped[key] >= qty for key, qty in ordered.items()):
            order["fulfillment_status"] = "fulfilled"
        else:
            order["fulfillment_status"] = "partially_fulfilled"
        order["modified_at"] = a2c_date(stored(self.sandbox.now()))
        self.save_order(conn, store_key, order)


def order_line(product: dict, child: dict | None, quantity: int, order_product_id: str) -> dict:
    """One `order_products` entry for a catalogue product or one of its variants; its
    discount and tax are set when the order is priced (`pricing.price_order`)."""
    source = child or product
    price = Decimal(str(source["price"]))
    return {
        "product_id": product["id"],
        "order_product_id": order_product_id,
        "model": child["sku"] if child else product["u_sku"],
        "name": child["name"] if child else product["name"],
        "price": money(price),
        "price_inc_tax": money(price),
        "quantity": quantity,
        "discount_amount": 0.0,
        "total_price": money(price * quantity),
        "tax_percent": 0.0,
        "tax_value": 0.0,
        "tax_value_after_discount": 0.0,
        "options": [
            {
                "option_id": option["name"],
                "name": option["name"],
                "value": option["value"],
                "price": 0.0,
                "weight": 0.0,
                "type": "select",
                "product_option_value_id": option["value"],
            }
            for option in (child or {}).get("options", [])
        ],
        "variant_id": child["id"] if child else "",
        "weight_unit": "kg",
        "weight": float(source["weight"]),
        "barcode": "",
        "parent_order_product_id": None,
    }


def status_entry(status: str, now: str, comment: str = "", notify: bool = False) -> dict:
    return {
        "id": status,
        "name": status,
        "modified_time": a2c_date(now),
        "notify": notify,
        "comment": comment,
    }


def set_status(order: dict, status: str, now: str, comment: str = "", notify: bool = False) -> None:
    """A new status and its `status.history` entry; setting the same status changes nothing."""
    if status == order["status"]["id"]:
        return
    order["status"]["id"] = order["status"]["name"] = status
    order["status"]["history"].append(status_entry(status, now, comment, notify))
    if status == "Completed":
        order["finished_time"] = a2c_date(now)


ORDER_SORT = {
    "order_id": "CAST(order_id AS INTEGER)",
    "id": "id",
    "create_at": "created_at",
    "created_at": "created_at",
    "modified_at": "modified_at",
}


def order_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = date_clauses(filters, {"created": "created_at", "modified": "modified_at"})
    for name, column in (("ids", "id"), ("order_ids", "order_id")):
        if values := csv(filters, name):
            clause, values = in_clause(column, values)
            clauses.append(clause)
            params.extend(values)
    if values := csv(filters, "skip_order_ids"):
        clause, values = in_clause("order_id", values)
        clauses.append(f"NOT {clause}")
        params.extend(values)
    if text(filters, "since_id") is not None:
        clauses.append("id > ?")
        params.append(uint(filters, "since_id", 0))
    for name, column in (
        ("customer_id", "customer_id"),
        ("customer_email", "customer_email"),
        ("order_status", "status"),
        ("financial_status", "financial_status"),
        ("fulfillment_status", "fulfillment_status"),
    ):
        if (value := text(filters, name)) is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    for name, column in (
        ("order_status_ids", "status"),
        ("financial_status_ids", "financial_status"),
    ):
        if values := csv(filters, name):
            clause, values = in_clause(column, values)
            clauses.append(clause)
            params.extend(values)
    return clauses, params


def render_order(order: dict, args: dict) -> dict:
    return select_fields(order, args, ORDER_DEFAULT_PARAMS, ORDER_GROUPS)


@method("order.list", paginated=True)
def order_list(fake: Api2CartFake, call: Call) -> dict:
    return fake.paged(
        call,
        "a2c_orders",
        order_where,
        ORDER_SORT,
        "order_id",
        "order",
        "orders_count",
        render_order,
    )


@method("order.count")
def order_count(fake: Api2CartFake, call: Call) -> dict:
    return {"orders_count": count_in_store(fake, call, "a2c_orders", order_where)}


@method("order.info")
def order_info(fake: Api2CartFake, call: Call) -> dict:
    order = fake.find_order(call.store["store_key"], call.args, "order_id")
    return render_order(order, call.args)


@method("order.status.list")
def order_status_list(fake: Api2CartFake, call: Call) -> dict:
    return {"cart_order_statuses": [{"id": s, "name": s} for s in ORDER_STATUSES]}


@method("order.financial_status.list")
def order_financial_status_list(fake: Api2CartFake, call: Call) -> dict:
    statuses = [{"id": s, "name": s.replace("_", " ").title()} for s in FINANCIAL_STATUSES]
    return {"order_financial_statuses": statuses}


@method("order.fulfillment_status.list")
def order_fulfillment_status_list(fake: Api2CartFake, call: Call) -> dict:
    statuses = [{"id": s, "name": s.replace("_", " ").title()} for s in FULFILLMENT_STATUSES]
    return {"order_fulfillment_statuses": statuses}


@method("order.update")
def order_update(fake: Api2CartFake, call: Call) -> dict:
    order_id = need(call.args, "order_id")
    fake.update_order(call.store, order_id, call.args)
    return {"updated_items": 1}


@method("order.add")
def order_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    for name in (
        "order_status",
        "customer_email",
        "bill_first_name",
        "bill_last_name",
        "bill_address_1",
        "bill_city",
        "bill_postcode",
        "bill_state",
        "bill_country",
    ):
        need(args, name)
    if args["order_status"] not in ORDER_STATUSES:
        raise invalid("order_status", f"Supported values: {', '.join(ORDER_STATUSES)}.")
    items = args.get("order_item")
    if not items or not isinstance(items, list):
        raise required("order_item")
    store_key = call.store["store_key"]
    lines = []
    for item in items:
        sku = item.get("order_item_model") or ""
        child_rows = fake.db.query(
            "SELECT doc FROM a2c_children WHERE store_key = ? AND (sku = ? OR id = ?)",
            (store_key, sku, str(item.get("order_item_variant_id") or "-")),
        )
        product_rows = fake.db.query(
            "SELECT doc FROM a2c_products WHERE store_key = ? AND (sku = ? OR id = ?)",
            (store_key, sku, str(item.get("order_item_id") or "-")),
        )
        child = json.loads(child_rows[0]["doc"]) if child_rows else None
        if child:
            product = fake.load("a2c_products", store_key, child["parent_id"], "Product")
        elif product_rows:
            product = json.loads(product_rows[0]["doc"])
        else:
            raise not_found("Product", sku or item.get("order_item_id"))
        if item.get("order_item_price") is not None:
            target = dict(child or product, price=money(float(item["order_item_price"])))
            child, product = (target, product) if child else (None, target)
        lines.append((product, child, int(item.get("order_item_quantity", 1))))
    email = args["customer_email"]
    rows = fake.db.query(
        "SELECT doc FROM a2c_customers WHERE store_key = ? AND email = ?", (store_key, email)
    )
    customer = json.loads(rows[0]["doc"]) if rows else fake_customer(fake, call.store, args)
    address = {
        "id": "",
        "type": "billing",
        "first_name": args["bill_first_name"],
        "last_name": args["bill_last_name"],
        "company": text(args, "bill_company") or "",
        "address1": args["bill_address_1"],
        "address2": text(args, "bill_address_2") or "",
        "city": args["bill_city"],
        "postcode": args["bill_postcode"],
        "region": args["bill_state"],
        "state": {"code": args["bill_state"], "name": args["bill_state"]},
        "country": {
            "code2": args["bill_country"],
            "code3": args["bill_country"],
            "name": args["bill_country"],
        },
        "phone": text(args, "bill_phone") or "",
        "phone_mobile": "",
        "fax": "",
        "website": "",
        "gender": "",
        "default": True,
        "tax_id": "",
        "identification_number": "",
        "alias": "",
    }
    customer = dict(customer, address_book=[address])
    financial = text(args, "financial_status") or "pending"
    order = fake.create_order(call.store, customer, lines, args["order_status"], financial)
    fake.fire(call.store, "order", "add", order, order["id"])
    return {"order_id": order["order_id"], "id": order["id"], "customer_id": customer["id"]}


def fake_customer(fake: Api2CartFake, store: dict, args: dict) -> dict:
    """order.add for an unknown e-mail registers a guest customer, as carts do."""
    now = stored(fake.sandbox.now())
    person = demo_data.DemoPerson(
        first_name=args["bill_first_name"],
        last_name=args["bill_last_name"],
        email=args["customer_email"],
        company=text(args, "bill_company") or "",
        address1=args["bill_address_1"],
        city=args["bill_city"],
        postcode=args["bill_postcode"],
        country=args["bill_country"],
        phone=text(args, "bill_phone") or "",
    )
    with fake.db.transaction() as conn:
        customer_id = fake.next_id(conn, "a2c_customers", store["store_key"], 0)
        doc = fake._customer_doc(customer_id, person, now)
        doc["is_guest"] = True
        conn.execute(
            "INSERT INTO a2c_customers VALUES (?,?,?,?,?,?)",
            (store["store_key"], customer_id, person.email, now, now, dumps(doc)),
        )
    return doc


@method("order.refund.add")
def order_refund_add(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    store_key = call.store["store_key"]
    with fake.db.transaction() as conn:
        order = fake.find_order(store_key, args)
        lines = {item["order_product_id"]: item for item in order["order_products"]}
        refunded: list[RefundedLine] = []
        for item in args.get("items") or []:
            line = lines.get(str(item.get("order_product_id")))
            if line is None:
                raise not_found("Order product", item.get("order_product_id"))
            quantity = int(item.get("quantity", line["quantity"]))
            price = Decimal(str(item.get("price", line["price"])))
            refunded.append((line, quantity, price * quantity))
        shipping = Decimal(str(args.get("shipping_price") or 0))
        fee = Decimal(str(args.get("fee_price") or 0))
        amount = sum((money_ for _, _, money_ in refunded), Decimal(0))
        total = (
            Decimal(str(args["total_price"]))
            if args.get("total_price")
            else amount + shipping + fee
        )
        if total <= 0:
            raise required("total_price")
        when = (
            parse_input_date("date", args["date"])
            if args.get("date")
            else stored(fake.sandbox.now())
        )
        refund = Refund(refunded, shipping, fee, Decimal(0), total, text(args, "message") or "")
        refund_id = record_refund(order, refund, when)
        order["modified_at"] = a2c_date(stored(fake.sandbox.now()))
        fake.save_order(conn, store_key, order)
    return {"refund_id": refund_id, "additional_refund_ids": []}


RefundedLine = tuple[dict, int, Decimal]
"""(order line, quantity, amount refunded for it)."""


@dataclass(frozen=True)
class Refund:
    lines: list[RefundedLine]
    shipping: Decimal
    fee: Decimal
    tax: Decimal
    total: Decimal
    comment: str


def refunded_so_far(order: dict, field_name: str = "total") -> Decimal:
    return sum((Decimal(str(r[field_name])) for r in order["refunds"]), Decimal(0))


def record_refund(order: dict, refund: Refund, when: str) -> str:
    """Append to `refunds[]`, sum every refund up in `status.refund_info` and set the financial
    status (`refunded` once the order total is refunded); returns the new refund's id."""
    items = [
        {
            "product_id": line["product_id"],
            "variant_id": line["variant_id"],
            "order_product_id": line["order_product_id"],
            "qty": quantity,
            "refund": money(amount),
        }
        for line, quantity, amount in refund.lines
    ]
    refund_id = str(int(order["id"]) * 10 + len(order["refunds"]) + 1)
    order["refunds"].append(
        {
            "id": refund_id,
            "shipping": money(refund.shipping),
            "fee": money(refund.fee),
            "tax": money(refund.tax),
            "total": money(refund.total),
            "modified_time": a2c_date(when),
            "comment": refund.comment,
            "items": items,
        }
    )
    order["status"]["refund_info"] = {
        "shipping": money(refunded_so_far(order, "shipping")),
        "fee": money(refunded_so_far(order, "fee")),
        "tax": money(refunded_so_far(order, "tax")),
        "total_refunded": money(refunded_so_far(order)),
        "time": a2c_date(when),
        "comment": refund.comment,
        "refunded_items": [item for r in order["refunds"] for item in r["items"]],
    }
    full = refunded_so_far(order) >= Decimal(str(order["totals"]["total"]))
    order["financial_status"] = "refunded" if full else "partially_refunded"
    return refund_id
