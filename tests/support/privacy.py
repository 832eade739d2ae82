"""Many orders holding shoppers' personal data, seeded in SQL in the schema in use (the
retention test's 10,000 and the retention bench's 100,000): mixed states, half of them done long
ago, each with a line, two timeline entries, some with a shipment, an address change and a
failed attempt quoting the shopper."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models
from django.utils import timezone

from core.models import WorkAttempt
from orders.models import Order, OrderChange, OrderEvent, OrderLine
from shipping.models import Shipment

STATES = [state for state, _ in Order.State.choices]
OLD_DAYS = 120
RECENT_DAYS = 10


def email_of(n: int) -> str:
    return f"shopper{n}@example.test"


def street_of(n: int) -> str:
    return f"{n} Privet Drive"


def name_of(n: int) -> str:
    return f"Harriet Shopper{n}"


def is_old(n: int) -> bool:
    return n % 2 == 0


def insert_series(model: type[models.Model], rows_sql: str, expressions: dict[str, str],
                  params: dict[str, Any]) -> int:  # fmt: skip
    """INSERT one row per row of `rows_sql` (which names `n`, and `o` when it joins orders):
    the columns in `expressions` from them, every other NOT NULL column its field's default."""
    columns, values = [], []
    params = dict(params)
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in expressions:
            columns.append(field.column)
            values.append(expressions[field.column])
        elif not field.null:
            name = f"default_{field.column}"
            params[name] = field.get_db_prep_save(field.get_default(), connection)
            columns.append(field.column)
            values.append(f"%({name})s")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} {rows_sql}"
    ).replace(" % ", " %% ")  # SQL's modulo, not a placeholder
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def seed_orders(
    count: int,
    *,
    store_id: int | None = None,
    now: datetime | None = None,
    states: list[str] | None = None,
    old_every: int = 2,
) -> int:
    """`count` orders (n = 1..count): state `states[n % len]` (every state by default), done
    `OLD_DAYS` ago when n is a multiple of `old_every` (even by default), `RECENT_DAYS` ago
    otherwise. Returns the rows inserted in all."""
    now = now or timezone.now()
    states = states or STATES
    params = {
        "count": count,
        "states": states,
        "old": now - timedelta(days=OLD_DAYS),
        "recent": now - timedelta(days=RECENT_DAYS),
        "store": store_id,
    }
    when = (
        f"CASE WHEN n % {int(old_every)} = 0 THEN %(old)s::timestamptz "
        "ELSE %(recent)s::timestamptz END"
    )
    email = "'shopper' || n || '@example.test'"
    name = "'Harriet Shopper' || n"
    street = "n || ' Privet Drive'"
    phone = "'07700 900' || lpad((n % 1000)::text, 3, '0')"
    address = (
        f"jsonb_build_object('first_name', 'Harriet', 'last_name', 'Shopper' || n, "
        f"'address1', {street}, 'address2', 'Little Whinging', 'city', 'Surrey', "
        f"'postcode', 'GU1 1AA', 'country', 'GB', 'phone', {phone})"
    )
    rows = insert_series(
        Order,
        "FROM generate_series(1, %(count)s) AS n",
        {
            "store_id": "%(store)s",
            "source": "'webhook'",
            "store_order_id": "'R-' || n",
            "order_number": "'R' || n",
            "customer_email": email,
            "store_customer_id": "'C' || n",
            "currency": "'GBP'",
            "total": "39.98 + (n % 7)",
            "subtotal": "39.98",
            "shipping_amount": "(n % 7)",
            "state": f"(%(states)s::text[])[1 + n % {len(states)}]",
            "state_message": f"'Shipped to ' || {name}",
            "last_error": f"CASE WHEN n % 5 = 0 THEN 'M3 refused: invalid phone 07700 900' || "
            f"lpad((n % 1000)::text, 3, '0') || ' for ' || {email} ELSE '' END",
            "ship_to": f"jsonb_build_object('name', {name}, 'street1', {street}, "
            "'street2', 'Little Whinging', 'city', 'Surrey', 'postal_code', 'GU1 1AA', "
            "'country', 'GB', 'phone', '07700 900' || lpad((n % 1000)::text, 3, '0'))",
            "payload": f"jsonb_build_object('id', 'R-' || n, 'order_id', 'R' || n, "
            f"'customer', jsonb_build_object('id', 'C' || n, 'email', {email}, "
            "'first_name', 'Harriet', 'last_name', 'Shopper' || n), "
            f"'billing_address', {address}, 'shipping_address', {address}, "
            f"'comment', 'Leave it with the neighbour at ' || {street}, "
            "'currency', 'GBP', 'status', jsonb_build_object('id', 'Complete'), "
            "'totals', jsonb_build_object('total', 39.98 + (n % 7)), "
            "'order_products', jsonb_build_array(jsonb_build_object('model', 'SKU-' || (n % 50), "
            "'quantity', 2, 'price', 19.99)), "
            "'refunds', jsonb_build_array(jsonb_build_object('id', 'F' || n, 'total', 1, "
            f"'comment', 'Refund for ' || {name})))",
            "erp_customer_number": "'C' || (n % 1000)",
            "erp_order_number": "(1000000 + n)::text",
            "shipstation_order_key": "'acme-order-' || n",
            "shipstation_order_id": "(5000000 + n)::text",
            "ordered_at": when,
            "created_at": when,
            "updated_at": when,
        },
        params,
    )
    orders = (
        f"FROM {Order._meta.db_table} o, LATERAL (SELECT substr(o.store_order_id, 3)::int AS n) s"
    )
    rows += insert_series(
        OrderLine,
        orders,
        {
            "order_id": "o.id",
            "line_number": "1",
            "sku": "'SKU-' || (n % 50)",
            "name": "'Widget'",
            "quantity": "2",
            "unit_price": "19.99",
            "store_line_id": "'L' || n",
        },
        params,
    )
    for message in (f"'Received for ' || {name} || ' <' || {email} || '>'", "'Sent to the ERP'"):
        rows += insert_series(
            OrderEvent,
            orders,
            {"order_id": "o.id", "created_at": "o.created_at", "step": "'received'",
             "message": message, "upstream_ref": "o.store_order_id"},
            params,
        )  # fmt: skip
    rows += insert_series(
        OrderChange,
        orders + " WHERE n % 10 = 0",
        {
            "order_id": "o.id",
            "kind": "'ship_to'",
            "state": "'done'",
            "summary": "'The ship-to changed from Old Name, 4 Old Road to ' || " + name,
            "before": "jsonb_build_object('ship_to', jsonb_build_object('name', 'Old Name'))",
            "after": "jsonb_build_object('ship_to', o.ship_to)",
            "digest": "md5(o.id::text)",
            "created_at": "o.created_at",
            "updated_at": "o.created_at",
        },
        params,
    )
    rows += insert_series(
        Shipment,
        orders + " WHERE n % 3 = 0",
        {
            "order_id": "o.id",
            "origin": "'shipstation'",
            "source_id": "'S' || n",
            "state": "'posted'",
            "tracking_numbers": "jsonb_build_array('1Z' || n)",
            "raw": f"jsonb_build_object('shipmentId', n, 'trackingNumber', '1Z' || n, "
            f"'shipTo', jsonb_build_object('name', {name}, 'street1', {street}), "
            f"'customerEmail', {email})",
            "note": f"'Left at ' || {street}",
            "created_at": "o.created_at",
            "updated_at": "o.created_at",
        },
        params,
    )
    rows += insert_series(
        WorkAttempt,
        orders + " WHERE n % 5 = 0",
        {
            "kind": "'orders.order'",
            "item_id": "o.id",
            "number": "1",
            "started_at": "o.created_at",
            "duration_ms": "120",
            "outcome": "'retry'",
            "error": f"'ShipStation said: bad address ' || {street} || ' for ' || {email}",
        },
        params,
    )
    return rows
