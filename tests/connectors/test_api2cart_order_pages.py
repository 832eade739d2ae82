"""`order.list` one page at a time by creation date, with the cursor to resume from (a backfill),
and the short order summary a reconciliation reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.api2cart import SUMMARY_FIELDS, Api2CartClient, OrderSummary, UnreadableOrder
from sandbox import demo_data

OUTLET = demo_data.store("acme-outlet")


def client(sandbox, page_size: int = 250) -> Api2CartClient:
    return Api2CartClient(
        demo_data.API2CART_API_KEY,
        OUTLET.store_key,
        base_url=sandbox.api_url("api2cart"),
        page_size=page_size,
    )


def test_pages_of_a_creation_range_oldest_first_with_a_cursor_to_resume(sandbox):
    placed = sandbox.control(
        "api2cart", "place-orders", store=OUTLET.name, count=5, quiet=True, days_ago=200
    )["orders"]
    now = datetime.now(UTC)
    since, until = now - timedelta(days=201), now - timedelta(days=199)
    reader = client(sandbox, page_size=2)

    first, cursor = reader.order_page(created_from=since, created_to=until)
    resumed = client(sandbox, page_size=2)  # another process, after a crash: only the cursor
    second, cursor = resumed.order_page(cursor)
    third, last = resumed.order_page(cursor)

    ids = [row["id"] for row in first + second + third]
    assert ids == [p["id"] for p in placed]
    assert last == ""


def test_the_summary_holds_ids_status_total_date_and_skus(sandbox):
    [placed] = sandbox.control(
        "api2cart", "place-orders", store=OUTLET.name, count=1, quiet=True, days_ago=210,
        status="Completed",
    )["orders"]  # fmt: skip
    now = datetime.now(UTC)
    rows, _ = client(sandbox).order_page(
        created_from=now - timedelta(days=211), created_to=now - timedelta(days=209),
        fields=SUMMARY_FIELDS,
    )  # fmt: skip
    full = client(sandbox).order_info(id=placed["id"])

    [summary] = [OrderSummary.from_api(row) for row in rows]

    assert (summary.id, summary.order_id, summary.status) == (
        placed["id"],
        placed["order_id"],
        "Completed",
    )
    assert summary.total == full.totals.total and isinstance(summary.total, Decimal)
    assert summary.created_at == full.created_at
    assert summary.skus == tuple(line.sku for line in full.products)
    assert "billing_address" not in rows[0]
    with pytest.raises(UnreadableOrder):
        OrderSummary.from_api("not an order")
