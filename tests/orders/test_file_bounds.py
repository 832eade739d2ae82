"""Order files are read within bounds (security issue 20, items 4, 5 and 8).

- A workbook is checked from its zip directory at upload and read by a worker, which stops at
  the first breach of a limit, in little memory, with a message naming the limit.
- Every cell a spreadsheet could run as a formula comes back neutralised in a download.
- A NUL or other control character is a problem of its row and column, not a crash.
"""

from __future__ import annotations

import csv
import io
import re
import time
import tracemalloc
import zipfile
from collections.abc import Iterable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.test import Client
from django_tenants.utils import schema_context

from core.spreadsheets import csv_bytes, neutralise_cell
from orders.files import reading as csv_files
from orders.files.reading import UnreadableFile, check_workbook, column_letter, workbook_as_csv
from orders.models import CsvImport
from orders.tasks import import_csv_file
from tests.orders.test_csv_import import GOOD_ROWS, HEADER
from tests.support.order_files import UPLOAD, confirm, csv_file, orders_of, upload
from tests.support.portal import PASSWORDS

MIB = 2**20
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OPEN_XML = "http://schemas.openxmlformats.org"
PACKAGE_RELS = f"{OPEN_XML}/package/2006/relationships"
DOCUMENT_RELS = f"{OPEN_XML}/officeDocument/2006/relationships"
TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _override(part: str, kind: str) -> str:
    return f'<Override PartName="/xl/{part}" ContentType="{TYPES}.{kind}+xml"/>'


def _relation(number: int, kind: str, target: str) -> str:
    return f'<Relationship Id="rId{number}" Type="{DOCUMENT_RELS}/{kind}" Target="{target}"/>'


def workbook_zip(sheet_data: Iterable[bytes], strings: Iterable[bytes] | None = None) -> bytes:
    """A minimal .xlsx written part by part, so a part of 100 MB never exists in memory: the
    sheet's `<sheetData>` content and, optionally, the shared strings' `<si>` elements."""
    overrides = _override("workbook.xml", "sheet.main") + _override(
        "worksheets/sheet1.xml", "worksheet"
    )
    relations = _relation(1, "worksheet", "worksheets/sheet1.xml")
    if strings is not None:
        overrides += _override("sharedStrings.xml", "sharedStrings")
        relations += _relation(2, "sharedStrings", "sharedStrings.xml")
    rels_type = "application/vnd.openxmlformats-package.relationships+xml"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            "[Content_Types].xml",
            f'{DECLARATION}<Types xmlns="{OPEN_XML}/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="{rels_type}"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>',
        )
        book.writestr(
            "_rels/.rels",
            f'{DECLARATION}<Relationships xmlns="{PACKAGE_RELS}">'
            f"{_relation(1, 'officeDocument', 'xl/workbook.xml')}</Relationships>",
        )
        book.writestr(
            "xl/workbook.xml",
            f'{DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{DOCUMENT_RELS}"><sheets>'
            '<sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{DECLARATION}<Relationships xmlns="{PACKAGE_RELS}">{relations}</Relationships>',
        )
        with book.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(f'{DECLARATION}<worksheet xmlns="{MAIN}">'.encode())
            part.write(b'<dimension ref="A1"/><sheetData>')  # as Excel writes it
            for chunk in sheet_data:
                part.write(chunk)
            part.write(b"</sheetData></worksheet>")
        if strings is not None:
            with book.open("xl/sharedStrings.xml", "w") as part:
                part.write(f'{DECLARATION}<sst xmlns="{MAIN}">'.encode())
                for chunk in strings:
                    part.write(chunk)
                part.write(b"</sst>")
    return out.getvalue()


