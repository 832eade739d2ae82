"""Platforms' order exports recognised by their headers: each layout's marking headers pick it
and no other, and its built-in mapping places the order's key fields."""

from __future__ import annotations

from decimal import Decimal
from itertools import permutations

import pytest
from django_tenants.utils import schema_context

from orders.files import layouts
from orders.files.joining import NOT_A_PAIR
from orders.files.mapping import HUB_TEMPLATE, KNOWN_EXPORTS, normalize_header, recognise, suggest
from tests.support.order_files import (
    AMAZON_HEADER,
    BIGCOMMERCE_HEADER,
    EBAY_HEADER,
    ETSY_JOINED_HEADER,
    ETSY_ORDER_ITEMS_HEADER,
    ETSY_ORDERS_HEADER,
    MAGENTO_HEADER,
    PRESTASHOP_HEADER,
    SHOPIFY_HEADER,
    SQUARE_HEADER,
    SQUARESPACE_HEADER,
    UPLOAD,
    WIX_HEADER,
    WOOCOMMERCE_HEADER,
    confirm,
    orders_of,
    row_of,
    table_file,
    tsv_file,
    upload,
)

SHIPSTATION_HEADER = [
    "Order - Number", "Date - Order Date", "Order - Status", "Customer - Email", "Ship To - Name",
    "Ship To - Company", "Ship To - Address 1", "Ship To - Address 2", "Ship To - City",
    "Ship To - State", "Ship To - Postal Code", "Ship To - Country", "Ship To - Phone",
    "Item - SKU", "Item - Name", "Item - Qty", "Item - Price", "Amount - Order Total",
    "Amount - Order Shipping", "Amount - Order Tax",
]  # fmt: skip
DOCUMENTED_HEADERS = {
    "Shopify orders export": SHOPIFY_HEADER,
    "ShipStation order export": SHIPSTATION_HEADER,
    layouts.WOOCOMMERCE.name: WOOCOMMERCE_HEADER,
    layouts.BIGCOMMERCE.name: BIGCOMMERCE_HEADER,
    layouts.MAGENTO.name: MAGENTO_HEADER,
    layouts.PRESTASHOP.name: PRESTASHOP_HEADER,
    layouts.ETSY_ORDERS.name: ETSY_ORDERS_HEADER,
    layouts.ETSY_ORDER_ITEMS.name: ETSY_ORDER_ITEMS_HEADER,
    layouts.ETSY_JOINED.name: ETSY_JOINED_HEADER,
    layouts.AMAZON.name: AMAZON_HEADER,
    layouts.EBAY.name: EBAY_HEADER,
    layouts.SQUARESPACE.name: SQUARESPACE_HEADER,
    layouts.WIX.name: WIX_HEADER,
    layouts.SQUARE.name: SQUARE_HEADER,
    HUB_TEMPLATE.name: list(HUB_TEMPLATE.columns.values()),
}


def headers_of(export) -> set[str]:
    """Every header the export is known to write, normalised."""
    known = [*export.columns.values(), *export.recognised_by, *DOCUMENTED_HEADERS[export.name]]
    return {normalize_header(text) for text in known}


def test_every_known_export_has_its_documented_headers_and_maps_only_them():
    assert set(DOCUMENTED_HEADERS) == {export.name for export in KNOWN_EXPORTS}
    for export in KNOWN_EXPORTS:
        documented = {normalize_header(text) for text in DOCUMENTED_HEADERS[export.name]}
        used = [*export.columns.values(), *export.recognised_by]
        assert {normalize_header(text) for text in used} <= documented, export.name


@pytest.mark.parametrize(
    ("one", "other"),
    list(permutations(KNOWN_EXPORTS, 2)),
    ids=lambda export: export.name,
)
def test_no_two_layouts_are_both_recognised_in_one_file(one, other):
    if one.name in other.joins:  # a joined file holds both of its files' headers
        assert KNOWN_EXPORTS.index(other) < KNOWN_EXPORTS.index(one)
        return
    marks = {normalize_header(text) for text in one.recognised_by}
    assert not marks <= headers_of(other), f"{one.name}'s marks are all in {other.name}"


