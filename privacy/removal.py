"""Removing a shopper's personal data from a set of orders and from inbox bodies, in SQL.

What is personal, per model, is named here, in one place, rather than in each business app:
the privacy app sits above every app that holds shoppers' data (inbox, orders, shipping,
invoicing), so it may read their tables while they stay ignorant of it; a new personal field
is added below and to the retention test's list. What stays is everything reports,
reconciliation and totals need: amounts, SKUs, quantities, states, dates and every upstream
reference (store order ids, ERP order and customer numbers, ShipStation keys, tracking numbers).

Orders are worked a batch of ids at a time, one set-based UPDATE per table (100,000 orders in
about 33 s of database CPU, docs/benchmarks.md). Free texts (timeline messages, error texts,
notes) keep their words: the order's own name, address lines, e-mail and phone are replaced
where they appear, and so is anything shaped like an e-mail address or a phone number
(`hub_scrub_personal`, a PostgreSQL function this app's migration installs, using the patterns
of `core.redaction`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import connection

from core.models import WorkAttempt
from inbox.minimise import minimised_fields
from inbox.models import InboxItem
from invoicing.models import StoreStatusUpdate
from orders.models import Order, OrderChange, OrderEvent
from shipping.models import Shipment

REMOVED = "[removed]"

KEPT_SHIP_TO = ("country",)
"""The ship-to's country stays (VAT and sales by country); the rest of the address goes."""
KEPT_PAYLOAD = (
    "id", "order_id", "store_id", "create_at", "modified_at", "currency", "status", "totals",
    "total", "order_products", "bundles", "financial_status", "fulfillment_status", "refunds",
    "shipping_method", "payment_method", "lines", "order_number", "ordered_at",
)  # fmt: skip
"""Keys of a stored payload that stay: ids, money, lines, statuses and dates. Everything else
(`customer`, `billing_address`, `shipping_address`, `comment`, a platform's own extras) goes;
each refund loses its free-text `comment`."""
PERSONAL_SHIPMENT_KEYS = (
    "shipTo", "billTo", "customerEmail", "customerUsername", "customerNotes", "internalNotes",
    "giftMessage", "CONM", "ADR1", "ADR2", "ADR3", "ADR4", "TOWN", "PONO", "PHNO", "EMAL", "YREF",
)  # fmt: skip
"""What a ShipStation shipment or an ERP delivery head says about the recipient."""
SHIP_TO_CHANGE = "The ship-to changed (both addresses were removed with the personal data)."


def _known_values(order: str) -> str:
    """The order's own personal values, once per order: distinct, at least 3 characters."""
    paths = [
        f"{order}.customer_email",
        *(f"{order}.ship_to->>'{key}'" for key in ("name", "company", "street1", "street2")),
        f"{order}.ship_to->>'phone'",
        *(
            f"{order}.payload->'{part}'->>'{key}'"
            for part in ("customer", "billing_address", "shipping_address")
            for key in ("first_name", "last_name", "company", "address1", "address2", "phone")
        ),
        f"{order}.payload->'customer'->>'email'",
    ]
    return (
        f"ARRAY(SELECT DISTINCT btrim(v) FROM unnest(ARRAY[{', '.join(paths)}]) v "
        "WHERE length(btrim(v)) >= 3)"
    )


def _with_known() -> str:
    """A CTE `k(id, known)`: each order of the batch and its personal values, read once for
    the statement rather than once per row that hangs off the order."""
    return (
        f"WITH k AS MATERIALIZED (SELECT o.id, {_known_values('o')} AS known "
        f"FROM {Order._meta.db_table} o WHERE o.id = ANY(%(ids)s)) "
    )


def _scrub(column: str) -> str:
    return f"hub_scrub_personal({column}, k.known)"


def _ship_to_kept(order: str = "o") -> str:
    keys = ", ".join(f"'{key}'" for key in KEPT_SHIP_TO)
    return (
        f"coalesce((SELECT jsonb_object_agg(key, value) FROM jsonb_each("
        f"CASE WHEN jsonb_typeof({order}.ship_to) = 'object' THEN {order}.ship_to "
        f"ELSE '{{}}'::jsonb END) WHERE key IN ({keys})), '{{}}'::jsonb)"
    )


def _payload_kept(order: str = "o") -> str:
    payload = (
        f"CASE WHEN jsonb_typeof({order}.payload) = 'object' THEN {order}.payload "
        "ELSE '{}'::jsonb END"
    )
    refunds = (
        f"CASE WHEN jsonb_typeof({order}.payload->'refunds') = 'array' THEN "
        f"jsonb_build_object('refunds', (SELECT coalesce(jsonb_agg(CASE WHEN "
        f"jsonb_typeof(r) = 'object' THEN r - 'comment' ELSE r END), '[]'::jsonb) "
        f"FROM jsonb_array_elements({order}.payload->'refunds') r)) ELSE '{{}}'::jsonb END"
    )
    return (
        f"coalesce((SELECT jsonb_object_agg(key, value) FROM jsonb_each({payload}) "
        f"WHERE key = ANY(%(kept)s)), '{{}}'::jsonb) || {refunds}"
    )


def _attempts(kind_model, join: str, batch: str) -> str:
    """Attempt errors of the batch's work items of one kind (`join` reaches the order's `k`,
    `batch` keeps the scan to the batch's rows through an index)."""
    kind = kind_model._meta.label_lower
    table = WorkAttempt._meta.db_table
    return (
        f"{_with_known()}UPDATE {table} a SET error = s.cleaned FROM ("
        f"SELECT a.id, {_scrub('a.error')} AS cleaned FROM {table} a {join} "
        f"WHERE a.kind = '{kind}' AND {batch} AND a.error <> '') s "
        "WHERE a.id = s.id AND s.cleaned IS DISTINCT FROM a.error"
    )


