"""Order files in the tenant portal: each good order imported, each bad one refused with every
problem listed (or, all or nothing, nothing imported), orders already known skipped."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from core import work
from orders.files.importing import ProgressReporter, import_orders
from orders.files.mapping import guess
from orders.files.reading import Limits
from orders.files.values import DATE_HELP
from orders.models import CsvImport, Order
from orders.tasks import import_csv_file, schedule_orders
from tenants.models import ActivityEvent
from tests.support.order_files import (
    UPLOAD,
    confirm,
    csv_file,
    field_name,
    import_file,
    orders_of,
    upload,
)
from tests.support.portal import signed_in

HEADER = (
    "Order #,Order Date,Buyer Email,Recipient Name,Company,Address 1,Address 2,City,State,"
    "Postal Code,Country,Phone,Item SKU,Item Name,Qty,Unit Price"
)
GOOD_ROWS = [
    "1001,2025-03-01,ann@ex.com,Ann Lee,,1 Main St,,Austin,TX,78701,US,,WIDGET-1,Widget,2,9.99",
    "1001,2025-03-01,ann@ex.com,Ann Lee,,1 Main St,,Austin,TX,78701,US,,GADGET-7,Gadget,1,24.50",
    "1002,3/2/2025 2:30 PM,bo@example.com,Bo Ek,Ek AB,Storgatan 1,,Malmö,,21122,se,,WIDGET-1,,5,0",
]
BAD_ROWS = [
    "1003,2025-03-01,cy@example.com,Cy Do,,2 Elm St,,Reno,NV,89501,US,,SKU-1,,0,5",
    "1003,2025-03-01,cy@example.com,Cy Do,,2 Elm St,,Boston,NV,89501,US,,SKU-2,,1,abc",
    "1004,yesterday,not-an-email,Di Po,,3 Oak St,,Paris,,75001,XX,,SKU-3,,1,-2",
    ",2025-03-01,ed@example.com,Ed,,4 Pine St,,Oslo,,0150,NO,,SKU-4,,1,1",
    "1005,2025-03-01,fi@example.com,Fi,,5 Ash St,,Rome,,00100,IT,,,,1,1",
]


LIMITS = Limits.current()


def orders_csv(*rows: str, header: str = HEADER, **kwargs) -> SimpleUploadedFile:
    return csv_file(*rows, header=header, **kwargs)


def test_a_good_file_is_previewed_then_imported_as_orders_grouped_by_number(acme_admin):
    preview = upload(acme_admin, orders_csv(*GOOD_ROWS))

    page = preview.content.decode()
    assert "guessed from the column names" in page
    assert "Ek AB" in page and "Storgatan 1" in page  # the first rows are shown
    with schema_context("acme"):
        kept = CsvImport.objects.get()
    assert (kept.state, kept.rows) == (CsvImport.State.MAPPING, 3)
    assert acme_orders() == []  # nothing before the mapping is confirmed

    response = confirm(acme_admin, preview)

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders/order/"
    listing = acme_admin.get(response.headers["Location"]).content.decode()
    assert "Imported 2 orders (3 lines) from orders.csv." in listing
    first, second = acme_orders()
    assert (first.order_number, first.source, first.store_id) == ("1001", "csv", None)
    assert [(line.sku, line.quantity) for line in first.lines.all()] == [
        ("WIDGET-1", Decimal("2")),
        ("GADGET-7", Decimal("1")),
    ]
    assert first.customer_email == "ann@ex.com"
    assert first.ship_to["city"] == "Austin"
    assert first.ordered_at.isoformat() == "2025-03-01T00:00:00+00:00"
    # no total column: the total is the lines (nothing else given), as the money module reads it
    assert first.subtotal == first.total == Decimal("44.48")
    assert second.ship_to["country"] == "SE"
    assert second.ship_to["company"] == "Ek AB"
    assert second.ordered_at.isoformat() == "2025-03-02T14:30:00+00:00"
    assert [line.unit_price for line in second.lines.all()] == [Decimal("0")]
    with schema_context("acme"):
        event = first.events.get()
        assert (event.step, event.actor) == ("received", "ops@acme.test")
        # due for the pipeline at once, like an order from any other door
        assert first.state == Order.State.ROUTED and first.next_attempt_at is not None
        kept.refresh_from_db()
    assert (kept.state, kept.orders_created, kept.lines_created) == ("done", 2, 3)
    assert ActivityEvent.objects.filter(
        tenant__slug="acme", action="order.csv_imported", message__contains="2 orders"
    ).exists()


def acme_orders() -> list[Order]:
    return orders_of("acme")


BAD_FILE_PROBLEMS = [
    "row 5, column Qty: Must be greater than 0.",
    "row 6, column City: 'Boston' differs from 'Reno' on row 5 for order 1003; "
    "the rows of one order must agree.",
    "row 6, column Unit Price: A valid number is required.",
    "row 7, column Buyer Email: Enter a valid email address.",
    "row 7, column Country: 'XX' is not a country the hub knows; write its name (United "
    "States, Deutschland) or its ISO code (US, DE).",
    f"row 7, column Order Date: 'yesterday' is not a date; {DATE_HELP}.",
    "row 7, column Unit Price: Ensure this value is greater than or equal to 0.",
    "row 8, column Order #: This field is required: every row needs the number of the order "
    "it belongs to.",
    "row 9, column Item SKU: Line 1 has no SKU: enter the SKU of the item it sells, or remove "
    "the row if it is not an item (a tip, a gift card).",
]


def test_a_file_imports_its_good_orders_and_refuses_each_bad_one_with_its_problems(acme_admin):
    response = import_file(acme_admin, orders_csv(*GOOD_ROWS, *BAD_ROWS))

    with schema_context("acme"):
        kept = CsvImport.objects.get()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/orders/csvimport/{kept.pk}/change/"
    assert [order.order_number for order in acme_orders()] == ["1001", "1002"]
    assert (kept.state, kept.orders_created, kept.orders_refused, kept.orders_known) == (
        CsvImport.State.DONE, 2, 4, 0,
    )  # fmt: skip
    assert kept.problems == BAD_FILE_PROBLEMS
    page = acme_admin.get(response.headers["Location"]).content.decode()
    assert (
        "Imported 2 orders (3 lines) from orders.csv. 4 refused: their problems are listed "
        "below, and their rows can be downloaded to fix and upload again." in page
    )
    assert "2 imported (3 lines), 4 refused, 0 skipped as already in the hub." in page
    assert "Must be greater than 0." in page
    assert ActivityEvent.objects.filter(
        tenant__slug="acme", action="order.csv_imported", message__contains="4 refused"
    ).exists()

    bad_rows = acme_admin.get(f"{UPLOAD}{kept.pk}/bad-rows.csv")

    assert bad_rows.status_code == 200
    assert bad_rows["Content-Disposition"] == 'attachment; filename="orders-bad-rows.csv"'
    table = list(csv.reader(io.StringIO(bad_rows.content.decode("utf-8-sig"))))
    assert table[0] == [*HEADER.split(","), "Problem"]
    assert [(row[0], row[-1]) for row in table[1:]] == [
        ("1003", "Row 5: Qty: Must be greater than 0."),
        (
            "1003",
            "Row 6: City: 'Boston' differs from 'Reno' on row 5 for order 1003; the rows of "
            "one order must agree.; Unit Price: A valid number is required.",
        ),
        (
            "1004",
            "Row 7: Buyer Email: Enter a valid email address.; Country: 'XX' is not a country "
            "the hub knows; write its name (United States, Deutschland) or its ISO code (US, "
            f"DE).; Order Date: 'yesterday' is not a date; {DATE_HELP}.; Unit Price: Ensure "
            "this value is greater than or equal to 0.",
        ),
        (
            "",
            "Row 8: Order #: This field is required: every row needs the number of the order "
            "it belongs to.",
        ),
        (
            "1005",
            "Row 9: Item SKU: Line 1 has no SKU: enter the SKU of the item it sells, or remove "
            "the row if it is not an item (a tip, a gift card).",
        ),
    ]


def test_all_or_nothing_imports_nothing_when_one_order_is_bad(acme_admin):
    preview = upload(acme_admin, orders_csv(*GOOD_ROWS, *BAD_ROWS))

    response = confirm(acme_admin, preview, all_or_nothing="on")

    assert response.status_code == 200
    assert response.context["errors"] == BAD_FILE_PROBLEMS
    assert "nothing was created" in response.content.decode()
    assert acme_orders() == []
    with schema_context("acme"):
        kept = CsvImport.objects.get()
    assert (kept.state, kept.all_or_nothing, kept.orders_refused) == ("rejected", True, 4)
    assert ActivityEvent.objects.filter(
        tenant__slug="acme", action="order.csv_rejected", outcome="failure"
    ).exists()
    assert response.context["bad_rows_url"] == f"{UPLOAD}{kept.pk}/bad-rows.csv"


def test_a_file_whose_every_order_is_bad_is_rejected(acme_admin):
    response = import_file(acme_admin, orders_csv(*BAD_ROWS))

    assert response.status_code == 200
    assert len(response.context["errors"]) == len(BAD_FILE_PROBLEMS)
    assert "nothing was created" in response.content.decode()
    assert acme_orders() == []
    with schema_context("acme"):
        assert CsvImport.objects.get().state == CsvImport.State.REJECTED


def test_the_bad_rows_file_holds_every_row_of_an_order_with_a_problem(acme_admin):
    rows = [
        GOOD_ROWS[0],
        "1001,2025-03-01,ann@ex.com,Ann Lee,,1 Main St,,Austin,TX,78701,US,,GADGET-7,,0,1",
        GOOD_ROWS[2],
    ]
    import_file(acme_admin, orders_csv(*rows))
    with schema_context("acme"):
        kept = CsvImport.objects.get()

    table = list(
        csv.reader(
            io.StringIO(
                acme_admin.get(f"{UPLOAD}{kept.pk}/bad-rows.csv").content.decode("utf-8-sig")
            )
        )
    )

    assert [order.order_number for order in acme_orders()] == ["1002"]  # the good one
    assert [(row[0], row[12], row[-1]) for row in table[1:]] == [
        ("1001", "WIDGET-1", "Row 2: (another row of this order has a problem)"),
        ("1001", "GADGET-7", "Row 3: Qty: Must be greater than 0."),
    ]


def test_a_required_field_without_a_column_is_named_on_the_preview(acme_admin):
    header = "Order Number,Email,Recipient Name,Address 1,Postal Code,Country,Quantity,Unit Price"
    preview = upload(acme_admin, orders_csv("1,a@b.com,A,B,1,US,1,1", header=header))

    response = confirm(acme_admin, preview)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors[field_name("ship_to.city")] == ["Choose the column that holds the City."]
    assert errors[field_name("lines.sku")] == ["Choose the column that holds the SKU."]
    assert acme_orders() == []


def test_semicolons_tabs_and_a_byte_order_mark_are_understood(acme_admin):
    semicolons = [row.replace(",", ";") for row in GOOD_ROWS[:2]]
    import_file(
        acme_admin,
        orders_csv(*semicolons, header=HEADER.replace(",", ";"), bom=True),
    )
    tabs = [row.replace(",", "\t") for row in GOOD_ROWS[2:]]
    import_file(acme_admin, orders_csv(*tabs, header=HEADER.replace(",", "\t"), name="o.tsv"))

    assert [order.order_number for order in acme_orders()] == ["1001", "1002"]


def test_column_names_are_matched_case_and_punctuation_insensitively():
    header = [
        "ORDER NUMBER", "email", "Ship To - Name", "ship to - address 1", "ship to - city", "ZIP",
        "Ship To - Country", "sku", "quantity", "item unit price", "Unrelated",
    ]  # fmt: skip
    assert guess(header) == {
        "order_number": 0, "email": 1, "ship_to.name": 2, "ship_to.street1": 3,
        "ship_to.city": 4, "ship_to.postal_code": 5, "ship_to.country": 6, "lines.sku": 7,
        "lines.quantity": 8, "lines.unit_price": 9,
    }  # fmt: skip


def test_orders_the_hub_has_already_are_skipped_and_counted_never_refused(acme_admin):
    import_file(acme_admin, orders_csv(GOOD_ROWS[2]))
    (existing,) = acme_orders()

    response = import_file(acme_admin, orders_csv(*GOOD_ROWS))

    assert response.status_code == 302
    listing = acme_admin.get(response.headers["Location"]).content.decode()
    assert "Imported 1 orders (2 lines) from orders.csv. 1 skipped: the hub has them already." in (
        listing
    )
    assert [order.order_number for order in acme_orders()] == ["1001", "1002"]
    assert existing.pk in [order.pk for order in acme_orders()]


def test_the_same_file_imported_again_changes_nothing(acme_admin):
    import_file(acme_admin, orders_csv(*GOOD_ROWS))
    before = [(order.pk, order.order_number) for order in acme_orders()]

    preview = upload(acme_admin, orders_csv(*GOOD_ROWS, name="again.csv"))
    assert preview.context["inspection"].counts_text() == (
        "2 orders, 0 new, 2 already in the hub (skipped)."
    )
    response = confirm(acme_admin, preview)

    assert response.status_code == 302
    assert [(order.pk, order.order_number) for order in acme_orders()] == before
    with schema_context("acme"):
        again = CsvImport.objects.get(file_name="again.csv")
    assert (again.state, again.orders_created, again.orders_known) == ("done", 0, 2)


def test_a_rejected_file_can_be_imported_again_with_another_mapping(acme_admin):
    header = HEADER.replace("Buyer Email", "Contact").replace("Phone", "Mail")
    rows = [row.replace("US,,", "US,x@y.com,").replace("se,,", "se,z@y.com,") for row in GOOD_ROWS]
    preview = upload(acme_admin, orders_csv(*rows, header=header))
    refused = confirm(acme_admin, preview, columns={"email": 3})  # the names: every order bad
    assert "Enter a valid email address." in refused.context["errors"][0]

    response = confirm(acme_admin, refused, columns={"email": 11})

    assert response.status_code == 302
    assert [o.customer_email for o in acme_orders()] == ["x@y.com", "z@y.com"]


def test_an_oversized_or_unreadable_file_is_refused_at_upload(acme_admin):
    big = SimpleUploadedFile("big.csv", HEADER.encode() + b"\r\n" + b"x" * LIMITS.file_bytes)
    latin = SimpleUploadedFile("l.csv", "\r\n".join([HEADER, GOOD_ROWS[2]]).encode("latin-1"))
    empty = SimpleUploadedFile("e.csv", b"\r\n , ,\r\n")

    assert upload(acme_admin, big).context["errors"] == [
        "The file is larger than 20 MiB; split it into smaller files."
    ]
    assert "not UTF-8" in upload(acme_admin, latin).context["errors"][0]
    assert upload(acme_admin, empty).context["errors"] == [
        "The file is empty; the first row must name the columns."
    ]
    with schema_context("acme"):
        assert not CsvImport.objects.exists()


def test_too_many_rows_are_refused(acme):
    data = orders_csv(*[GOOD_ROWS[0]] * (LIMITS.rows + 1)).read()
    with schema_context("acme"):
        result = import_orders(data, guess(HEADER.split(",")), actor="test")

    assert result.errors == ["The file has more than 10,000 rows; split it into smaller files."]


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
        assert clerk.post(UPLOAD, {"file": orders_csv(*GOOD_ROWS)}).status_code == 403
        assert acme_orders() == []
    else:
        assert page.status_code == 200
        assert 'href="/admin/orders/order/upload-csv/"' in changelist


def test_another_tenant_cannot_see_or_import_an_upload(acme_admin, globex_admin):
    preview = upload(acme_admin, orders_csv(*GOOD_ROWS))
    path = preview.wsgi_request.path

    assert globex_admin.get(path).status_code == 404
    assert globex_admin.get(path + "status/").status_code == 404
    assert globex_admin.get(path + "bad-rows.csv").status_code == 404


def test_a_large_file_is_imported_by_a_worker_with_its_progress(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 2
    response = import_file(acme_admin, orders_csv(*GOOD_ROWS, name="big.csv"))

    with schema_context("acme"):
        queued = CsvImport.objects.get(file_name="big.csv")
    assert queued.state == CsvImport.State.QUEUED and queued.rows == 3
    assert response.headers["Location"] == f"/admin/orders/csvimport/{queued.pk}/change/"
    status_url = f"{UPLOAD}{queued.pk}/status/"
    waiting = acme_admin.get(status_url).json()
    assert (waiting["finished"], waiting["total"]) == (False, 3)
    page = acme_admin.get(response.headers["Location"]).content.decode()
    assert f'data-status-url="{status_url}"' in page and 'data-running="1"' in page
    assert acme_orders() == []

    with schema_context("acme"):
        assert import_csv_file.apply(args=(queued.pk,), throw=True).get() == "done"

    done = acme_admin.get(status_url).json()
    assert (done["finished"], done["orders_created"], done["lines_created"]) == (True, 2, 3)
    assert [o.order_number for o in acme_orders()] == ["1001", "1002"]
    assert "Imported" in acme_admin.get(response.headers["Location"]).content.decode()


def test_a_large_file_with_a_bad_order_is_imported_by_the_worker_without_it(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 2
    import_file(acme_admin, orders_csv(*GOOD_ROWS, BAD_ROWS[2], name="big-bad.csv"))
    with schema_context("acme"):
        queued = CsvImport.objects.get(file_name="big-bad.csv")
        assert import_csv_file.apply(args=(queued.pk,), throw=True).get() == "done"
        queued.refresh_from_db()
    assert (queued.orders_created, queued.orders_refused) == (2, 1)
    assert [order.order_number for order in acme_orders()] == ["1001", "1002"]
    assert any("row 5" in problem for problem in queued.problems)
    page = acme_admin.get(f"/admin/orders/csvimport/{queued.pk}/change/").content.decode()
    assert "2 imported (3 lines), 1 refused" in page and "row 5" in page
    assert f"{UPLOAD}{queued.pk}/bad-rows.csv" in page


def test_a_large_bad_file_is_rejected_whole_by_the_worker_when_all_or_nothing(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 2
    preview = upload(acme_admin, orders_csv(*GOOD_ROWS, BAD_ROWS[2], name="big-bad.csv"))
    confirm(acme_admin, preview, all_or_nothing="on")
    with schema_context("acme"):
        queued = CsvImport.objects.get(file_name="big-bad.csv")
        assert import_csv_file.apply(args=(queued.pk,), throw=True).get() == "rejected"
        queued.refresh_from_db()
    assert queued.orders_created == 0 and acme_orders() == []
    assert any("row 5" in problem for problem in queued.problems)
    page = acme_admin.get(f"/admin/orders/csvimport/{queued.pk}/change/").content.decode()
    assert "Rejected (nothing imported)" in page and "row 5" in page
    assert f"{UPLOAD}{queued.pk}/bad-rows.csv" in page
    assert f"{UPLOAD}{queued.pk}/" in page  # change the mapping and import again


def test_imported_orders_are_handed_to_the_pipeline_by_a_fan_out_message(
    acme, settings, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("orders.intake.accept.FAN_OUT", 2)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def sent(queue: str, task: str) -> list[str]:
        messages = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
        return [m["headers"]["argsrepr"] for m in messages if m["headers"]["task"] == task]

    rows = [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[2].replace("1002", "1003")]
    asked_before = Counter(sent("hub", "orders.schedule_orders"))
    with schema_context("acme"):
        with django_capture_on_commit_callbacks(execute=True):
            result = import_orders(orders_csv(*rows).read(), guess(HEADER.split(",")), actor="t")
        assert result.orders == 3
        ids = list(Order.objects.order_by("pk").values_list("pk", flat=True))
        fan_out = [f"([{ids[0]}, {ids[1]}],)", f"([{ids[2]}],)"]
        asked = Counter(sent("hub", "orders.schedule_orders")) - asked_before
        assert sorted(asked.elements()) == fan_out
        pipeline = [f"([{ids[0]}, {ids[1]}],)", f"([{ids[2]}],)"]
        before = Counter(sent("erp", "orders.process_orders"))

        with django_capture_on_commit_callbacks(execute=True):
            assert schedule_orders.apply(args=(ids[:2],), throw=True).get() == 2
            assert schedule_orders.apply(args=(ids[2:],), throw=True).get() == 1

        after = Counter(sent("erp", "orders.process_orders"))
        assert [after[args] - before[args] for args in pipeline] == [1, 1]
        # each is due and in a pipeline state: the order worker claims it like any other
        assert all(work.claim(Order, pk) is not None for pk in ids)


def test_a_running_import_shows_how_far_it_is(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 2
    import_file(acme_admin, orders_csv(*GOOD_ROWS, name="big.csv"))
    with schema_context("acme"):
        queued = CsvImport.objects.get(file_name="big.csv")
    status_url = f"{UPLOAD}{queued.pk}/status/"

    ProgressReporter(queued)("checking rows", 2, 0)
    checking = acme_admin.get(status_url).json()
    ProgressReporter(queued)("writing orders", 1, 2)
    writing = acme_admin.get(status_url).json()

    assert (checking["text"], checking["done"], checking["total"]) == (
        "Importing: checking rows, 2 of 3", 2, 3,
    )  # fmt: skip
    assert writing["text"] == "Importing: writing orders, 1 of 2"
    assert not writing["finished"]
    with schema_context("acme"):
        import_csv_file.apply(args=(queued.pk,), throw=True)
    done = acme_admin.get(status_url).json()
    assert (done["finished"], done["text"]) == (True, "Imported")


def test_uploads_left_without_a_mapping_for_a_week_are_deleted_at_the_next_upload(acme_admin):
    upload(acme_admin, orders_csv(*GOOD_ROWS, name="old.csv"))
    import_file(acme_admin, orders_csv(GOOD_ROWS[2], name="imported.csv"))
    with schema_context("acme"):
        CsvImport.objects.update(created_at=timezone.now() - timedelta(days=8))

    upload(acme_admin, orders_csv(*GOOD_ROWS, name="new.csv"))

    with schema_context("acme"):
        kept = sorted(CsvImport.objects.values_list("file_name", "state"))
    assert kept == [("imported.csv", "done"), ("new.csv", "mapping")]