# One multi-line order in each platform's export: (layout, header, the order's cells, each
# line's cells, what the suggested mapping reads from the rows: a list per row for line fields).

CASES = [
    (
        layouts.WOOCOMMERCE, WOOCOMMERCE_HEADER,
        {"order_id": "812", "order_number": "812", "order_date": "2025-03-01 14:30:00",
         "status": "processing", "billing_email": "ann@example.com", "order_currency": "USD",
         "shipping_full_name": "Ann Lee", "shipping_address_1": "2 Elm St",
         "shipping_city": "Reno", "shipping_state": "NV", "shipping_postcode": "89501",
         "shipping_country": "US", "order_total": "34.00", "shipping_total": "5.00",
         "tax_total": "0.00", "discount_total": "0.00"},
        [{"item_sku": "WIDGET-1", "item_name": "Widget", "item_quantity": "2",
          "item_price": "9.50"},
         {"item_sku": "GADGET-7", "item_name": "Gadget", "item_quantity": "1",
          "item_price": "10.00"}],
        {"order_number": "812", "email": "ann@example.com", "ship_to.name": "Ann Lee",
         "ship_to.postal_code": "89501", "store_status": "processing", "total": "34.00",
         "lines.sku": ["WIDGET-1", "GADGET-7"], "lines.quantity": ["2", "1"],
         "lines.unit_price": ["9.50", "10.00"]},
    ),
    (
        layouts.BIGCOMMERCE, BIGCOMMERCE_HEADER,
        {"Order ID": "100", "Customer Name": "Bo Ek", "Customer Email": "bo@example.com",
         "Order Date": "2025-03-02", "Order Status": "Awaiting Fulfillment",
         "Order Currency Code": "USD", "Shipping Street 1": "3 Oak St",
         "Shipping Suburb": "Austin", "Shipping State": "Texas", "Shipping Zip": "73301",
         "Shipping Country": "United States", "Order Total (inc tax)": "30.00",
         "Shipping Cost (inc tax)": "5.00", "Tax Total": "0.00"},
        [{"Product SKU": "A-1", "Product Name": "A", "Product Qty": "1",
          "Product Unit Price": "15.00"},
         {"Product SKU": "B-2", "Product Name": "B", "Product Qty": "2",
          "Product Unit Price": "5.00"}],
        {"order_number": "100", "email": "bo@example.com", "ship_to.name": "Bo Ek",
         "ship_to.city": "Austin", "currency": "USD", "total": "30.00",
         "lines.sku": ["A-1", "B-2"], "lines.quantity": ["1", "2"],
         "lines.unit_price": ["15.00", "5.00"]},
    ),
    (
        layouts.MAGENTO, MAGENTO_HEADER,
        {"ID": "000000012", "Purchase Point": "Main Website", "Purchase Date":
         "Mar 3, 2025 9:15:00 AM", "Bill-to Name": "Cy Do", "Ship-to Name": "Cy Do",
         "Grand Total (Purchased)": "$42.00", "Status": "pending",
         "Customer Email": "cy@example.com", "Shipping and Handling": "$5.00"},
        [{}, {}],  # the grid has one row per order; two orders here
        {"order_number": "000000012", "email": "cy@example.com", "ship_to.name": "Cy Do",
         "store_status": "pending", "total": "$42.00", "shipping": "$5.00"},
    ),
    (
        layouts.PRESTASHOP, PRESTASHOP_HEADER,
        {"ID": "7", "Reference": "XKBKNABJK", "New client": "Yes", "Delivery": "France",
         "Customer": "D. Po", "Total": "€61.80", "Payment": "Bank wire",
         "Status": "Awaiting bank wire payment", "Date": "03/04/2025 10:00:00"},
        [{}, {}],
        {"order_number": "XKBKNABJK", "ship_to.name": "D. Po", "ship_to.country": "France",
         "total": "€61.80", "store_status": "Awaiting bank wire payment"},
    ),
    (
        layouts.ETSY_ORDERS, ETSY_ORDERS_HEADER,
        {"Sale Date": "03/05/25", "Order ID": "3012345678", "Full Name": "Eve Fox",
         "Number of Items": "3", "Street 1": "4 Pine Rd", "Ship City": "Leeds",
         "Ship Zipcode": "LS1 4AP", "Ship Country": "United Kingdom", "Currency": "GBP",
         "Order Value": "30.00", "Shipping": "4.00", "Sales Tax": "0.00",
         "Order Total": "34.00", "SKU": "MUG-1,MUG-2"},
        [{}, {}],
        {"order_number": "3012345678", "ship_to.name": "Eve Fox",
         "ship_to.postal_code": "LS1 4AP", "currency": "GBP", "total": "34.00"},
    ),
    (
        layouts.ETSY_ORDER_ITEMS, ETSY_ORDER_ITEMS_HEADER,
        {"Sale Date": "03/05/25", "Order ID": "3012345678", "Currency": "GBP",
         "Order Shipping": "4.00", "Order Sales Tax": "0.00", "Ship Name": "Eve Fox",
         "Ship Address1": "4 Pine Rd", "Ship City": "Leeds", "Ship Zipcode": "LS1 4AP",
         "Ship Country": "United Kingdom"},
        [{"Item Name": "Mug", "Quantity": "2", "Price": "10.00", "Transaction ID": "1",
          "Listing ID": "11", "SKU": "MUG-1"},
         {"Item Name": "Big mug", "Quantity": "1", "Price": "10.00", "Transaction ID": "2",
          "Listing ID": "12", "SKU": "MUG-2"}],
        {"order_number": "3012345678", "ship_to.name": "Eve Fox", "shipping": "4.00",
         "lines.sku": ["MUG-1", "MUG-2"], "lines.name": ["Mug", "Big mug"],
         "lines.quantity": ["2", "1"], "lines.unit_price": ["10.00", "10.00"]},
    ),
    (
        layouts.AMAZON, AMAZON_HEADER,
        {"order-id": "112-1234567-1234567", "purchase-date": "2025-03-06T10:00:00+00:00",
         "buyer-email": "abc@marketplace.amazon.com", "currency": "USD",
         "recipient-name": "Gil Ho", "ship-address-1": "5 Bay St", "ship-city": "Tampa",
         "ship-state": "FL", "ship-postal-code": "33601", "ship-country": "US"},
        [{"order-item-id": "1", "sku": "CASE-1", "product-name": "Case",
          "quantity-purchased": "1", "item-price": "12.00"},
         {"order-item-id": "2", "sku": "CABLE-2", "product-name": "Cable",
          "quantity-purchased": "3", "item-price": "15.00"}],
        {"order_number": "112-1234567-1234567", "email": "abc@marketplace.amazon.com",
         "ship_to.name": "Gil Ho", "ship_to.postal_code": "33601",
         "lines.sku": ["CASE-1", "CABLE-2"], "lines.quantity": ["1", "3"]},
    ),
    (
        layouts.EBAY, EBAY_HEADER,
        {"Sales Record Number": "501", "Order Number": "12-34567-89012",
         "Buyer Email": "hal@example.com", "Ship To Name": "Hal In",
         "Ship To Address 1": "6 Lake Dr", "Ship To City": "Boise", "Ship To State": "ID",
         "Ship To Zip": "83702", "Ship To Country": "United States", "Sale Date": "Mar-07-25"},
        [{"Item Title": "Lamp", "Custom Label": "LAMP-1", "Quantity": "1", "Sold For": "$20.00"},
         {"Item Title": "Bulb", "Custom Label": "BULB-4", "Quantity": "4", "Sold For": "$2.50"}],
        {"order_number": "12-34567-89012", "email": "hal@example.com", "ship_to.name": "Hal In",
         "ship_to.city": "Boise", "lines.sku": ["LAMP-1", "BULB-4"],
         "lines.quantity": ["1", "4"], "lines.unit_price": ["$20.00", "$2.50"]},
    ),
    (
        layouts.SQUARESPACE, SQUARESPACE_HEADER,
        {"Order ID": "00042", "Email": "ida@example.com", "Financial Status": "PAID",
         "Fulfillment Status": "PENDING", "Currency": "USD", "Shipping": "5.00",
         "Taxes": "0.00", "Total": "25.00", "Created at": "2025-03-08 11:00:00 -0500",
         "Shipping Name": "Ida Ju", "Shipping Address1": "7 Hill Ct", "Shipping City": "Salem",
         "Shipping Zip": "97301", "Shipping Province": "OR", "Shipping Country": "US",
         "Channel Name": "Squarespace"},
        [{"Lineitem quantity": "1", "Lineitem name": "Print", "Lineitem price": "12.00",
          "Lineitem sku": "SQ-PRINT", "Lineitem requires shipping": "true"},
         {"Lineitem quantity": "1", "Lineitem name": "Card", "Lineitem price": "8.00",
          "Lineitem sku": "SQ-CARD", "Lineitem requires shipping": "true"}],
        {"order_number": "00042", "email": "ida@example.com", "ship_to.name": "Ida Ju",
         "financial_status": "PAID", "fulfillment_status": "PENDING", "total": "25.00",
         "lines.sku": ["SQ-PRINT", "SQ-CARD"], "lines.requires_shipping": ["true", "true"]},
    ),
    (
        layouts.WIX, WIX_HEADER,
        {"Order #": "10005", "Date": "Mar 9, 2025", "Delivery Customer": "Jo Ka",
         "Delivery Country": "US", "Delivery State": "WA", "Delivery City": "Tacoma",
         "Delivery Street Name&Number": "8 Bay Ave", "Delivery Zip Code": "98402",
         "Buyer's Email": "jo@example.com", "Shipping Rate": "4.00", "Total Tax": "0.00",
         "Total": "24.00", "Currency": "USD", "Payment Status": "Paid",
         "Fulfillment Status": "Not Fulfilled"},
        [{"Item's Name": "Soap", "SKU": "SOAP-1", "Qty": "2", "Item's Price": "5.00"},
         {"Item's Name": "Candle", "SKU": "CANDLE-1", "Qty": "1", "Item's Price": "10.00"}],
        {"order_number": "10005", "email": "jo@example.com", "ship_to.name": "Jo Ka",
         "ship_to.street1": "8 Bay Ave", "financial_status": "Paid", "total": "24.00",
         "lines.sku": ["SOAP-1", "CANDLE-1"], "lines.quantity": ["2", "1"],
         "lines.unit_price": ["5.00", "10.00"]},
    ),
    (
        layouts.SQUARE, SQUARE_HEADER,
        {"Order": "KX9Q2", "Order Name": "Online order", "Order Date": "2025-03-10",
         "Currency": "USD", "Order Shipping Price": "3.00", "Order Tax Total": "1.00",
         "Order Total": "19.00", "Fulfillment Status": "Proposed", "Recipient Name": "Kim Lo",
         "Recipient Email": "kim@example.com", "Recipient Address": "9 Main St",
         "Recipient Postal Code": "10001", "Recipient City": "New York",
         "Recipient Region": "NY", "Recipient Country": "US"},
        [{"Item Quantity": "1", "Item Name": "Tea", "Item SKU": "TEA-1", "Item Price": "9.00"},
         {"Item Quantity": "2", "Item Name": "Cup", "Item SKU": "CUP-1", "Item Price": "3.00"}],
        {"order_number": "KX9Q2", "email": "kim@example.com", "ship_to.name": "Kim Lo",
         "ship_to.postal_code": "10001", "fulfillment_status": "Proposed", "total": "19.00",
         "lines.sku": ["TEA-1", "CUP-1"], "lines.quantity": ["1", "2"],
         "lines.unit_price": ["9.00", "3.00"]},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("export", "header", "order", "lines", "expected"),
    CASES,
    ids=[case[0].name for case in CASES],
)
def test_a_platform_export_is_recognised_and_its_key_fields_mapped(
    acme, export, header, order, lines, expected
):
    rows = [row_of(header, **{**order, **line}) for line in lines]

    assert recognise(header) is export
    with schema_context("acme"):
        suggestion = suggest(header)

    assert suggestion.source == export.name
    read = {
        path: [row[index] for row in rows] if path.startswith("lines.") else rows[0][index]
        for path, index in suggestion.mapping.items()
    }
    assert {path: read.get(path) for path in expected} == expected
    assert set(suggestion.mapping) == set(export.columns)


def test_an_amazon_order_report_imports_with_unit_prices_from_its_item_prices(acme_admin):
    order = {
        "order-id": "112-7654321-7654321", "purchase-date": "2025-03-06T10:00:00+00:00",
        "buyer-email": "xyz@marketplace.amazon.com", "currency": "USD",
        "recipient-name": "Gil Ho", "ship-address-1": "5 Bay St", "ship-city": "Tampa",
        "ship-state": "FL", "ship-postal-code": "33601", "ship-country": "US",
        "ship-phone-number": "+1 813 555 0100",
    }  # fmt: skip
    # item-price is the line's price times its quantity
    rows = [
        row_of(AMAZON_HEADER, **order, **{"order-item-id": "1", "sku": "CASE-1",
               "product-name": "Case", "quantity-purchased": "1", "item-price": "12.00"}),
        row_of(AMAZON_HEADER, **order, **{"order-item-id": "2", "sku": "CABLE-2",
               "product-name": "Cable", "quantity-purchased": "3", "item-price": "15.00"}),
        row_of(AMAZON_HEADER, **order, **{"order-item-id": "3", "sku": "PLUG-3",
               "product-name": "Plug", "quantity-purchased": "3", "item-price": "10.00"}),
    ]  # fmt: skip

    preview = upload(acme_admin, tsv_file([AMAZON_HEADER, *rows], "orders.txt"))

    assert preview.context["upload"].mapped_as == "Amazon order report"
    assert "lines.unit_price" not in preview.context["upload"].mapping
    assert preview.context["missing"] == []
    response = confirm(acme_admin, preview)
    assert response.status_code == 302, response.context and response.context["errors"]
    (imported,) = orders_of("acme")
    assert imported.order_number == "112-7654321-7654321"
    assert (imported.customer_email, imported.currency) == ("xyz@marketplace.amazon.com", "USD")
    assert imported.ship_to["city"] == "Tampa"
    assert imported.ship_to["phone"] == "+1 813 555 0100"
    assert [(line.sku, line.quantity, line.unit_price) for line in imported.lines.all()] == [
        ("CASE-1", Decimal("1"), Decimal("12.00")),
        ("CABLE-2", Decimal("3"), Decimal("5.00")),
        ("PLUG-3", Decimal("3"), Decimal("3.3333")),  # rounded half up to 4 decimals
    ]


def test_an_unreadable_item_price_is_named_by_its_column(acme_admin):
    order = {"order-id": "112-1", "currency": "USD", "recipient-name": "Gil Ho",
             "ship-address-1": "5 Bay St", "ship-city": "Tampa", "ship-postal-code": "33601",
             "ship-country": "US"}  # fmt: skip
    rows = [row_of(AMAZON_HEADER, **order, **{"sku": "CASE-1", "quantity-purchased": "2",
                                               "item-price": "twelve"})]  # fmt: skip

    preview = upload(acme_admin, tsv_file([AMAZON_HEADER, *rows], "orders.txt"))

    assert [str(p) for p in preview.context["inspection"].problems] == [
        "row 2, column item-price: A valid number is required."
    ]


def test_an_ebay_report_takes_the_order_totals_repeated_on_each_row_once(acme_admin):
    order = {"Sales Record Number": "501", "Order Number": "12-34567-89012",
             "Buyer Email": "hal@example.com", "Ship To Name": "Hal In",
             "Ship To Address 1": "6 Lake Dr", "Ship To City": "Boise", "Ship To State": "ID",
             "Ship To Zip": "83702", "Ship To Country": "United States", "Sale Date": "Mar-07-25",
             "Shipping And Handling": "$6.00", "Seller Collected Tax": "$1.80",
             "Total Price": "$37.80"}  # fmt: skip
    rows = [
        row_of(EBAY_HEADER, **order, **{"Item Title": "Lamp", "Custom Label": "LAMP-1",
               "Quantity": "1", "Sold For": "$20.00"}),
        row_of(EBAY_HEADER, **order, **{"Item Title": "Bulb", "Custom Label": "BULB-4",
               "Quantity": "4", "Sold For": "$2.50"}),
    ]  # fmt: skip

    preview = upload(acme_admin, table_file([EBAY_HEADER, *rows], "eBay-OrdersReport.csv"))

    assert preview.context["upload"].mapped_as == "eBay orders report"
    response = confirm(acme_admin, preview)
    assert response.status_code == 302, response.context and response.context["errors"]
    (imported,) = orders_of("acme")
    assert (imported.total, imported.shipping_amount, imported.tax_amount) == (
        Decimal("37.80"), Decimal("6.00"), Decimal("1.80"),
    )  # fmt: skip
    assert imported.subtotal == Decimal("30.00")
    assert [(line.sku, line.quantity) for line in imported.lines.all()] == [
        ("LAMP-1", Decimal("1")), ("BULB-4", Decimal("4")),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "order", "export"),
    [
        (MAGENTO_HEADER, {"ID": "000000012", "Purchase Point": "Main Website",
                          "Purchase Date": "Mar 3, 2025 9:15:00 AM", "Bill-to Name": "Cy Do",
                          "Ship-to Name": "Cy Do", "Grand Total (Purchased)": "$42.00"},
         layouts.MAGENTO),
        (PRESTASHOP_HEADER, {"ID": "7", "Reference": "XKBKNABJK", "New client": "Yes",
                             "Delivery": "France", "Customer": "D. Po", "Total": "€61.80"},
         layouts.PRESTASHOP),
    ],
    ids=["magento", "prestashop"],
)  # fmt: skip
def test_an_order_grid_export_without_lines_is_refused_naming_the_export_to_use(
    acme_admin, header, order, export
):
    preview = upload(acme_admin, table_file([header, row_of(header, **order)], "export.csv"))

    assert preview.context["upload"].mapped_as == export.name
    page = preview.content.decode()
    assert 'id="csv-without-lines"' in page
    assert "no order lines" in export.without_lines
    assert {"SKU", "Quantity", "Unit Price"} <= set(preview.context["missing"])
    refused = confirm(acme_admin, preview)
    assert refused.status_code == 200
    assert orders_of("acme") == []