def _children() -> list[tuple[str, str]]:
    """(kind, statement) for everything hanging off the batch's orders."""
    events = OrderEvent._meta.db_table
    changes = OrderChange._meta.db_table
    shipments = Shipment._meta.db_table
    updates = StoreStatusUpdate._meta.db_table
    personal_keys = ", ".join(f"'{key}'" for key in PERSONAL_SHIPMENT_KEYS)
    attempts = [
        _attempts(Order, "JOIN k ON k.id = a.item_id", "a.item_id = ANY(%(ids)s)"),
        _attempts(
            OrderChange,
            f"JOIN {changes} c ON c.id = a.item_id JOIN k ON k.id = c.order_id",
            "c.order_id = ANY(%(ids)s)",
        ),
        _attempts(
            Shipment,
            f"JOIN {shipments} h ON h.id = a.item_id JOIN k ON k.id = h.order_id",
            "h.order_id = ANY(%(ids)s)",
        ),
        _attempts(
            StoreStatusUpdate,
            f"JOIN {updates} u ON u.id = a.item_id JOIN k ON k.id = u.order_id",
            "u.order_id = ANY(%(ids)s)",
        ),
    ]
    others = {
        "order events": (
            f"{_with_known()}UPDATE {events} e SET message = s.cleaned FROM ("
            f"SELECT e.id, {_scrub('e.message')} AS cleaned FROM {events} e "
            "JOIN k ON k.id = e.order_id WHERE e.order_id = ANY(%(ids)s) "
            "AND e.message <> '') s "
            "WHERE e.id = s.id AND s.cleaned IS DISTINCT FROM e.message"
        ),
        "order changes": (
            f"{_with_known()}UPDATE {changes} c SET "
            f"summary = CASE WHEN c.kind = 'ship_to' THEN %(ship_to_change)s "
            f"ELSE {_scrub('c.summary')} END, "
            "before = CASE WHEN c.kind = 'ship_to' THEN '{}'::jsonb ELSE c.before END, "
            "after = CASE WHEN c.kind = 'ship_to' THEN '{}'::jsonb ELSE c.after END, "
            f"outcome = {_scrub('c.outcome')}, last_error = {_scrub('c.last_error')} "
            "FROM k WHERE c.order_id = k.id AND c.order_id = ANY(%(ids)s)"
        ),
        "shipments": (
            f"{_with_known()}UPDATE {shipments} h SET raw = CASE WHEN "
            f"jsonb_typeof(h.raw) = 'object' THEN h.raw - ARRAY[{personal_keys}] "
            "ELSE '{}'::jsonb END, "
            f"note = {_scrub('h.note')}, last_error = {_scrub('h.last_error')} "
            "FROM k WHERE h.order_id = k.id AND h.order_id = ANY(%(ids)s)"
        ),
        "store status updates": (
            f"{_with_known()}UPDATE {updates} u SET comment = {_scrub('u.comment')}, "
            f"last_error = {_scrub('u.last_error')} "
            "FROM k WHERE u.order_id = k.id AND u.order_id = ANY(%(ids)s)"
        ),
    }
    return [("attempt errors", statement) for statement in attempts] + list(others.items())


def _orders(forget_customer_id: bool) -> str:
    orders = Order._meta.db_table
    customer_id = ", store_customer_id = ''" if forget_customer_id else ""
    return (
        f"{_with_known()}UPDATE {orders} o SET customer_email = '', ship_to = {_ship_to_kept()}, "
        f"payload = {_payload_kept()}, state_message = {_scrub('o.state_message')}, "
        f"last_error = {_scrub('o.last_error')}, "
        f"last_error_hint = {_scrub('o.last_error_hint')}, "
        f"personal_data_removed_at = %(now)s{customer_id} FROM k WHERE o.id = k.id"
    )


def remove_from_orders(
    order_ids: list[int], now: datetime, *, forget_customer_id: bool = False
) -> Counter:
    """Remove the personal data of these orders (in the schema in use) and of everything
    hanging off them; returns the rows changed per kind. Safe to repeat: a second run finds
    nothing left to replace. `forget_customer_id` (an erasure) blanks the store's customer id
    too; retention keeps it as an upstream reference."""
    changed: Counter = Counter()
    if not order_ids:
        return changed
    params = {
        "ids": list(order_ids),
        "now": now,
        "kept": list(KEPT_PAYLOAD),
        "ship_to_change": SHIP_TO_CHANGE,
    }
    with connection.cursor() as cursor:
        # The children first: their texts are scrubbed with the order's values still there.
        for kind, statement in _children():
            cursor.execute(statement, params)
            changed[kind] += max(cursor.rowcount, 0)
        cursor.execute(_orders(forget_customer_id), params)
        changed["orders"] += max(cursor.rowcount, 0)
    return changed


def cut_inbox_bodies(items: list[InboxItem], now: datetime) -> int:
    """Cut these store-order items' bodies to ids and a digest (`inbox.minimise`), and scrub
    their error texts; returns how many bodies were cut."""
    cut = [
        InboxItem(pk=item.pk, body=fields["body"], personal_data_removed_at=now)
        for item in items
        if (fields := minimised_fields(item, now))
    ]
    if cut:
        InboxItem.objects.bulk_update(cut, ["body", "personal_data_removed_at"], batch_size=1000)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {InboxItem._meta.db_table} SET last_error = "
                "hub_scrub_personal(last_error, ARRAY[]::text[]) "
                "WHERE id = ANY(%s) AND last_error <> ''",
                [[item.pk for item in cut]],
            )
    return len(cut)
