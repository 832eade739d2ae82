"""An order file's money read as a store's is (`orders.files.importing.incoming_order`).

A UK Shopify export with VAT-inclusive prices and a discount: the file's Total is what the
customer paid, its Taxes are inside the prices. Pure: no database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orders.files.importing import incoming_order
from orders.money import net_unit_price, rounded, shipstation_adjustment

D = Decimal
SHIP_TO = {"name": "Ann Lee", "street1": "1 High St", "city": "Leeds", "postal_code": "LS1 1AA",
           "country": "GB"}  # fmt: skip


def data(lines: list[tuple[str, str]]) -> dict:
    return {
        "order_number": "#1058",
        "ordered_at": datetime(2025, 3, 1, tzinfo=UTC),
        "email": "ann@example.com",
        "currency": "GBP",
        "ship_to": SHIP_TO,
        "lines": [
            {"sku": f"SKU-{n}", "quantity": D(q), "unit_price": D(p), "name": ""}
            for n, (q, p) in enumerate(lines)
        ],
    }


def test_vat_inclusive_prices_and_a_discount_reach_shipstation_as_the_files_total():
    # 2 × £9.00 + 1 × £6.00 incl. 20 % VAT = £24.00; £2.40 off; £3.60 shipping incl. VAT:
    # Total £25.20, of which VAT £4.20.
    money = {"total": D("25.20"), "shipping": D("3.60"), "tax": D("4.20"), "discount": D("2.40")}

    order = incoming_order(data([("2", "9.00"), ("1", "6.00")]), {}, money)

    assert order.prices_include_tax is True
    assert (order.total, order.tax, order.discount) == (D("25.20"), D("4.20"), D("2.40"))
    assert order.other == 0, order.money_note
    assert order.subtotal - order.discount + order.shipping + order.tax == order.total
    items = sum(
        rounded(net_unit_price(line.unit_price, line.quantity, line.tax_amount, True))
        * line.quantity
        for line in order.lines
    )
    adjustment = shipstation_adjustment(
        order.total, items, order.shipping, order.tax, order.discount
    )
    assert items + order.shipping + order.tax + adjustment.amount == D("25.20")


def test_a_file_without_money_columns_totals_its_lines():
    order = incoming_order(data([("2", "9.99")]), {}, {})

    assert (order.subtotal, order.total, order.tax, order.other) == (
        D("19.98"), D("19.98"), D(0), D(0),
    )  # fmt: skip
    assert order.prices_include_tax is None