def test_a_woocommerce_export_imports_with_the_built_in_mapping(acme_admin):
    _, header, order, lines, _ = CASES[0]
    rows = [row_of(header, **{**order, **line}) for line in lines]

    preview = upload(acme_admin, table_file([header, *rows], "orders-export.csv"))

    assert preview.context["upload"].mapped_as == "WooCommerce orders export"
    response = confirm(acme_admin, preview)
    assert response.status_code == 302, response.context and response.context["errors"]
    (imported,) = orders_of("acme")
    assert (imported.order_number, imported.customer_email) == ("812", "ann@example.com")
    assert imported.ship_to["name"] == "Ann Lee"
    assert imported.ship_to["postal_code"] == "89501"
    assert [(line.sku, line.quantity, line.unit_price) for line in imported.lines.all()] == [
        ("WIDGET-1", Decimal("2"), Decimal("9.50")),
        ("GADGET-7", Decimal("1"), Decimal("10.00")),
    ]
    assert (imported.total, imported.shipping_amount) == (Decimal("34.00"), Decimal("5.00"))


# Etsy's two files, uploaded together

ETSY_ORDER = {
    "Sale Date": "03/05/25",
    "Order ID": "3012345678",
    "Currency": "GBP",
    "Ship City": "Leeds",
    "Ship Zipcode": "LS1 4AP",
    "Ship Country": "United Kingdom",
}