def inline_row(number: int, values: list[str]) -> bytes:
    cells = "".join(
        f'<c r="{column_letter(i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
        for i, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'.encode()


def orders_workbook(*rows: str) -> bytes:
    """The CSV rows of the import tests, as a workbook."""
    lines = [HEADER, *rows]
    return workbook_zip(inline_row(n, line.split(",")) for n, line in enumerate(lines, start=1))


def hundred_mb_cell() -> bytes:
    """One shared string of 100 MB, referenced by the only cell: ~100 KB deflated."""
    megabyte = b"x" * MIB
    return workbook_zip(
        [b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'],
        strings=[b"<si><t>", *[megabyte] * 100, b"</t></si>"],
    )


def run_worker(upload_id: int) -> str:
    with schema_context("acme"):
        return import_csv_file.apply(args=(upload_id,), throw=True).get()


def kept(**filters) -> CsvImport:
    with schema_context("acme"):
        return CsvImport.objects.get(**filters)


class Peak:
    """Most memory Python allocated, and the time taken, within the block."""

    def __enter__(self) -> Peak:
        tracemalloc.start()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.monotonic() - self.started
        self.megabytes = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()


# Item 4: workbooks bounded before and while they are parsed, by a worker


def test_a_tiny_workbook_with_a_100_mb_cell_is_refused_at_upload_from_its_zip_directory(
    acme_admin,
):
    data = hundred_mb_cell()
    assert len(data) < 200 * 1024

    with Peak() as peak:
        page = upload(acme_admin, SimpleUploadedFile("bomb.xlsx", data))

    (error,) = page.context["errors"]
    assert error.startswith("The workbook part xl/sharedStrings.xml is packed 1,0")  # ~1,027
    assert error.endswith(
        " to 1, more tightly than the 100 to 1 allowed (a real workbook is packed far less); "
        "copy the orders into a new workbook or save them as CSV UTF-8, and upload that."
    )
    assert peak.megabytes < 16, peak.megabytes  # the 100 MB cell was never unpacked
    assert peak.seconds < 10, peak.seconds
    with schema_context("acme"):
        assert not CsvImport.objects.exists()


def test_past_the_zip_check_a_huge_cell_stops_the_worker_at_its_first_bytes(acme_admin, settings):
    settings.HUB_ORDER_XLSX_MAX_RATIO = 10**6  # as if the bomb were packed plausibly
    page = upload(acme_admin, SimpleUploadedFile("bomb.xlsx", hundred_mb_cell()))
    reading = page.context["upload"]

    with Peak() as peak:
        assert run_worker(reading.pk) == "rejected"

    assert peak.megabytes < 16, peak.megabytes
    rejected = kept(pk=reading.pk)
    assert rejected.problems == [
        "The file holds a cell longer than 32,767 characters, the most a cell may hold; "
        "shorten it and upload the file again."
    ]
    assert bytes(rejected.content) == b""  # the workbook is not kept
    mapping_page = acme_admin.get(page.wsgi_request.path)
    assert mapping_page.headers["Location"] == f"/admin/orders/csvimport/{reading.pk}/change/"
    assert "32,767 characters" in acme_admin.get(mapping_page.headers["Location"]).content.decode()


def test_a_sheet_of_many_small_cells_packed_tightly_is_refused_at_upload(acme_admin):
    row = b"<row>" + b"<c><v>1</v></c>" * 300 + b"</row>"  # 300 cells, 20,000 rows: 6M cells
    data = workbook_zip(row for _ in range(20_000))
    assert len(data) < 1 * MIB

    with Peak() as peak:
        page = upload(acme_admin, SimpleUploadedFile("cells.xlsx", data))

    assert "xl/worksheets/sheet1.xml is packed" in page.context["errors"][0]
    assert peak.megabytes < 16 and peak.seconds < 10, (peak.megabytes, peak.seconds)


def test_a_sheet_past_the_cell_limit_is_read_only_up_to_the_breach(
    acme_admin, settings, monkeypatch
):
    settings.HUB_ORDER_FILE_MAX_CELLS = 10_000
    rows = (inline_row(n, [f"{n}-{c}" for c in range(300)]) for n in range(1, 1001))
    data = workbook_zip(rows)  # 300,000 cells, plausibly packed
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet_bytes = book.getinfo("xl/worksheets/sheet1.xml").file_size
    read: dict[str, int] = {}
    guarded_read = csv_files._GuardedPart.read

    def counting_read(part, size=-1):
        data = guarded_read(part, size)
        read[part.name] = read.get(part.name, 0) + len(data)
        return data

    monkeypatch.setattr(csv_files._GuardedPart, "read", counting_read)
    page = upload(acme_admin, SimpleUploadedFile("wide.xlsx", data))

    with Peak() as peak:
        assert run_worker(page.context["upload"].pk) == "rejected"

    assert kept(file_name="wide.xlsx").problems == [
        "The file has more than 10,000 filled cells; split it into smaller files or save it as "
        "CSV UTF-8."
    ]
    assert read["xl/worksheets/sheet1.xml"] < sheet_bytes / 10  # stopped at the breach
    assert peak.megabytes < 32, peak.megabytes


def test_workbooks_are_read_by_the_worker_not_by_the_web_request(
    acme_admin, monkeypatch, django_capture_on_commit_callbacks
):
    reads: list[str] = []
    excel_rows = csv_files._excel_rows
    monkeypatch.setattr(
        csv_files, "_excel_rows", lambda *args: reads.append("sheet") or excel_rows(*args)
    )
    published: list[tuple] = []
    monkeypatch.setattr("core.dispatch.publish", lambda *args, **kw: published.append(args))
    data = orders_workbook(*GOOD_ROWS)

    with django_capture_on_commit_callbacks(execute=True):
        page = upload(acme_admin, SimpleUploadedFile("orders.xlsx", data))

    assert reads == []  # the web request only checked the zip
    reading = kept(file_name="orders.xlsx")
    assert (reading.state, reading.rows, bytes(reading.content)) == ("reading", 0, data)
    assert published == [("orders.import_csv_file", reading.pk)]
    assert "A worker is reading the workbook" in page.content.decode()
    status = acme_admin.get(f"/admin/orders/order/upload-csv/{reading.pk}/status/").json()
    assert (status["state"], status["finished"]) == ("reading", False)

    assert run_worker(reading.pk) == "mapping"

    assert reads == ["sheet"]
    read = kept(pk=reading.pk)
    assert (read.state, read.rows, read.mapped_as) == (
        "mapping",
        3,
        "guessed from the column names",
    )
    preview = acme_admin.get(page.wsgi_request.path)  # the preview: the worker's rows
    assert preview.context["first_rows"][0] == (2, GOOD_ROWS[0].split(","))
    assert reads == ["sheet"]
    assert confirm(acme_admin, preview).status_code == 302
    assert [order.order_number for order in orders_of("acme")] == ["1001", "1002"]


def test_an_upload_past_the_size_limit_is_never_stored_whole(acme_admin, settings, monkeypatch):
    settings.HUB_ORDER_FILE_MAX_BYTES = 100_000
    stored: list[int] = []
    store = MemoryFileUploadHandler.receive_data_chunk

    def counting_store(handler, raw_data, start):
        stored.append(len(raw_data))
        return store(handler, raw_data, start)

    monkeypatch.setattr(MemoryFileUploadHandler, "receive_data_chunk", counting_store)
    big = SimpleUploadedFile("big.csv", HEADER.encode() + b"\r\n" + b"x" * 1_000_000)

    page = upload(acme_admin, big)

    assert page.context["errors"] == [
        "The file is larger than 100,000 bytes; split it into smaller files."
    ]
    assert sum(stored) <= 100_000  # the handlers after the bound never saw the rest


def test_the_upload_still_checks_its_csrf_token_after_the_bound_is_in_place(acme):
    browser = Client(enforce_csrf_checks=True, HTTP_HOST="acme.localhost")
    browser.get("/admin/login/")
    token = browser.cookies["csrftoken"].value
    login = {"username": "ops@acme.test", "password": PASSWORDS["acme"], "next": "/admin/"}
    assert browser.post("/admin/login/", {**login, "csrfmiddlewaretoken": token}).status_code == 302
    token = browser.cookies["csrftoken"].value

    forged = browser.post(UPLOAD, {"file": csv_file(GOOD_ROWS[0], header=HEADER)})
    sent = browser.post(
        UPLOAD, {"file": csv_file(GOOD_ROWS[0], header=HEADER), "csrfmiddlewaretoken": token}
    )

    assert forged.status_code == 403
    assert sent.status_code == 302


@pytest.mark.parametrize(
    ("part", "error"),
    [
        ("xl/embeddings/inner.zip", "holds another file packed inside it (xl/embeddings/inner"),
        ("xl/media/image1.bin", "holds another file packed inside it (xl/media/image1.bin)"),
    ],
)
def test_nested_archives_are_refused_from_the_zip_directory(part, error):
    book = io.BytesIO(orders_workbook(GOOD_ROWS[0]))
    with zipfile.ZipFile(book, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(part, b"PK\x03\x04" + b"\0" * 100)

    with pytest.raises(UnreadableFile, match=re.escape(error)):
        check_workbook(book.getvalue())


def test_too_many_parts_are_refused_before_the_directory_is_parsed(settings):
    settings.HUB_ORDER_XLSX_MAX_MEMBERS = 4  # the workbook has 5
    with pytest.raises(UnreadableFile, match="has more than 4 parts, the most allowed"):
        check_workbook(orders_workbook(GOOD_ROWS[0]))


@pytest.mark.parametrize(
    ("sheet", "error"),
    [
        ([b'<row r="1">', b"<c/>" * 140_000, b"</row>"], "more cells than Excel allows in a row"),
        ([b"<!-- a comment may hide anything -->"], "holds XML Excel does not write"),
        ([b'<row r="1"><c r="A1" t="inlineStr"><is><t>', b"y" * 300_000, b"</t></is></c></row>"],
         "longer than 32,767 characters"),
    ],
)  # fmt: skip
def test_the_sheet_is_refused_at_the_first_breach_as_it_streams(sheet, error):
    with pytest.raises(UnreadableFile, match=error):
        workbook_as_csv(workbook_zip(sheet))


@pytest.mark.parametrize(
    ("limit", "value", "row", "error"),
    [
        ("HUB_ORDER_FILE_MAX_CELL_CHARS", 100, GOOD_ROWS[0].replace("Widget", "w" * 101),
         "row 2: This row holds a cell longer than 100 characters"),
        ("HUB_ORDER_FILE_MAX_COLUMNS", 16, GOOD_ROWS[0] + ",extra",
         "row 2: has a value in column Q, past the 16 columns the hub reads (A to P)"),
        ("HUB_ORDER_FILE_MAX_CELLS", 20, GOOD_ROWS[0],
         "The file has more than 20 filled cells"),
    ],
)  # fmt: skip
def test_csv_files_have_the_same_bounds(acme_admin, settings, limit, value, row, error):
    setattr(settings, limit, value)
    field_limit = csv.field_size_limit()
    try:
        page = upload(acme_admin, csv_file(row, header=HEADER))
        assert page.context["errors"][0].startswith(error), page.context["errors"]
        if limit == "HUB_ORDER_FILE_MAX_CELL_CHARS":
            assert csv.field_size_limit() == 100  # the csv module's own bound on a field
    finally:
        csv.field_size_limit(field_limit)  # process-wide: the next test's readers need theirs


# Item 5: formula injection


def test_formula_cells_come_back_neutralised_in_the_bad_rows_download(acme_admin):
    row = (
        "1009,2025-03-01,eve@example.com,Eve,@SUM(1+1)*cmd|' /C calc'!A0,1 Main St,,Austin,TX,"
        '78701,US,+1 555 0100,"=HYPERLINK(""x"")",-2,-1,9.99'
    )
    response = confirm(acme_admin, upload(acme_admin, csv_file(row, header=HEADER)))
    assert response.context["errors"] == ["row 2, column Qty: Must be greater than 0."]

    download = acme_admin.get(response.context["bad_rows_url"]).content.decode("utf-8-sig")

    (header, cells) = list(csv.reader(io.StringIO(download)))
    assert cells[4] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert cells[11] == "'+1 555 0100"
    assert cells[12] == '\'=HYPERLINK("x")'
    assert cells[13:15] == ["'-2", "'-1"]
    assert download.splitlines()[1].startswith('"1009","2025-03-01"')  # every cell quoted
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in header + cells)

    # Fixed and uploaded again, the file gives back what was typed.
    fixed = download.replace("'-1", "1").encode("utf-8")
    imported = confirm(acme_admin, upload(acme_admin, SimpleUploadedFile("fixed.csv", fixed)))
    assert imported.status_code == 302
    (order,) = orders_of("acme")
    assert order.ship_to["phone"] == "+1 555 0100"
    assert order.ship_to["company"] == "@SUM(1+1)*cmd|' /C calc'!A0"
    assert [(line.sku, line.name) for line in order.lines.all()] == [('=HYPERLINK("x")', "-2")]


def test_every_csv_the_hub_hands_out_neutralises_formula_cells(acme_admin):
    cells = ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "a=1")
    assert [neutralise_cell(text) for text in cells] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\t=1", "'\r=1", "a=1",
    ]  # fmt: skip
    assert csv_bytes([["=1", 2]]) == '\ufeff"\'=1","2"\r\n'.encode()
    template = acme_admin.get("/admin/orders/order/upload-csv/template.csv").content.decode()
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        for row in csv.reader(io.StringIO(template.lstrip("\ufeff")))
        for cell in row
    )


# Item 8: NUL and control characters


def test_a_nul_or_control_character_is_a_problem_of_its_row_and_column(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 1  # imported by the worker, where the NUL used to fail it
    nul_date = GOOD_ROWS[2].replace("1002,3/2/2025 2:30 PM", "1003,3/2/2025\x00")
    bell_name = GOOD_ROWS[2].replace("1002", "1004").replace("Bo Ek", "Bo\x07Ek")
    broken_city = GOOD_ROWS[2].replace("1002", "1005").replace("Malmö", '"Mal\nmö"')
    tab_in_name = GOOD_ROWS[2].replace("WIDGET-1,", "WIDGET-1,Widget\tBlue")
    rows = [*GOOD_ROWS[:2], nul_date, bell_name, broken_city, tab_in_name]
    preview = upload(acme_admin, csv_file(*rows, header=HEADER))
    confirm(acme_admin, preview, all_or_nothing="on")
    queued = kept(file_name="orders.csv")

    assert run_worker(queued.pk) == "rejected"

    rejected = kept(pk=queued.pk)
    assert (rejected.attempts, rejected.last_error) == (0, "")
    assert rejected.problems == [
        "row 4, column Order Date: contains a NUL character (U+0000), which this field cannot "
        "hold; remove it.",
        "row 5, column Recipient Name: contains a control character (U+0007), which this field "
        "cannot hold; remove it.",
        "row 6, column City: contains a line break (U+000A), which this field cannot hold; "
        "remove it.",
    ]  # the tab in the item name (a field that may span lines) is no problem
    bad_rows = acme_admin.get(f"/admin/orders/order/upload-csv/{queued.pk}/bad-rows.csv")
    table = list(csv.reader(io.StringIO(bad_rows.content.decode("utf-8-sig"))))
    assert [row[0] for row in table[1:]] == ["1003", "1004", "1005"]

    # Order by order (the default), the rest of the file imports without those orders.
    confirm(acme_admin, upload(acme_admin, csv_file(*rows, header=HEADER, name="rest.csv")))
    rest = kept(file_name="rest.csv")
    assert run_worker(rest.pk) == "done"
    assert (kept(pk=rest.pk).orders_created, kept(pk=rest.pk).orders_refused) == (2, 3)
    assert [order.order_number for order in orders_of("acme")] == ["1001", "1002"]
    assert orders_of("acme")[1].lines.get().name == "Widget\tBlue"


def test_a_control_character_in_a_column_name_refuses_the_file_naming_it(acme_admin):
    header = HEADER.replace("Buyer Email", "Buyer\x00Email")

    page = upload(acme_admin, csv_file(GOOD_ROWS[0], header=header))

    assert page.context["errors"] == [
        "row 1: The name of column C contains a NUL character (U+0000); remove it and upload "
        "the file again."
    ]
