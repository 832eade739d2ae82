"""The money and line shapes platforms pass through API2Cart (contract §3.5, §7.19-22).

The first tests read answers shaped like the ones recorded from real stores (eBay's wrapped
lines, Walmart's tax-inclusive line totals, Etsy's subtotal after the discount, Bol's sentence
for a shipment id) with no server; the last ones read the sandbox's platform profiles through
the client over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from connectors.api2cart import (
    Api2CartClient,
    NewShipment,
    Order,
    OrderProduct,
    OrderTotals,
    Shipment,
    ShipmentLine,
    TrackingNumber,
    UnreadableOrder,
    entries,
)
from connectors.api2cart.values import identifier
from sandbox import demo_data

D = Decimal
OUTLET = demo_data.store("acme-outlet")
VARIANT_SKU = next(p for p in demo_data.products("acme") if p.variants).variants[0].sku
PLAIN_SKU = next(p for p in demo_data.products("acme") if not p.variants).sku


def ebay_line(order_product_id: str, sku: str, price: float, quantity: int) -> dict:
    return {
        "product_id": "110553372210",
        "order_product_id": order_product_id,
        "model": sku,
        "name": f"Item {sku}",
        "price": price,
        "price_inc_tax": price,
        "quantity": quantity,
        "discount_amount": 0,
        "total_price": round(price * quantity, 2),
        "tax_percent": 0,
        "tax_value": 0,
        "tax_value_after_discount": 0,
        "variant_id": "",
    }


# `order.info?params={*}` from an eBay store: every line one level deeper, as `{product: [...]}`.
EBAY_ORDER = {
    "id": "",
    "order_id": "14-10622-38001",
    "store_id": 1,
    "customer": [{"id": "", "email": "", "first_name": "Jo", "last_name": "Bloggs"}],
    "create_at": "2026-03-02 09:14:07",
    "currency": [{"iso3": "USD"}],
    "totals": [{"total": 59.97, "subtotal": 49.98, "shipping": 9.99, "tax": 0, "discount": 0}],
    "order_products": [
        {"product": [ebay_line("10050453201", "MUG-RED", 12.99, 2)]},
        {"product": [ebay_line("10050453202", "MUG-BLUE", 24.00, 1)]},
    ],
    "refunds": [
        {
            "id": "5001",
            "total": 12.99,
            "items": [{"item": [{"order_product_id": "10050453201", "qty": 1}]}],
        }
    ],
}

# A Walmart order: `total_price` includes the line's tax, `totals.subtotal` does not (§7.20).
WALMART_ORDER = {
    "id": "108829341923",
    "order_id": "108829341923",
    "totals": {"total": 529.71, "subtotal": 499.99, "shipping": 0, "tax": 29.72, "discount": 0},
    "total": {
        "subtotal_ex_tax": 499.99,
        "shipping_ex_tax": 0,
        "total_tax": 29.72,
        "total_discount": 0,
        "total": 529.71,
        "total_paid": 529.71,
    },
    "order_products": [
        {
            "order_product_id": "1",
            "product_id": "WM-1",
            "model": "DESK-OAK",
            "price": 399.99,
            "quantity": 1,
            "total_price": 423.77,
            "tax_percent": 5.945,
            "tax_value": 23.78,
        },
        {
            "order_product_id": "2",
            "product_id": "WM-2",
            "model": "CHAIR-OAK",
            "price": 100.00,
            "quantity": 1,
            "total_price": 105.94,
            "tax_percent": 5.94,
            "tax_value": 5.94,
        },
    ],
}

# An Etsy order: the subtotal already has the discount taken off (§7.21).
ETSY_ORDER = {
    "id": "3311984450",
    "order_id": "3311984450",
    "totals": {"total": 24.64, "subtotal": 20.69, "shipping": 3.95, "tax": 0, "discount": 2.30},
    "total": {"subtotal_ex_tax": 20.69, "total_discount": 2.30, "total": 24.64, "total_paid": 0},
    "order_products": [
        {
            "order_product_id": "1",
            "product_id": "1487716911",
            "model": "PRINT-A4",
            "price": 22.99,
            "price_inc_tax": 22.99,
            "quantity": 1,
            "discount_amount": 2.30,
            "total_price": 22.99,
            "tax_percent": 0,
            "tax_value": 0,
            "tax_value_after_discount": 0,
        }
    ],
}


def test_ebay_wrapped_lines_and_refund_items_read_as_real_lines():
    order = Order.from_api(EBAY_ORDER)

    assert [(p.order_product_id, p.sku, p.quantity, p.price) for p in order.products] == [
        ("10050453201", "MUG-RED", D(2), D("12.99")),
        ("10050453202", "MUG-BLUE", D(1), D("24.0")),
    ]
    assert order.products[0].total_price == D("25.98") and order.products[0].amount == D("25.98")
    assert order.products[0].tax_value == D(0) and order.products[0].price_inc_tax == D("12.99")
    assert order.totals.subtotal == D("49.98") and order.totals.total == D("59.97")
    [refund] = order.refunds
    assert refund.items == (("10050453201", D(1)),)


def test_wrappers_come_off_at_any_depth_and_list_length():
    line = {"order_product_id": "7", "quantity": 1}
    other = {"order_product_id": "8", "quantity": 2}
    assert entries([{"product": [line]}]) == [line]
    assert entries([{"product": {"item": [line]}}]) == [line]
    assert entries({"product": [line, other]}) == [line, other], "one wrapper, two lines"
    assert entries([[line], other]) == [line, other]
    assert entries([{"product": []}, None]) == [{}], "an empty wrapper is no line"
    assert entries(None) == [] and entries([]) == []
    assert entries([{"model": "SKU"}]) == [{"model": "SKU"}], "a one-field line is kept"


def test_a_line_with_no_id_no_sku_and_no_quantity_is_a_reading_error():
    with pytest.raises(UnreadableOrder) as bad:
        Order.from_api({"id": "", "order_id": "55", "order_products": [{"product": "gone"}]})
    assert bad.value.reference == "55" and "no id, no SKU and no quantity" in str(bad.value)
    sku_less = Order.from_api({"order_id": "56", "order_products": [{"order_product_id": "1"}]})
    assert sku_less.products[0].sku == "", "a line with an id is a line (its SKU is looked up)"


def test_line_money_fields_are_read_as_documented():
    line = OrderProduct.from_api(
        {
            "order_product_id": "1",
            "model": "KIT-3",
            "price": "30.00",
            "price_inc_tax": "32.48",
            "quantity": "3",
            "discount_amount": "9.00",
            "total_price": "90.00",
            "tax_percent": "8.25",
            "tax_value": "7.43",
            "tax_value_after_discount": "6.68",
        }
    )
    assert (line.price, line.price_inc_tax, line.quantity, line.total_price) == (
        D("30.00"),
        D("32.48"),
        D(3),
        D("90.00"),
    )
    assert (line.discount_amount, line.tax_percent, line.tax_value) == (
        D("9.00"),
        D("8.25"),
        D("7.43"),
    )
    assert line.tax_value_after_discount == D("6.68")
    bare = OrderProduct.from_api({"order_product_id": "2", "price": 5, "quantity": 1})
    assert (bare.price_inc_tax, bare.discount_amount, bare.tax_percent, bare.tax_value) == (
        None,
        None,
        None,
        None,
    )


def test_walmart_line_totals_include_tax_and_are_kept_as_reported():
    order = Order.from_api(WALMART_ORDER)

    assert sum(line.total_price for line in order.products) == D("529.71")
    assert order.totals.subtotal + order.totals.tax == D("529.71")
    assert [line.price for line in order.products] == [D("399.99"), D("100.0")]
    assert [line.tax_value for line in order.products] == [D("23.78"), D("5.94")]
    assert order.totals.subtotal_ex_tax == D("499.99") and order.totals.total_paid == D("529.71")


def test_etsy_subtotal_after_discount_is_kept_as_reported():
    order = Order.from_api(ETSY_ORDER)
    totals = order.totals

    assert (totals.subtotal, totals.discount, totals.shipping, totals.total) == (
        D("20.69"),
        D("2.30"),
        D("3.95"),
        D("24.64"),
    )
    assert totals.subtotal + totals.shipping + totals.tax == totals.total, "discount applied"
    [line] = order.products
    assert line.price - line.discount_amount == totals.subtotal
    assert totals.subtotal_ex_tax == D("20.69") and totals.total_paid == D(0)


def test_totals_keep_the_long_form_fields():
    totals = OrderTotals.from_api(
        None,
        {
            "subtotal_ex_tax": 40,
            "wrapping_ex_tax": 2.5,
            "shipping_ex_tax": 4.95,
            "total_tax": 3.3,
            "total_discount": -4,
            "total": 46.75,
            "total_paid": 46.75,
        },
    )
    assert totals == OrderTotals(
        total=D("46.75"),
        subtotal=D(40),
        shipping=D("4.95"),
        tax=D("3.3"),
        discount=D(4),
        subtotal_ex_tax=D(40),
        wrapping_ex_tax=D("2.5"),
        total_paid=D("46.75"),
    )


def test_an_answer_that_is_not_an_id_reads_as_no_id():
    assert identifier("1428250820") == "1428250820"
    assert identifier(1428250820) == "1428250820"
    assert identifier(["SHP-000123"]) == "SHP-000123"
    assert identifier("gid://shopify/Fulfillment/4471") == "gid://shopify/Fulfillment/4471"
    for answer in ("shipment created", "created", "OK", True, None, "", {"id": 1}, "9" * 65):
        assert identifier(answer) == "", answer


def test_shipment_items_are_unwrapped():
    shipment = Shipment.from_api(
        {
            "id": "88",
            "order_id": "1001",
            "items": [{"item": [{"order_product_id": "5", "quantity": 2}]}],
            "tracking_numbers": [[{"carrier_id": "ups", "tracking_number": "1Z9"}]],
        }
    )
    assert shipment.items == (("5", D(2)),)
    assert shipment.tracking_numbers == (TrackingNumber("ups", "1Z9"),)


# --- the sandbox's platform profiles, through the client --------------------------------------


@pytest.fixture
def client(sandbox) -> Iterator[Api2CartClient]:
    with Api2CartClient(
        demo_data.API2CART_API_KEY, OUTLET.store_key, base_url=sandbox.api_url("api2cart")
    ) as c:
        yield c


@pytest.fixture
def platform(sandbox) -> Iterator:
    def switch(name: str) -> None:
        sandbox.control("api2cart", "store-settings", store=OUTLET.name, profile=name)

    yield switch
    switch("clean")


def two_line_order(sandbox) -> str:
    items = [{"sku": VARIANT_SKU, "quantity": 3}, {"sku": PLAIN_SKU, "quantity": 1}]
    placed = sandbox.control("api2cart", "place-orders", store=OUTLET.name, items=items)
    return placed["orders"][0]["order_id"]


def star_answer(sandbox, order_id: str) -> dict:
    """`order.info?params=*` as received, for the record to read."""
    answer = requests.get(
        f"{sandbox.api_url('api2cart')}/order.info.json",
        params={"order_id": order_id, "params": "*"},
        headers={"x-api-key": demo_data.API2CART_API_KEY, "x-store-key": OUTLET.store_key},
        timeout=30,
    ).json()
    assert answer["return_code"] == 0
    return answer["result"]


def test_clean_lines_carry_tax_and_totals_add_up_to_the_cent(sandbox, client):
    order = client.order_info(two_line_order(sandbox))
    totals = order.totals

    assert totals.total == totals.subtotal - totals.discount + totals.shipping + totals.tax
    assert totals.subtotal == sum(line.total_price for line in order.products)
    assert totals.tax == sum(line.tax_value_after_discount for line in order.products)
    assert totals.discount == sum(line.discount_amount for line in order.products) > 0
    assert {line.tax_percent for line in order.products} == {D("8.25")}


def test_ebay_star_answer_reads_the_same_lines_as_clean(sandbox, client, platform):
    order_id = two_line_order(sandbox)
    clean = client.order_info(order_id)
    platform("ebay")

    raw = star_answer(sandbox, order_id)
    assert all(set(entry) == {"product"} for entry in raw["order_products"])
    order = Order.from_api(raw)
    assert [(p.order_product_id, p.quantity, p.price, p.tax_value) for p in order.products] == [
        (p.order_product_id, p.quantity, p.price, p.tax_value) for p in clean.products
    ]
    assert order.products[1].sku == PLAIN_SKU and order.totals == clean.totals


def test_walmart_and_etsy_money_through_the_client(sandbox, client, platform):
    platform("walmart")
    walmart = client.order_info(two_line_order(sandbox))
    assert sum(line.total_price for line in walmart.products) == (
        walmart.totals.subtotal + walmart.totals.tax
    )
    assert all(line.total_price > line.price * line.quantity for line in walmart.products)

    platform("etsy")
    etsy = client.order_info(two_line_order(sandbox))
    totals = etsy.totals
    assert totals.discount == D("2.00")
    assert totals.subtotal == sum(line.price * line.quantity for line in etsy.products) - D(2)
    assert totals.subtotal + totals.shipping + totals.tax == totals.total


def test_bol_shipment_add_gives_no_id_and_the_list_names_it(sandbox, client, platform):
    platform("bol")
    order = client.order_info(two_line_order(sandbox))
    line = order.products[1]
    request = NewShipment(
        order_id=order.order_id,
        items=[ShipmentLine(line.order_product_id, line.quantity)],
        tracking_numbers=[TrackingNumber("ups", "1ZBOL0001")],
        idempotency_key=f"test-bol-{order.order_id}",
    )

    assert client.add_shipment(request) == ""
    assert client.add_shipment(request) == "", "a replayed answer is the same sentence"
    [listed] = list(client.shipments(order.order_id))
    assert listed.id.isdigit() and listed.items == ((line.order_product_id, line.quantity),)
    assert listed.tracking_numbers == (TrackingNumber("ups", "1ZBOL0001"),)
