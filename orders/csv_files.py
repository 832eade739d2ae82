"""Reading an uploaded order file as rows of text: CSV, TSV or an Excel workbook (.xlsx).

Whatever the format, the rest of the import sees the same thing: the header (the first row that
is not blank) and then each data row with its row number as a spreadsheet shows it, so every
problem can point at the row a person has to fix. Excel files are streamed with openpyxl's
read-only mode (defusedxml guards its XML parsing), so a large workbook is never held as cells.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time

import openpyxl

MAX_FILE_BYTES = 20 * 2**20
MAX_ROWS = 10_000
MAX_COLUMNS = 300
MAX_SCANNED_ROWS = 100_000
"""Rows read in all, blank ones included: a workbook padded with a million empty rows stops."""
DELIMITERS = (",", ";", "\t")
XLSX_MAGIC = b"PK\x03\x04"
OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"

Row = tuple[int, list[str]]


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message tells the person what to do."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


class TooManyRows(UnreadableFile):
    pass


def is_excel(data: bytes) -> bool:
    return data.startswith(XLSX_MAGIC)


def read_rows(data: bytes) -> tuple[list[str], Iterator[Row]]:
    """(header, data rows): blank rows are skipped, rows keep their number in the file.

    The size is checked where files come in (`as_stored`).

    Raises `UnreadableFile`; iterating the rows may raise it too (a broken quote further down).
    """
    if data.startswith(OLD_EXCEL_MAGIC):
        raise UnreadableFile(
            "This is an Excel 97-2003 (.xls) file; save it as an Excel workbook (.xlsx) or as "
            "CSV UTF-8 and upload it again."
        )
    rows = _excel_rows(data) if is_excel(data) else _text_rows(data)
    for _number, cells in rows:
        if any(cells):
            return cells, _data_rows(rows)
    raise UnreadableFile("The file is empty; the first row must name the columns.")


def _data_rows(rows: Iterator[Row]) -> Iterator[Row]:
    seen = 0
    for number, cells in rows:
        if not any(cells):
            continue
        seen += 1
        if seen > MAX_ROWS:
            raise TooManyRows(
                f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
            )
        yield number, cells


def _text_rows(data: bytes) -> Iterator[Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not UTF-8 text (unreadable byte at position {error.start}); save it "
            "as 'CSV UTF-8' or as an Excel workbook (.xlsx) and upload it again."
        ) from error
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(first_line))
    return _checked_csv(reader)


def _checked_csv(reader: Iterator[list[str]]) -> Iterator[Row]:
    number = 0
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            raise UnreadableFile(f"cannot be read as CSV ({error}).", row=number + 1) from error
        if cells is None:
            return
        number += 1
        if number > MAX_SCANNED_ROWS:
            raise TooManyRows(
                f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
            )
        yield number, [cell.strip() for cell in cells[:MAX_COLUMNS]]


def detect_delimiter(first_line: str) -> str:
    """The separator used most in the header line, outside quotes: comma, semicolon (Excel in
    Europe) or tab."""
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    return max(DELIMITERS, key=unquoted.count)


def _excel_rows(data: bytes) -> Iterator[Row]:
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as error:  # a damaged or foreign zip: openpyxl raises many kinds
        raise UnreadableFile(
            f"The file cannot be read as an Excel workbook ({type(error).__name__}); save it "
            "again as .xlsx or as CSV UTF-8."
        ) from error
    return _sheet_rows(workbook)


def _sheet_rows(workbook: openpyxl.Workbook) -> Iterator[Row]:
    """The first (active) sheet's rows, as text; the workbook is closed when they are read."""
    try:
        sheet = workbook.active or workbook.worksheets[0]
        sheet.reset_dimensions()
        try:
            for number, values in enumerate(
                sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
            ):
                if number > MAX_SCANNED_ROWS:
                    raise TooManyRows(
                        f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
                    )
                cells = [cell_text(value) for value in values]
                while cells and not cells[-1]:
                    cells.pop()
                yield number, cells
        except UnreadableFile:
            raise
        except Exception as error:  # a broken sheet part inside an otherwise valid zip
            raise UnreadableFile(
                f"The workbook's first sheet cannot be read ({type(error).__name__}); save it "
                "again as .xlsx or as CSV UTF-8."
            ) from error
    finally:
        workbook.close()


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person sees: 2 not 2.0, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def csv_bytes(rows: Iterable[list[str]]) -> bytes:
    """Rows written as CSV that Excel opens as UTF-8 (with a byte-order mark)."""
    out = io.StringIO(newline="")
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


def as_stored(data: bytes) -> bytes:
    """What the hub keeps of an upload: a CSV file as it came; a workbook's first sheet as
    CSV, row for row (blank rows too, so row numbers stay the sheet's), read once here rather
    than at every look. Raises `UnreadableFile`."""
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 2**20
        raise UnreadableFile(f"The file is larger than {limit} MiB; split it into smaller files.")
    if not is_excel(data):
        return data
    return csv_bytes(cells for _, cells in _excel_rows(data))
