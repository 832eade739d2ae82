"""Values as people and platforms write them: country names, dates in many formats (day or month
first decided from the whole column, shown in the preview, changeable), amounts with currency
symbols and thousands separators, Excel's text markers, yes/no words.

The files are built from each platform's documented export columns (Squarespace's orders CSV,
Etsy's order items CSV, eBay's orders report, Amazon's tab-separated order report), not copied
from any real export.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from orders.addresses import country_code
from orders.files.values import (
    DAY_FIRST,
    MONTH_FIRST,
    decimal_comma_column,
    read_date,
    read_date_column,
    read_flag,
    read_number,
    strip_text_marker,
)
from orders.models import CsvImport
from tests.support.order_files import (
    confirm,
    first_shopify_row,
    lineitem,
    orders_of,
    shopify_export,
    shopify_row,
    table_file,
    upload,
)

D = Decimal


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("US", "US"), ("usa", "US"), ("U.S.A.", "US"), ("United States", "US"),
        ("United States of America", "US"), ("UK", "GB"), ("Great Britain", "GB"),
        ("United Kingdom", "GB"), ("England", "GB"), ("GBR", "GB"), ("Deutschland", "DE"),
        ("Allemagne", "DE"), ("Alemania", "DE"), ("Germania", "DE"), ("Duitsland", "DE"),
        ("Österreich", "AT"), ("Schweiz", "CH"), ("Suisse", "CH"), ("España", "ES"),
        ("Nederland", "NL"), ("The Netherlands", "NL"), ("Holland", "NL"), ("België", "BE"),
        ("Royaume-Uni", "GB"), ("Polska", "PL"), ("Sverige", "SE"), ("Česko", "CZ"),
        ("Czech Republic", "CZ"), ("Cote d'Ivoire", "CI"), ("South Korea", "KR"),
        ("Russia", "RU"), ("Türkiye", "TR"), ("Turkey", "TR"), ("Viet Nam", "VN"),
        ("XX", None), ("Atlantis", None), ("", None),
    ],
)  # fmt: skip
def test_countries_are_read_by_code_name_and_common_variant(written, code):
    assert country_code(written) == code


@pytest.mark.parametrize(
    ("written", "day_first", "read"),
    [
        ("2025-03-01", False, datetime(2025, 3, 1)),
        ("2025-03-01 14:30:00 -0500", False, datetime(2025, 3, 1, 19, 30, tzinfo=UTC)),
        ("2025-03-01T14:30:00Z", False, datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
        ("2025-03-01 14:30:00 UTC", False, datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
        ("Sat, 01 Mar 2025 14:30:00 +0000", False, datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
        ("06/22/23", False, datetime(2023, 6, 22)),
        ("3/2/2025 2:30 PM", False, datetime(2025, 3, 2, 14, 30)),
        ("3/2/2025 2:30 PM", True, datetime(2025, 2, 3, 14, 30)),
        ("12/31/2025 11:59:59 PM", False, datetime(2025, 12, 31, 23, 59, 59)),
        ("31.03.2025", True, datetime(2025, 3, 31)),
        ("31.03.2025 09:05", True, datetime(2025, 3, 31, 9, 5)),
        ("31-03-25", True, datetime(2025, 3, 31)),
        ("2025/03/31", False, datetime(2025, 3, 31)),
        ("Mar 1, 2025", False, datetime(2025, 3, 1)),
        ("March 1, 2025 at 2:30 PM", False, datetime(2025, 3, 1, 14, 30)),
        ("Mar 1, 2025, 2:30 PM", False, datetime(2025, 3, 1, 14, 30)),
        ("1 Mar 2025", True, datetime(2025, 3, 1)),
        ("01-Mar-2025", False, datetime(2025, 3, 1)),
        ("Mar-01-25", False, datetime(2025, 3, 1)),
        ("1. März 2025", True, datetime(2025, 3, 1)),
        ("12 déc. 2024", True, datetime(2024, 12, 12)),
    ],
)
def test_dates_are_read_as_spreadsheets_and_platforms_write_them(written, day_first, read):
    found = read_date(written, day_first=day_first)
    assert found is not None
    if read.tzinfo:
        assert found.astimezone(UTC) == read
    else:
        assert found == read


@pytest.mark.parametrize("written", ["yesterday", "13/13/2025", "31/02/2025", "2025", "1/2"])
def test_what_is_no_date_is_not_read_as_one(written):
    assert read_date(written) is None and read_date(written, day_first=True) is None


def test_day_or_month_first_is_decided_by_the_whole_column():
    us = read_date_column(["03/04/2025", "12/25/2025", "01/02/2025"])
    eu = read_date_column(["03/04/2025", "25/12/2025"])
    undecided_slashes = read_date_column(["03/04/2025", "01/02/2025"])
    undecided_dots = read_date_column(["03.04.2025"])
    mixed = read_date_column(["25/12/2025", "26/12/2025", "12/27/2025"])
    chosen = read_date_column(["12/25/2025"], DAY_FIRST)

    assert (us.order, us.month_first, us.either) == (MONTH_FIRST, 1, 2)
    assert (eu.order, eu.day_first) == (DAY_FIRST, 1)
    assert undecided_slashes.order == MONTH_FIRST and undecided_dots.order == DAY_FIRST
    assert "no date in the column tells" in undecided_slashes.describe()
    assert mixed.order == DAY_FIRST and "mixes" in mixed.describe()
    assert chosen.order == DAY_FIRST and chosen.describe().endswith("as chosen.")
    assert "2025-03-04" not in us.describe()


@pytest.mark.parametrize(
    ("written", "decimal_comma", "read"),
    [
        ("12.50", False, D("12.50")), ("$1,234.50", False, D("1234.50")),
        ("USD 12.50", False, D("12.50")), ("12.50 USD", False, D("12.50")),
        ("£0.99", False, D("0.99")), ("1,234", False, D("1234")),
        ("12,50", True, D("12.50")), ("1.234,50 €", True, D("1234.50")),
        ("1 234,50", True, D("1234.50")), ("€12,50", True, D("12.50")),
        ("CHF 1'234.50", False, D("1234.50")), ("1.234,50", False, D("1234.50")),
        ("(12.50)", False, D("-12.50")), ("-3", False, D("-3")),
        ("abc", False, None), ("12abc", False, None), ("12,5", False, None),
        ("12.3.4", False, None),
    ],
)  # fmt: skip
def test_amounts_are_read_with_currency_symbols_and_thousands_separators(
    written, decimal_comma, read
):
    assert read_number(written, decimal_comma=decimal_comma) == read


def test_the_decimal_separator_is_decided_by_the_whole_column():
    assert decimal_comma_column(["12,50", "1.234,00", "3"]) is True
    assert decimal_comma_column(["12.50", "1,234"]) is False
    assert decimal_comma_column(["1,234", "12,50"]) is True
    assert decimal_comma_column(["12,50", "12.50"]) is False


def test_excel_text_markers_and_yes_no_words():
    assert [strip_text_marker(t) for t in ("'02134", '="02134"', "'+1 555", "02134")] == [
        "02134", "02134", "+1 555", "02134",
    ]  # fmt: skip
    assert [read_flag(t) for t in ("TRUE", "yes", "1", "x", "", "FALSE", "no", "0")] == [
        True, True, True, True, None, False, False, False,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="neither yes nor no"):
        read_flag("maybe")


# Whole files, as the platforms document their exports


def post_columns(preview, columns: dict[str, str]) -> dict[str, int]:
    """Field path → position, for the headers named."""
    header = [text for _, text in preview.context["header"]]
    return {path: header.index(text) for path, text in columns.items()}


SQUARESPACE_HEADER = [
    "Order ID", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Currency", "Subtotal", "Shipping", "Taxes", "Amount Refunded", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem sku", "Lineitem variant", "Lineitem requires shipping",
    "Lineitem weight", "Lineitem type", "Billing Name", "Billing Address1", "Billing Address2",
    "Billing City", "Billing Zip", "Billing Province", "Billing Country", "Billing Phone",
    "Shipping Name", "Shipping Address1", "Shipping Address2", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Cancelled at", "Private Notes",
    "Channel", "Channel Type", "Channel Name", "Payment Method", "Payment Reference",
]  # fmt: skip


def squarespace_row(**cells: str) -> list[str]:
    return [cells.get(name, "") for name in SQUARESPACE_HEADER]


def test_a_squarespace_export_with_country_names_imports(acme_admin):
    order = {
        "Order ID": "00123", "Email": "ann@example.com", "Financial Status": "PAID",
        "Fulfillment Status": "PENDING", "Currency": "USD", "Subtotal": "39.00",
        "Shipping": "5.00", "Taxes": "0.00", "Total": "44.00",
        "Created at": "2025-03-01 14:30:00 -0500", "Shipping Name": "Ann Lee",
        "Shipping Address1": "1 Main St", "Shipping City": "Boston", "Shipping Zip": "02134",
        "Shipping Province": "MA", "Shipping Country": "United States", "Channel": "Online Store",
        "Lineitem requires shipping": "true",
    }  # fmt: skip
    rows = [
        squarespace_row(**order, **{"Lineitem quantity": "1", "Lineitem name": "Mug",
                                    "Lineitem price": "15.00", "Lineitem sku": "SQ-MUG"}),
        squarespace_row(**{"Order ID": "00123", "Lineitem quantity": "2", "Lineitem name": "Cup",
                           "Lineitem price": "12.00", "Lineitem sku": "SQ-CUP",
                           "Lineitem requires shipping": "true"}),
    ]  # fmt: skip
    preview = upload(acme_admin, table_file([SQUARESPACE_HEADER, *rows], "squarespace.csv"))

    assert preview.context["inspection"].counts_text() == "1 order, 1 new."
    response = confirm(acme_admin, preview)

    assert response.status_code == 302, response.context and response.context["errors"]
    (imported,) = orders_of("acme")
    assert (imported.order_number, imported.ship_to["country"]) == ("00123", "US")
    assert imported.ship_to["postal_code"] == "02134"
    assert [(line.sku, line.quantity) for line in imported.lines.all()] == [
        ("SQ-MUG", D(1)), ("SQ-CUP", D(2)),
    ]  # fmt: skip
    assert imported.total == D("44.00")


ETSY_ITEMS_HEADER = [
    "Sale Date", "Item Name", "Buyer", "Quantity", "Price", "Coupon Code", "Coupon Details",
    "Discount Amount", "Shipping Discount", "Order Shipping", "Order Sales Tax", "Item Total",
    "Currency", "Transaction ID", "Listing ID", "Date Paid", "Date Shipped", "Ship Name",
    "Ship Address1", "Ship Address2", "Ship City", "Ship State", "Ship Zipcode", "Ship Country",
    "Order ID", "Variations", "Order Type", "Listings Type", "Payment Type",
    "InPerson Discount", "InPerson Location", "VAT Paid by Buyer", "SKU",
]  # fmt: skip


def etsy_item(order: str, sold: str, sku: str, quantity: str, price: str, **more: str):
    cells = {
        "Sale Date": sold, "Item Name": f"Print {sku}", "Buyer": "annlee", "Quantity": quantity,
        "Price": price, "Currency": "USD", "Ship Name": "Ann Lee",
        "Ship Address1": "1 Main St", "Ship City": "Austin", "Ship State": "TX",
        "Ship Zipcode": "78701", "Ship Country": "United States", "Order ID": order,
        "Order Type": "online", "SKU": sku, **more,
    }  # fmt: skip
    return [cells.get(name, "") for name in ETSY_ITEMS_HEADER]


def test_an_etsy_order_items_file_with_us_dates_and_no_email_imports(acme_admin):
    rows = [
        etsy_item("3001", "06/22/23", "PRINT-A4", "1", "20.00"),
        etsy_item("3001", "06/22/23", "PRINT-A3", "2", "30.00"),
        etsy_item("3002", "06/05/23", "PRINT-A4", "1", "20.00", **{"Ship Name": "Bo Ek"}),
    ]
    preview = upload(acme_admin, table_file([ETSY_ITEMS_HEADER, *rows], "EtsySoldOrderItems.csv"))

    inspection = preview.context["inspection"]
    assert inspection.dates.order == MONTH_FIRST and inspection.dates.month_first == 1
    assert inspection.without_email == 2
    page = preview.content.decode()
    assert "read month first (12/31/2025): 1 date(s) in the column can only be read so." in page
    assert "2 orders without an e-mail: imported; the ERP customer is" in page
    response = confirm(acme_admin, preview)

    assert response.status_code == 302, response.context and response.context["errors"]
    first, second = orders_of("acme")
    assert first.ordered_at == datetime(2023, 6, 22, tzinfo=UTC)
    assert (first.customer_email, first.ship_to["country"]) == ("", "US")
    assert [line.sku for line in first.lines.all()] == ["PRINT-A4", "PRINT-A3"]
    # without an e-mail each buyer is told apart by name and postcode, for the ERP customer
    assert first.store_customer_id.startswith("file-buyer:")
    assert first.store_customer_id != second.store_customer_id


EBAY_HEADER = [
    "Sales Record Number", "Order Number", "Buyer Username", "Buyer Name", "Buyer Email",
    "Buyer Note", "Buyer Address 1", "Buyer Address 2", "Buyer City", "Buyer State",
    "Buyer Zip", "Buyer Country", "Ship To Name", "Ship To Phone", "Ship To Address 1",
    "Ship To Address 2", "Ship To City", "Ship To State", "Ship To Zip", "Ship To Country",
    "Item Number", "Item Title", "Custom Label", "Quantity", "Sold For",
    "Shipping And Handling", "Total Price", "Payment Method", "Sale Date", "Paid On Date",
    "Shipped On Date", "Tracking Number", "Transaction ID",
]  # fmt: skip


def test_an_ebay_orders_report_with_dollar_amounts_and_month_names_imports(acme_admin):
    def row(**cells: str) -> list[str]:
        base = {
            "Sales Record Number": "101", "Order Number": "12-34567-89012",
            "Buyer Username": "ann1", "Buyer Name": "Ann Lee", "Ship To Name": "Ann Lee",
            "Ship To Address 1": "1 Main St",
            "Ship To City": "Austin", "Ship To State": "TX", "Ship To Zip": "78701",
            "Ship To Country": "United States", "Item Title": "Lamp", "Custom Label": "LAMP-1",
            "Quantity": "1", "Sold For": "$1,234.50", "Shipping And Handling": "$10.00",
            "Total Price": "$1,244.50", "Sale Date": "Mar-01-25",
        }  # fmt: skip
        return [{**base, **cells}.get(name, "") for name in EBAY_HEADER]

    preview = upload(acme_admin, table_file([EBAY_HEADER, row()], "eBay-OrdersReport.csv"))
    response = confirm(
        acme_admin,
        preview,
        columns=post_columns(
            preview,
            {"lines.sku": "Custom Label", "lines.unit_price": "Sold For", "total": "Total Price",
             "shipping": "Shipping And Handling", "ordered_at": "Sale Date",
             "lines.name": "Item Title"},
        ),
    )  # fmt: skip

    assert response.status_code == 302, response.context and response.context["errors"]
    (order,) = orders_of("acme")
    assert order.ordered_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert order.lines.get().unit_price == D("1234.50")
    assert (order.total, order.shipping_amount) == (D("1244.50"), D("10.00"))
    assert order.ship_to["country"] == "US"


AMAZON_HEADER = [
    "order-id", "order-item-id", "purchase-date", "payments-date", "buyer-email", "buyer-name",
    "buyer-phone-number", "sku", "product-name", "quantity-purchased", "currency",
    "item-price", "item-tax", "shipping-price", "shipping-tax", "ship-service-level",
    "recipient-name", "ship-address-1", "ship-address-2", "ship-address-3", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "ship-phone-number",
]  # fmt: skip


def test_an_amazon_tab_separated_report_imports(acme_admin):
    cells = {
        "order-id": "114-1234567-1234567", "order-item-id": "1", "purchase-date":
        "2025-03-01T14:30:00+00:00", "sku": "'00123", "product-name": "Widget",
        "quantity-purchased": "1", "currency": "USD", "item-price": "9.99",
        "recipient-name": "Ann Lee", "ship-address-1": "1 Main St", "ship-city": "Austin",
        "ship-state": "TX", "ship-postal-code": "78701-1234", "ship-country": "US",
    }  # fmt: skip
    text = "\t".join(AMAZON_HEADER) + "\n" + "\t".join(cells.get(h, "") for h in AMAZON_HEADER)
    preview = upload(acme_admin, SimpleUploadedFile("amazon.txt", text.encode()))
    response = confirm(
        acme_admin,
        preview,
        columns=post_columns(
            preview,
            {"ordered_at": "purchase-date", "lines.unit_price": "item-price",
             "ship_to.street1": "ship-address-1", "ship_to.city": "ship-city",
             "ship_to.state": "ship-state", "ship_to.postal_code": "ship-postal-code",
             "ship_to.country": "ship-country"},
        ),
    )  # fmt: skip

    assert response.status_code == 302, response.context and response.context["errors"]
    (order,) = orders_of("acme")
    assert order.customer_email == ""  # Amazon's reports often carry none
    assert order.lines.get().sku == "00123"  # Excel's apostrophe dropped
    assert order.ordered_at == datetime(2025, 3, 1, 14, 30, tzinfo=UTC)


def test_a_european_file_with_names_dots_and_decimal_commas_imports(acme_admin):
    header = "Bestellnummer;Datum;E-Mail;Name;Straße;Ort;PLZ;Land;Artikel;Menge;Preis;Summe"
    rows = [
        '1001;31.03.2025;ann@example.de;Anna Berg;Hauptstr. 1;Köln;="01234";Deutschland;'
        "ART-1;2;1.234,50 €;2.469,00 €",
        "1002;01.04.2025;bo@example.at;Bo Ek;Ring 2;Wien;1010;Österreich;ART-2;1;12,50 €;12,50 €",
    ]
    text = "\r\n".join([header, *rows]) + "\r\n"
    preview = upload(acme_admin, SimpleUploadedFile("bestellungen.csv", text.encode()))
    response = confirm(
        acme_admin,
        preview,
        columns={"order_number": 0, "ordered_at": 1, "email": 2, "ship_to.name": 3,
                 "ship_to.street1": 4, "ship_to.city": 5, "ship_to.postal_code": 6,
                 "ship_to.country": 7, "lines.sku": 8, "lines.quantity": 9,
                 "lines.unit_price": 10, "total": 11},
    )  # fmt: skip

    assert response.status_code == 302, response.context and response.context["errors"]
    first, second = orders_of("acme")
    assert first.ordered_at == datetime(2025, 3, 31, tzinfo=UTC)
    assert (first.ship_to["country"], first.ship_to["postal_code"]) == ("DE", "01234")
    assert first.lines.get().unit_price == D("1234.50") and first.total == D("2469.00")
    assert (second.ship_to["country"], second.lines.get().unit_price) == ("AT", D("12.50"))


def test_shopifys_apostrophe_postcodes_and_phones_are_stored_without_it(acme_admin):
    file = shopify_export(
        first_shopify_row(
            "#1001",
            **lineitem("#1001", "'0042", "1", "9.99"),
            **{"Shipping Zip": "'19060", "Shipping Phone": "'+1 610 555 0100",
               "Shipping Country": "US"},
        ),
        shopify_row(**lineitem("#1001", '="0043"', "1", "1.00")),
    )  # fmt: skip

    response = confirm(acme_admin, upload(acme_admin, file))

    assert response.status_code == 302, response.context and response.context["errors"]
    (order,) = orders_of("acme")
    assert (order.ship_to["postal_code"], order.ship_to["phone"]) == ("19060", "+1 610 555 0100")
    assert [line.sku for line in order.lines.all()] == ["0042", "0043"]


def day_first_file(*dates: str):
    header = "Order Number,Order Date,Email,Recipient Name,Address 1,City,Postal Code,Country,"
    header += "SKU,Quantity,Unit Price"
    rows = [
        [f"D-{n}", date, "a@ex.com", "Ann", "1 High St", "Leeds", "LS1 1AA", "UK", "W-1", "1", "5"]
        for n, date in enumerate(dates, start=1)
    ]
    return table_file([header.split(","), *rows], "uk.csv")


def test_the_preview_says_how_dates_are_read_and_the_person_may_change_it(acme_admin):
    preview = upload(acme_admin, day_first_file("03/04/2025", "13/04/2025"))

    dates = preview.context["inspection"].dates
    assert (dates.order, dates.day_first) == (DAY_FIRST, 1)
    assert (
        "Dates are read day first (31/12/2025): 1 date(s) in the column can only be read so."
        in (preview.content.decode())
    )
    month_first = confirm(acme_admin, preview, date_order=MONTH_FIRST, all_or_nothing="on")

    assert month_first.status_code == 200
    assert month_first.context["errors"] == [
        "row 3, column Order Date: '13/04/2025' is not a date when read month first "
        "(12/31/2025), as the rest of the column is; correct it, or choose how dates are read."
    ]
    response = confirm(acme_admin, month_first, date_order="")

    assert response.status_code == 302
    assert [o.ordered_at.date().isoformat() for o in orders_of("acme")] == [
        "2025-04-03", "2025-04-13",
    ]  # fmt: skip
    with schema_context("acme"):
        assert CsvImport.objects.get().date_order == ""
