"""Saving many bindings at once: one UPDATE ... FROM unnest(...) per chunk.

A full reconciliation may change 100,000 bindings; Django's `bulk_update` builds a CASE per
field and row, which costs more in Python than the database takes to run it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection

from catalog.models import ItemBinding

PG_TYPES = {
    "erp_price": "numeric",
    "erp_special_price": "numeric",
    "erp_stock": "jsonb",
    "price": "numeric",
    "special_price": "numeric",
    "quantity": "integer",
    "pushed_price": "numeric",
    "pushed_special_price": "numeric",
    "pushed_quantity": "integer",
    "pushed_at": "timestamptz",
    "push_state": "text",
    "push_failures": "smallint",
    "push_error": "text",
    "batch": "bigint",
    "store_product_id": "text",
    "store_variant_id": "text",
}
VALUE_FIELDS = ("erp_price", "erp_special_price", "erp_stock", "price", "special_price",
                "quantity", "push_state", "push_failures", "push_error")  # fmt: skip
"""What a read of the ERP changes on a binding."""
CHUNK = 5000


def save_bindings(bindings: Sequence[ItemBinding], fields: Sequence[str]) -> int:
    """Write `fields` of each binding (and `updated_at`); returns how many rows were updated."""
    if not bindings:
        return 0
    meta = ItemBinding._meta
    columns = [meta.get_field(name).column for name in fields]
    selects = ", ".join(
        f"unnest(%s::text[])::jsonb AS {column}"
        if PG_TYPES[name] == "jsonb"
        else f"unnest(%s::{PG_TYPES[name]}[]) AS {column}"
        for name, column in zip(fields, columns, strict=True)
    )
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    sql = (
        f"UPDATE {meta.db_table} AS b SET {assignments}, updated_at = now() "
        f"FROM (SELECT unnest(%s::bigint[]) AS id, {selects}) AS v WHERE b.id = v.id"
    )
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(bindings), CHUNK):
            chunk = bindings[start : start + CHUNK]
            params: list[list] = [[b.pk for b in chunk]]
            for name, column in zip(fields, columns, strict=True):
                values = [getattr(b, column) for b in chunk]
                if PG_TYPES[name] == "jsonb":
                    values = [json.dumps(v) for v in values]
                params.append(values)
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated
