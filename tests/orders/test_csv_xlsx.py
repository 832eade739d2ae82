"""Excel workbooks (.xlsx) import like CSV files once a worker has read them; other spreadsheets
are refused by name."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.files.reading import cell_text, read_rows
from tests.support.order_files import confirm, orders_of, upload, upload_workbook

HEADER = [
    "Order Number", "Order Date", "Email", "Recipient Name", "Address 1", "City",
    "Postal Code", "Country", "SKU", "Quantity", "Unit Price",
]  # fmt: skip


def workbook(*rows: list[object], title_row: bool = False) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if title_row:
        sheet.append([])  # a blank first row, as people leave above their tables
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_workbook_imports_with_typed_cells_read_as_people_see_them(acme_admin):
    data = workbook(
        [5001, datetime(2025, 3, 1, 9, 15), "ann@ex.com", "Ann Lee", "1 Main St", "Boston",
         "02134", "US", "WIDGET-1", 2, 9.99],
        [5001, None, None, None, None, None, None, None, "GADGET-7", 1.0, 24.5],
        [5002, datetime(2025, 3, 2), "bo@ex.com", "Bo Ek", "Storgatan 1", "Malmö", 21122,
         "SE", "WIDGET-1", 3, 0],
        title_row=True,
    )  # fmt: skip

    preview = upload_workbook(acme_admin, SimpleUploadedFile("orders.xlsx", data))

    assert preview.status_code == 200
    assert preview.context["upload"].rows == 3
    assert preview.context["first_rows"][0] == (
        3,
        ["5001", "2025-03-01 09:15:00", "ann@ex.com", "Ann Lee", "1 Main St", "Boston",
         "02134", "US", "WIDGET-1", "2", "9.99"],
    )  # fmt: skip
    assert confirm(acme_admin, preview).status_code == 302
    first, second = orders_of("acme")
    assert first.order_number == "5001"
    assert first.ordered_at == datetime(2025, 3, 1, 9, 15, tzinfo=UTC)
    assert first.ship_to["postal_code"] == "02134"
    assert [(line.sku, line.quantity, line.unit_price) for line in first.lines.all()] == [
        ("WIDGET-1", Decimal("2"), Decimal("9.99")),
        ("GADGET-7", Decimal("1"), Decimal("24.5")),
    ]
    assert second.ship_to["postal_code"] == "21122"


def test_a_bad_row_in_a_workbook_is_named_by_its_sheet_row(acme_admin):
    data = workbook(
        [5001, "2025-03-01", "ann@ex.com", "Ann", "1 Main", "Boston", "02134", "US", "W", 2, 1],
        [5002, "2025-03-01", "bo@ex.com", "Bo", "2 Main", "Boston", "02134", "US", "W", -1, 1],
    )

    preview = upload_workbook(acme_admin, SimpleUploadedFile("o.xlsx", data))
    response = confirm(acme_admin, preview, all_or_nothing="on")

    assert response.context["errors"] == ["row 3, column Quantity: Must be greater than 0."]
    assert orders_of("acme") == []


def test_old_excel_files_and_damaged_workbooks_are_refused_with_what_to_do(acme_admin):
    old = SimpleUploadedFile("orders.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    damaged = SimpleUploadedFile("orders.xlsx", b"PK\x03\x04" + b"not really a zip" * 20)

    assert "Excel 97-2003 (.xls)" in upload(acme_admin, old).context["errors"][0]
    assert "cannot be read as an Excel workbook" in upload(acme_admin, damaged).context["errors"][0]


def test_cells_read_as_text():
    assert [cell_text(v) for v in (None, True, 2.0, 9.99, 3, " a ")] == [
        "", "TRUE", "2", "9.99", "3", "a",
    ]  # fmt: skip
    header, rows = read_rows(workbook(["1", None, "x"]))
    assert header == HEADER and list(rows) == [(2, ["1", "", "x"])]