def etsy_orders_file():
    order = row_of(
        ETSY_ORDERS_HEADER,
        **ETSY_ORDER,
        **{
            "Full Name": "Eve Fox",
            "Street 1": "4 Pine Rd",
            "Number of Items": "3",
            "Order Value": "30.00",
            "Shipping": "4.00",
            "Sales Tax": "0.00",
            "Order Total": "34.00",
            "SKU": "MUG-1,MUG-2",
        },
    )
    other = row_of(
        ETSY_ORDERS_HEADER,
        **{**ETSY_ORDER, "Order ID": "3099999999"},
        **{"Full Name": "No Items", "Street 1": "1 Way", "Order Total": "5.00"},
    )
    return table_file([ETSY_ORDERS_HEADER, order, other], "EtsySoldOrders2025-3.csv")


def etsy_items_file(*extra: list[str]):
    items = [
        row_of(
            ETSY_ORDER_ITEMS_HEADER,
            **ETSY_ORDER,
            **{
                "Item Name": "Mug",
                "Quantity": "2",
                "Price": "10.00",
                "Transaction ID": "1",
                "Listing ID": "11",
                "SKU": "MUG-1",
                "Ship Name": "Eve (gift)",
                "Ship Address1": "4 Pine Rd",
                "Order Shipping": "4.00",
            },
        ),
        row_of(
            ETSY_ORDER_ITEMS_HEADER,
            **ETSY_ORDER,
            **{
                "Item Name": "Big mug",
                "Quantity": "1",
                "Price": "10.00",
                "Transaction ID": "2",
                "Listing ID": "12",
                "SKU": "MUG-2",
                "Ship Name": "Eve (gift)",
                "Ship Address1": "4 Pine Rd",
                "Order Shipping": "4.00",
            },
        ),
        *extra,
    ]
    return table_file([ETSY_ORDER_ITEMS_HEADER, *items], "EtsySoldOrderItems2025-3.csv")


