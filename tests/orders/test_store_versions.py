"""Reading store versions and telling their differences apart (`orders.changes`).

Pure: payloads as API2Cart sends them (contract §3.5), no database.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from connectors import api2cart
from inbox.polling import poll_dedupe_key
from orders.changes.detection import differences
from orders.changes.versions import (
    CANCELLED,
    FULFILLED,
    OPEN,
    REFUNDED,
    store_lifecycle,
    version_of_payload,
)
from orders.models import OrderChange

Kind = OrderChange.Kind

ORDER = {
    "id": "5001",
    "order_id": "#1058",
    "create_at": "2026-12-01T10:00:00+00:00",
    "modified_at": None,
    "status": {"id": "Pending", "name": "Pending"},
    "financial_status": "pending",
    "fulfillment_status": "",
    "totals": {"total": 30.0, "subtotal": 25.0, "shipping": 5.0, "tax": 0, "discount": 0},
    "shipping_address": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address1": "12 High St",
        "city": "Leeds",
        "postcode": "LS1 4AP",
        "country": {"code2": "GB"},
    },
    "order_products": [
        {"order_product_id": "1", "model": "GX-1", "name": "A", "price": 10, "quantity": 2},
        {"order_product_id": "2", "model": "GX-2", "name": "B", "price": 5, "quantity": 1},
    ],
}


def changed(**fields) -> dict:
    order = copy.deepcopy(ORDER)
    order.update(fields)
    return order


def kinds(old: dict, new: dict) -> list[str]:
    return [d.kind for d in differences(version_of_payload(old), version_of_payload(new))]


@pytest.mark.parametrize(
    ("status", "financial", "fulfillment", "lifecycle"),
    [
        ("Pending", "pending", "", OPEN),
        ("Canceled", "", "", CANCELLED),
        ("Processing", "voided", "", CANCELLED),
        ("Refunded", "", "", REFUNDED),
        ("Processing", "refunded", "", REFUNDED),
        ("Complete", "paid", "", FULFILLED),
        ("Open", "paid", "fulfilled", FULFILLED),
        ("Partially Shipped", "paid", "partial", OPEN),
    ],
)
def test_the_lifecycle_reads_status_financial_and_fulfilment_words(
    status, financial, fulfillment, lifecycle
):
    assert store_lifecycle(status, financial, fulfillment) == lifecycle


def test_a_repeat_is_no_difference_even_when_only_the_modified_time_moved():
    assert kinds(ORDER, changed(modified_at="2026-12-02T10:00:00+00:00")) == []


def test_a_cancellation_is_one_change_naming_both_statuses():
    found = differences(
        version_of_payload(ORDER),
        version_of_payload(changed(status={"id": "Canceled", "name": "Canceled"})),
    )
    assert [d.kind for d in found] == [Kind.CANCELLED]
    assert "Pending / pending → Canceled / pending" in found[0].summary


def test_a_refund_in_part_and_in_full():
    partial = changed(refunds=[{"id": "r1", "total": 10.0, "items": []}])
    found = differences(version_of_payload(ORDER), version_of_payload(partial))
    assert [d.kind for d in found] == [Kind.REFUNDED]
    assert found[0].after["full"] is False and found[0].after["given"] == "10.0"

    full = changed(
        refunds=[{"id": "r1", "total": 10.0}, {"id": "r2", "total": 20.0}],
        financial_status="refunded",
    )
    found = differences(version_of_payload(partial), version_of_payload(full))
    assert [d.kind for d in found] == [Kind.REFUNDED]
    assert found[0].after["full"] is True and found[0].after["given"] == "20.0"


def test_refund_info_alone_is_read_where_refunds_is_missing():
    refunded = changed(
        status={"id": "Pending", "name": "Pending", "refund_info": {"total_refunded": "7.50"}}
    )
    version = version_of_payload(refunded)
    assert version.refunded == Decimal("7.50")
    assert kinds(ORDER, refunded) == [Kind.REFUNDED]


def test_ship_to_and_lines_are_told_apart_line_by_line():
    moved = copy.deepcopy(ORDER["shipping_address"])
    moved.update(address1="1 New Rd", postcode="M1 1AA", city="Manchester")
    lines = copy.deepcopy(ORDER["order_products"])
    lines[0]["quantity"] = 3
    del lines[1]
    lines.append({"order_product_id": "3", "model": "GX-9", "price": 1, "quantity": 4})
    found = differences(
        version_of_payload(ORDER),
        version_of_payload(changed(shipping_address=moved, order_products=lines)),
    )
    assert [d.kind for d in found] == [Kind.SHIP_TO, Kind.LINES]
    assert "to Ada Lovelace, 1 New Rd, Manchester, M1 1AA, GB" in found[0].summary
    assert found[1].summary == (
        "The store changed the lines: SKU GX-1 × 2 → × 3; SKU GX-2 removed (was × 1); "
        "SKU GX-9 added × 4."
    )


def test_a_payment_and_a_plain_status_change():
    assert kinds(ORDER, changed(financial_status="paid")) == [Kind.PAID]
    assert kinds(ORDER, changed(status={"id": "Processing", "name": "Processing"})) == [Kind.STATUS]


def test_a_payload_that_is_not_a_store_order_has_no_version():
    assert version_of_payload({"order_number": "A-1", "lines": []}) is None
    assert version_of_payload("nonsense") is None


def test_the_poll_key_sees_a_cancel_where_modified_at_stays_null():
    """Walmart and some Amazon orders never move `modified_at`: the key must still change."""
    before = api2cart.Order.from_api(ORDER)
    after = api2cart.Order.from_api(changed(status={"id": "Canceled", "name": "Canceled"}))
    assert before.modified_at is None and after.changed_at == before.changed_at
    assert poll_dedupe_key(1, before) != poll_dedupe_key(1, after)
    assert poll_dedupe_key(1, before) == poll_dedupe_key(1, api2cart.Order.from_api(ORDER))
