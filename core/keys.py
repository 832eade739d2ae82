"""Every key the hub writes to an outside system, built and parsed in one place.

A key for a shared upstream (API2Cart, ShipStation) is `hub-{tenant schema}-{kind}{id}` with
optional parts after it, so no two tenants can share one: API2Cart answers a repeated
idempotency key on the same store with the first call's cached answer for 15 minutes, and
ShipStation upserts by `orderKey`, so a key two tenants shared would silently drop or overwrite
the second one's write. Keys already written upstream keep their shape, so they keep parsing.
"""

from __future__ import annotations

import re

from django.db import connection

ORDER = "order"
"""ShipStation `orderKey` of a hub order (set once, when ShipStation creates the order)."""
SHIPMENT = "shipment"
"""API2Cart `order.shipment.add` of one hub shipment."""
PRICE_PUSH = "push"
"""API2Cart product updates of one catalog push batch (an item's index follows)."""
STORE_STATUS = "status"
"""API2Cart `order.update` of one store status update (the attempt follows)."""


ERP_ORDER_PREFIX = "HUB"


def erp_order_reference(order_id: int) -> str:
    """M3's `CUOR` of a hub order: `HUB{id}`, at most 20 characters and stable on retries.

    Each tenant has an ERP of its own, so the order's id is unique enough there; the store's
    order number is not (two stores both have #1001), and goes to `YREF` for people instead.
    """
    return f"{ERP_ORDER_PREFIX}{order_id}"


def outside_key(kind: str, record_id: int, *parts: int | str, schema: str | None = None) -> str:
    """The key for one record of this tenant (the schema in use unless named)."""
    tail = "".join(f"-{part}" for part in parts)
    return f"hub-{schema or connection.schema_name}-{kind}{record_id}{tail}"


def record_id_of(key: str | None, kind: str, *, schema: str | None = None) -> int | None:
    """The record id in a key this tenant wrote for `kind`; None for anyone else's key."""
    prefix = re.escape(f"hub-{schema or connection.schema_name}-{kind}")
    match = re.fullmatch(prefix + r"(\d+)(?:-[\w-]+)?", key or "")
    return int(match.group(1)) if match else None