@pytest.mark.parametrize("items_first", [True, False], ids=["items-first", "orders-first"])
def test_etsy_orders_and_items_files_are_joined_on_order_id(acme_admin, items_first):
    files = [etsy_items_file(), etsy_orders_file()]
    first, second = files if items_first else files[::-1]

    response = acme_admin.post(UPLOAD, {"file": first, "second_file": second})

    assert response.status_code == 302, response.context and response.context["errors"]
    preview = acme_admin.get(response.headers["Location"])
    kept = preview.context["upload"]
    assert kept.mapped_as == layouts.ETSY_JOINED.name
    assert kept.rows == 2  # the items file's rows: the order without items has no lines
    assert "EtsySoldOrderItems2025-3.csv" in kept.file_name
    assert "EtsySoldOrders2025-3.csv" in kept.file_name
    imported = confirm(acme_admin, preview)
    assert imported.status_code == 302, imported.context and imported.context["errors"]
    (order,) = orders_of("acme")
    assert order.order_number == "3012345678"
    assert order.ship_to["name"] == "Eve Fox"  # the orders file's buyer, not the items' Ship Name
    assert (order.ship_to["street1"], order.ship_to["country"]) == ("4 Pine Rd", "GB")
    assert (order.total, order.shipping_amount, order.currency) == (
        Decimal("34.00"), Decimal("4.00"), "GBP",
    )  # fmt: skip
    assert [
        (line.sku, line.name, line.quantity, line.unit_price) for line in order.lines.all()
    ] == [
        ("MUG-1", "Mug", Decimal("2"), Decimal("10.00")),
        ("MUG-2", "Big mug", Decimal("1"), Decimal("10.00")),
    ]


def test_an_etsy_orders_file_alone_says_to_upload_the_items_file_with_it(acme_admin):
    preview = upload(acme_admin, etsy_orders_file())

    assert preview.context["upload"].mapped_as == layouts.ETSY_ORDERS.name
    page = preview.content.decode()
    assert 'id="csv-without-lines"' in page
    assert "Upload it together with EtsySoldOrderItems" in page


def test_two_files_that_are_not_etsy_s_pair_are_refused(acme_admin):
    woocommerce = table_file([WOOCOMMERCE_HEADER], "orders.csv")

    response = acme_admin.post(UPLOAD, {"file": etsy_items_file(), "second_file": woocommerce})

    assert response.status_code == 200
    assert response.context["errors"] == [NOT_A_PAIR]
    assert orders_of("acme") == []
