"""CSV upload in the tenant portal: whole files or nothing, with every problem listed."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from orders.csv_import import MAX_FILE_BYTES, MAX_ROWS, import_orders_csv
from orders.models import CsvImport, Order
from orders.tasks import import_csv_file
from tenants.models import ActivityEvent
from tests.conftest import Portal, signed_in

UPLOAD = "/admin/orders/order/upload-csv/"
HEADER = (
    "Order #,Order Date,Buyer Email,Recipient Name,Company,Address 1,Address 2,City,State,"
    "Postal Code,Country,Phone,Item SKU,Item Name,Qty,Unit Price"
)
GOOD_ROWS = [
    "1001,2025-03-01,ann@ex.com,Ann Lee,,1 Main St,,Austin,TX,78701,US,,WIDGET-1,Widget,2,9.99",
    "1001,2025-03-01,ann@ex.com,Ann Lee,,1 Main St,,Austin,TX,78701,US,,GADGET-7,Gadget,1,24.50",
    "1002,3/2/2025 2:30 PM,bo@example.com,Bo Ek,Ek AB,Storgatan 1,,Malmö,,21122,se,,WIDGET-1,,5,0",
]


def csv_file(*rows: str, header: str = HEADER, name: str = "orders.csv", bom: bool = False):
    text = "\r\n".join([header, *rows]) + "\r\n"
    return SimpleUploadedFile(name, ("\ufeff" if bom else "").encode() + text.encode())


def upload(portal: Portal, file: SimpleUploadedFile):
    return portal.post(UPLOAD, {"file": file})


def acme_orders() -> list[Order]:
    with schema_context("acme"):
        return list(Order.objects.prefetch_related("lines").order_by("order_number"))


def test_good_file_imports_orders_grouped_by_number(acme_admin):
    response = upload(acme_admin, csv_file(*GOOD_ROWS))

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders/order/"
    page = acme_admin.get(response.headers["Location"])
    assert "Imported 2 orders (3 lines)." in page.content.decode()
    first, second = acme_orders()
    assert (first.order_number, first.source, first.store_id) == ("1001", "csv", None)
    assert [(line.sku, line.quantity) for line in first.lines.all()] == [
        ("WIDGET-1", Decimal("2")),
        ("GADGET-7", Decimal("1")),
    ]
    assert first.customer_email == "ann@ex.com"
    assert first.ship_to["city"] == "Austin"
    assert first.ordered_at.isoformat() == "2025-03-01T00:00:00+00:00"
    assert second.ship_to["country"] == "SE"
    assert second.ship_to["company"] == "Ek AB"
    assert second.ordered_at.isoformat() == "2025-03-02T14:30:00+00:00"
    assert [line.unit_price for line in second.lines.all()] == [Decimal("0")]
    with schema_context("acme"):
        assert first.events.get().actor == "ops@acme.test"
    assert ActivityEvent.objects.filter(
        tenant__slug="acme", action="order.csv_imported", message__contains="2 orders"
    ).exists()


def test_bad_file_lists_every_problem_and_imports_nothing(acme_admin):
    rows = [
        *GOOD_ROWS,
        "1003,2025-03-01,cy@example.com,Cy Do,,2 Elm St,,Reno,NV,89501,US,,SKU-1,,0,5",
        "1003,2025-03-01,cy@example.com,Cy Do,,2 Elm St,,Boston,NV,89501,US,,SKU-2,,1,abc",
        "1004,yesterday,not-an-email,Di Po,,3 Oak St,,Paris,,75001,XX,,SKU-3,,1,-2",
        ",2025-03-01,ed@example.com,Ed,,4 Pine St,,Oslo,,0150,NO,,SKU-4,,1,1",
        "1005,2025-03-01,fi@example.com,Fi,,5 Ash St,,Rome,,00100,IT,,,,1,1",
    ]
    response = upload(acme_admin, csv_file(*rows))

    assert response.status_code == 200
    assert response.context["errors"] == [
        "row 5, column Qty: Must be greater than 0.",
        "row 6, column City: 'Boston' differs from 'Reno' on row 5 for order 1003; "
        "the rows of one order must agree.",
        "row 6, column Unit Price: A valid number is required.",
        "row 7, column Buyer Email: Enter a valid email address.",
        "row 7, column Country: 'XX' is not an ISO 3166-1 alpha-2 country code (e.g. US, DE).",
        "row 7, column Order Date: 'yesterday' is not a date; use YYYY-MM-DD or M/D/YYYY.",
        "row 7, column Unit Price: Ensure this value is greater than or equal to 0.",
        "row 8, column Order #: This field is required.",
        "row 9, column Item SKU: This field may not be blank.",
    ]
    assert "nothing was created" in response.content.decode()
    assert "row 5, column Qty: Must be greater than 0." in response.content.decode()
    assert acme_orders() == []
    assert ActivityEvent.objects.filter(
        tenant__slug="acme", action="order.csv_rejected", outcome="failure"
    ).exists()


def test_missing_columns_are_named_in_one_error(acme_admin):
    header = "Order Number,Email,Recipient Name,Address 1,Postal Code,Country,Quantity,Unit Price"
    response = upload(acme_admin, csv_file("1,a@b.com,A,B,1,US,1,1", header=header))

    assert response.context["errors"] == ["Missing required columns: City, SKU."]
    assert acme_orders() == []


def test_semicolon_delimiter_and_bom_are_understood(acme_admin):
    header = HEADER.replace(",", ";")
    rows = [row.replace(",", ";") for row in GOOD_ROWS]

    response = upload(acme_admin, csv_file(*rows, header=header, bom=True))

    assert response.status_code == 302
    assert [order.order_number for order in acme_orders()] == ["1001", "1002"]


def test_aliases_are_matched_case_insensitively(acme_admin):
    header = (
        "ORDER NUMBER;email;Ship To - Name;ship to - address 1;ship to - city;ZIP;"
        "Ship To - Country;sku;quantity;item unit price"
    )
    response = upload(
        acme_admin, csv_file("A-1;a@b.com;Ann;1 Main;Austin;78701;US;S;1;2", header=header)
    )

    assert response.status_code == 302
    (order,) = acme_orders()
    assert order.ship_to["postal_code"] == "78701"


def test_orders_that_already_exist_are_refused(acme_admin):
    upload(acme_admin, csv_file(GOOD_ROWS[2]))
    (existing,) = acme_orders()

    response = upload(acme_admin, csv_file(*GOOD_ROWS))

    assert response.context["errors"] == [
        f"row 4, column Order #: order 1002 already exists in the hub (id {existing.pk})."
    ]
    assert len(acme_orders()) == 1


def test_oversized_file_is_refused(acme_admin):
    big = SimpleUploadedFile("big.csv", HEADER.encode() + b"\r\n" + b"x" * MAX_FILE_BYTES)

    response = upload(acme_admin, big)

    assert response.context["errors"] == [
        "The file is larger than 5 MiB; split it into smaller files."
    ]


def test_too_many_rows_are_refused(acme):
    rows = [GOOD_ROWS[0]] * (MAX_ROWS + 1)
    with schema_context("acme"):
        result = import_orders_csv(io.BytesIO(csv_file(*rows).read()), actor="test")

    assert result.errors == ["The file has more than 10,000 rows; split it into smaller files."]


def test_non_utf8_file_is_refused(acme):
    data = "\r\n".join([HEADER, GOOD_ROWS[2]]).encode("latin-1")
    with schema_context("acme"):
        result = import_orders_csv(io.BytesIO(data), actor="test")

    assert "not UTF-8" in result.errors[0]


@pytest.mark.parametrize("role", ["Viewer", "Order manager"])
def test_upload_needs_the_add_order_permission(acme, role):
    with schema_context("acme"):
        user = get_user_model().objects.create_user(
            "clerk@acme.test", password="clerk-test-pw", is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
    clerk = signed_in("acme.localhost", "clerk@acme.test", "clerk-test-pw")

    page = clerk.get(UPLOAD)
    changelist = clerk.get("/admin/orders/order/").content.decode()

    if role == "Viewer":
        assert page.status_code == 403
        assert "Upload CSV" not in changelist
        assert upload(clerk, csv_file(*GOOD_ROWS)).status_code == 403
        assert acme_orders() == []
    else:
        assert page.status_code == 200
        assert 'href="/admin/orders/order/upload-csv/"' in changelist


def test_a_large_file_is_imported_by_a_worker_and_its_result_shown(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 2
    response = upload(acme_admin, csv_file(*GOOD_ROWS, name="big.csv"))
    assert response.status_code == 302
    with schema_context("acme"):
        queued = CsvImport.objects.get(file_name="big.csv")
        assert queued.state == CsvImport.State.QUEUED and queued.rows == 4
        assert response.headers["Location"] == f"/admin/orders/csvimport/{queued.pk}/change/"
        assert not Order.objects.exists()
        assert import_csv_file.apply(args=(queued.pk,), throw=True).get() == "done"
        queued.refresh_from_db()
    assert (queued.orders_created, queued.lines_created) == (2, 3)
    assert [o.order_number for o in acme_orders()] == ["1001", "1002"]
    page = acme_admin.get(response.headers["Location"])
    assert "Imported" in page.content.decode()


def test_a_large_bad_file_is_rejected_whole_by_the_worker(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 2
    bad = "1003,2025-03-01,not-an-email,Cy Do,,2 Elm St,,Reno,NV,89501,US,,SKU-1,,0,5"
    upload(acme_admin, csv_file(*GOOD_ROWS, bad, name="big-bad.csv"))
    with schema_context("acme"):
        queued = CsvImport.objects.get(file_name="big-bad.csv")
        assert import_csv_file.apply(args=(queued.pk,), throw=True).get() == "rejected"
        queued.refresh_from_db()
    assert queued.orders_created == 0 and acme_orders() == []
    assert any("row 5" in problem for problem in queued.problems)
    page = acme_admin.get(f"/admin/orders/csvimport/{queued.pk}/change/").content.decode()
    assert "Rejected (nothing imported)" in page and "row 5" in page
