"""Files as people bring them: store exports recognised by their headers, mappings saved per
tenant and offered again, order-level columns given only on an order's first row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from orders.models import CsvImport, CsvMapping
from tests.support.order_files import (
    UPLOAD,
    confirm,
    csv_file,
    first_shopify_row,
    lineitem,
    orders_of,
    shopify_export,
    shopify_row,
    table_file,
    upload,
)


def test_a_shopify_export_with_multi_line_orders_imports_with_the_built_in_mapping(acme_admin):
    file = shopify_export(
        first_shopify_row("#1001", **lineitem("#1001", "WIDGET-1", "2", "9.99")),
        shopify_row(**lineitem("#1001", "GADGET-7", "1", "24.50")),
        first_shopify_row(
            "#1002",
            **{
                **lineitem("#1002", "WIDGET-1", "3", "9.99"),
                "Email": "bo@example.com",
                "Total": "29.97",
                "Shipping": "0.00",
                "Taxes": "0",
                "Discount Amount": "",
                "Shipping Name": "Bo Ek",
                "Shipping City": "Ottawa",
            },
        ),
    )

    preview = upload(acme_admin, file)

    assert preview.context["upload"].mapped_as == "Shopify orders export"
    response = confirm(acme_admin, preview)
    assert response.status_code == 302, response.context and response.context["errors"]
    first, second = orders_of("acme")
    assert first.order_number == "#1001"
    assert [
        (line.sku, line.name, line.quantity, line.unit_price) for line in first.lines.all()
    ] == [
        ("WIDGET-1", "Item WIDGET-1", Decimal("2"), Decimal("9.99")),
        ("GADGET-7", "Item GADGET-7", Decimal("1"), Decimal("24.50")),
    ]
    # the second row's blank order columns take the first row's values
    assert first.ship_to == {
        "name": "Ann Lee", "company": "", "street1": "1 King St W", "street2": "",
        "city": "Toronto", "state": "ON", "postal_code": "M5H 1A1", "country": "CA",
        "phone": "+1 416 555 0100",
    }  # fmt: skip
    assert first.ordered_at == datetime(2025, 3, 1, 19, 30, tzinfo=UTC)
    assert (first.currency, first.customer_email) == ("CAD", "ann@example.com")
    assert (first.subtotal, first.total, first.shipping_amount, first.tax_amount) == (
        Decimal("44.48"), Decimal("55.26"), Decimal("10.00"), Decimal("5.78"),
    )  # fmt: skip
    assert first.discount_amount == Decimal("5.00")
    assert (second.ship_to["city"], second.total, second.discount_amount) == (
        "Ottawa", Decimal("29.97"), Decimal("0.00"),
    )  # fmt: skip
    assert first.other_amount == second.other_amount == Decimal("0.00")  # the file adds up


def test_conflicting_order_values_on_rows_of_one_order_are_named_by_row(acme_admin):
    file = shopify_export(
        first_shopify_row("#1003", **lineitem("#1003", "WIDGET-1", "1", "9.99")),
        shopify_row(**lineitem("#1003", "GADGET-7", "1", "5"), **{"Shipping City": "Montreal"}),
        shopify_row(**lineitem("#1003", "GADGET-8", "1", "5"), Total="ten"),
    )

    response = confirm(acme_admin, upload(acme_admin, file))

    assert response.context["errors"] == [
        "row 3, column Shipping City: 'Montreal' differs from 'Toronto' on row 2 for order "
        "#1003; the rows of one order must agree.",
        "row 4, column Total: 'ten' differs from '55.26' on row 2 for order #1003; the rows "
        "of one order must agree.",
    ]
    assert orders_of("acme") == []


def test_a_shipstation_order_export_is_recognised(acme_admin):
    header = (
        "Order - Number,Date - Order Date,Order - Status,Customer - Email,Ship To - Name,"
        "Ship To - Company,Ship To - Address 1,Ship To - Address 2,Ship To - City,"
        "Ship To - State,Ship To - Postal Code,Ship To - Country,Ship To - Phone,Item - SKU,"
        "Item - Name,Item - Qty,Item - Price,Amount - Order Total,Amount - Order Shipping,"
        "Amount - Order Tax"
    )
    rows = [
        "SS-1,3/2/2025 2:30 PM,Awaiting Shipment,cy@example.com,Cy Do,,2 Elm St,,Reno,NV,"
        "89501,US,,SKU-1,Thing,2,5.00,12.00,2.00,0.00",
        "SS-1,3/2/2025 2:30 PM,Awaiting Shipment,cy@example.com,Cy Do,,2 Elm St,,Reno,NV,"
        "89501,US,,SKU-2,Other,1,0.00,12.00,2.00,0.00",
    ]

    preview = upload(acme_admin, csv_file(*rows, header=header, name="ss.csv"))

    assert preview.context["upload"].mapped_as == "ShipStation order export"
    assert confirm(acme_admin, preview).status_code == 302
    (order,) = orders_of("acme")
    assert [line.sku for line in order.lines.all()] == ["SKU-1", "SKU-2"]
    assert (order.total, order.shipping_amount) == (Decimal("12.00"), Decimal("2.00"))


WAREHOUSE = "Ref;Client mail;Deliver to;Street;Town;Zip code;Land;Article;Pieces;Each"
WAREHOUSE_COLUMNS = {
    "order_number": 0, "email": 1, "ship_to.name": 2, "ship_to.street1": 3, "ship_to.city": 4,
    "ship_to.postal_code": 5, "ship_to.country": 6, "lines.sku": 7, "lines.quantity": 8,
    "lines.unit_price": 9,
}  # fmt: skip


def warehouse_file(number: str) -> SimpleUploadedFile:
    row = f"{number};di@example.com;Di Po;3 Oak St;Paris;75001;FR;SKU-3;4;2.50"
    return csv_file(row, header=WAREHOUSE, name="warehouse.csv")


def test_a_custom_mapping_is_saved_and_offered_again_for_the_same_headers(acme_admin, globex_admin):
    first = upload(acme_admin, warehouse_file("W-1"))
    assert first.context["upload"].mapped_as == "guessed from the column names"

    response = confirm(acme_admin, first, columns=WAREHOUSE_COLUMNS, save_as="Warehouse sheet")

    assert response.status_code == 302
    with schema_context("acme"):
        saved = CsvMapping.objects.get()
    assert (saved.name, saved.saved_by) == ("Warehouse sheet", "ops@acme.test")
    assert saved.columns["lines.unit_price"] == "Each"

    again = upload(acme_admin, warehouse_file("W-2"))

    assert again.context["upload"].mapped_as == "your saved mapping 'Warehouse sheet'"
    assert confirm(acme_admin, again).status_code == 302
    assert [(o.order_number, o.ship_to["city"]) for o in orders_of("acme")] == [
        ("W-1", "Paris"),
        ("W-2", "Paris"),
    ]
    listing = acme_admin.get("/admin/orders/csvmapping/").content.decode()
    assert "Warehouse sheet" in listing
    # another tenant's files never get this tenant's mapping
    elsewhere = upload(globex_admin, warehouse_file("W-1"))
    assert elsewhere.context["upload"].mapped_as == "guessed from the column names"


def test_the_hubs_template_is_recognised_and_imports(acme_admin):
    template = acme_admin.get(f"{UPLOAD}template.csv")
    assert template["Content-Disposition"] == 'attachment; filename="hub-orders-template.csv"'

    preview = upload(acme_admin, SimpleUploadedFile("template.csv", template.content))

    assert preview.context["upload"].mapped_as == "the hub's template"
    assert confirm(acme_admin, preview).status_code == 302
    (order,) = orders_of("acme")
    assert [line.sku for line in order.lines.all()] == ["WIDGET-1", "GADGET-7"]
    assert (order.total, order.shipping_amount, order.tax_amount) == (
        Decimal("29.97"), Decimal("5.00"), Decimal("4.99"),
    )  # fmt: skip


def test_a_bad_rows_file_sent_back_gets_the_saved_mapping(acme_admin):
    header = WAREHOUSE.split(";")
    bad = ["W-9", "not-mail", "Di Po", "3 Oak St", "Paris", "75001", "FR", "SKU-3", "4", "2.50"]
    refused = confirm(
        acme_admin,
        upload(acme_admin, table_file([header, bad], "w.csv")),
        columns=WAREHOUSE_COLUMNS,
        save_as="Warehouse sheet",
    )
    bad_rows = acme_admin.get(refused.context["bad_rows_url"]).content

    fixed = bad_rows.decode("utf-8-sig").replace("not-mail", "di@example.com")
    preview = upload(acme_admin, SimpleUploadedFile("w-bad-rows.csv", fixed.encode()))

    assert preview.context["upload"].mapped_as == "your saved mapping 'Warehouse sheet'"
    assert confirm(acme_admin, preview).status_code == 302
    assert [o.customer_email for o in orders_of("acme")] == ["di@example.com"]
    with schema_context("acme"):
        assert CsvImport.objects.filter(state=CsvImport.State.DONE).count() == 1
