"""Reading an uploaded order file as rows of text: CSV, TSV or an Excel workbook (.xlsx).

Whatever the format, the rest of the import sees the same thing: the header (the first row that
is not blank) and then each data row with its row number as a spreadsheet shows it, so every
problem can point at the row a person has to fix.

Every file is read within `Limits` (settings `HUB_ORDER_FILE_*`, `HUB_ORDER_XLSX_*`), each
checked while the file is read and refused at its first breach with a message naming it, so a
small file that unpacks or parses into something huge never gets the chance:

- the upload itself (`HUB_ORDER_FILE_MAX_BYTES`);
- a workbook's zip, from its directory alone, before any XML is parsed (`check_workbook`, cheap
  enough for the web request): how many parts, each part's and the total unpacked size, how
  tightly each part is packed, no encrypted, exotic or nested archives;
- a workbook's XML, as openpyxl streams it (read-only mode; defusedxml guards the parser): each
  part passes through `_GuardedPart`, which refuses a text or tag longer than the longest cell,
  more markup than the cell limit needs, a row with more cells than Excel allows, and the XML
  constructs (DTDs, comments, CDATA) whose content could hide a huge token; shared strings are
  counted and measured one by one (`_string_table`);
- the rows, whatever the format (`_bounded`): rows, columns, non-empty cells and characters per
  cell; for CSV, the csv module's `field_size_limit` is the cell limit too.

A workbook is turned into rows by a worker (`workbook_as_csv`, called from
`orders.files.importing`), never in a web request: the web request only checks its zip.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell.text import Text
from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from core.spreadsheets import restore_cell

DELIMITERS = (",", ";", "\t")
XLSX_MAGIC = b"PK\x03\x04"
OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"
SCANNED_ROWS_PER_ROW = 10
"""Rows read in all, blank ones included, per allowed row: a sheet padded with a million empty
rows stops."""
EXCEL_MAX_COLUMNS = 16_384
MARKUP_PER_CELL = 8
"""Tags ('<') a part may hold per allowed cell: a cell with a value takes 4 to 6."""
MARKUP_PER_ROW = MARKUP_PER_CELL * EXCEL_MAX_COLUMNS
"""Tags one row of a sheet may hold: openpyxl builds a whole row before handing it over."""
BYTES_PER_CHARACTER = 8
"""Bytes of XML one character of a cell may take (UTF-8, or an entity such as &quot;)."""
RATIO_CHECKED_ABOVE = 2**20
"""Parts smaller than this unpack to too little to matter, however tightly packed."""
DIRECTORY_BYTES_PER_MEMBER = 1024
XML_PARTS = (".xml", ".rels", ".vml")
NESTED_ARCHIVES = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh",
                   b"\xfd7zXZ", OLD_EXCEL_MAGIC)  # fmt: skip
ARCHIVE_SUFFIXES = (".zip", ".xlsx", ".xlsm", ".xlsb", ".xls", ".docx", ".pptx", ".jar", ".gz",
                    ".tgz", ".bz2", ".xz", ".7z", ".rar", ".cab")  # fmt: skip
PROGRESS_EVERY = 1000
KEPT_BYTES_PER_FILE_BYTE = 2
"""The rows kept of a workbook (CSV) may be this many times the upload limit: a cell's text
shared by many cells (shared strings) would otherwise multiply on the way out."""
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters, tab, line feed and carriage return aside."""
CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CHARACTER_NAMES = {0: "a NUL character", 9: "a tab", 10: "a line break", 13: "a carriage return"}
CANNOT_READ_WORKBOOK = (
    "The file cannot be read as an Excel workbook ({}); save it again as .xlsx or as CSV UTF-8."
)
SPLIT = "split it into smaller files or save it as CSV UTF-8."

Row = tuple[int, list[str]]
Progress = Callable[[int], None]
"""Told how many rows of a workbook have been read."""


@dataclass(frozen=True)
class Limits:
    """How much of an order file the hub reads (settings `HUB_ORDER_FILE_*`, `HUB_ORDER_XLSX_*`)."""

    file_bytes: int
    rows: int
    columns: int
    cells: int
    cell_chars: int
    unpacked_bytes: int
    part_bytes: int
    ratio: int
    parts: int

    @classmethod
    def current(cls) -> Limits:
        return cls(
            file_bytes=settings.HUB_ORDER_FILE_MAX_BYTES,
            rows=settings.HUB_ORDER_FILE_MAX_ROWS,
            columns=settings.HUB_ORDER_FILE_MAX_COLUMNS,
            cells=settings.HUB_ORDER_FILE_MAX_CELLS,
            cell_chars=settings.HUB_ORDER_FILE_MAX_CELL_CHARS,
            unpacked_bytes=settings.HUB_ORDER_XLSX_MAX_UNCOMPRESSED_BYTES,
            part_bytes=settings.HUB_ORDER_XLSX_MAX_MEMBER_BYTES,
            ratio=settings.HUB_ORDER_XLSX_MAX_RATIO,
            parts=settings.HUB_ORDER_XLSX_MAX_MEMBERS,
        )


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message tells the person what to do."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


class TooLarge(UnreadableFile):
    """The file breaches one of the `Limits`; the message names it."""


class TooManyRows(TooLarge):
    pass


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB" if size >= 2**20 else f"{size:,} bytes"


def too_many_rows(limits: Limits) -> TooManyRows:
    return TooManyRows(f"The file has more than {limits.rows:,} rows; split it into smaller files.")


def too_many_cells(limits: Limits) -> TooLarge:
    return TooLarge(f"The file has more than {limits.cells:,} filled cells; {SPLIT}")


def too_long_cell(limits: Limits, row: int = 0, column: int | None = None) -> TooLarge:
    where = f"Column {column_letter(column)}" if column is not None else "This row"
    if not row:
        where = "The file"
    return TooLarge(
        f"{where} holds a cell longer than {limits.cell_chars:,} characters, the most a cell "
        "may hold; shorten it and upload the file again.",
        row=row,
    )


def too_large_file(limits: Limits) -> TooLarge:
    return TooLarge(
        f"The file is larger than {_mib(limits.file_bytes)}; split it into smaller files."
    )


def check_size(data: bytes, limits: Limits) -> None:
    """The upload itself (the rows kept of a workbook may be larger: `workbook_as_csv`)."""
    if len(data) > limits.file_bytes:
        raise too_large_file(limits)


def column_letter(index: int) -> str:
    """A, B, ... Z, AA: how a spreadsheet names the column at this position (0 is A)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def control_character(text: str, *, breaks_allowed: bool = False) -> str | None:
    """The first control character in the text (tab and line breaks only when not allowed)."""
    found = (CONTROL if breaks_allowed else CONTROL_OR_BREAK).search(text)
    return found.group() if found else None


def describe_character(char: str) -> str:
    name = CHARACTER_NAMES.get(ord(char), "a control character")
    return f"{name} (U+{ord(char):04X})"


def is_excel(data: bytes) -> bool:
    return data.startswith(XLSX_MAGIC)


def read_rows(data: bytes, limits: Limits | None = None) -> tuple[list[str], Iterator[Row]]:
    """(header, data rows): blank rows are skipped, rows keep their number in the file.

    A workbook is read here too (within the limits), but the hub only ever calls this on the
    rows it keeps, which for a workbook a worker made (`workbook_as_csv`).

    Raises `UnreadableFile`; iterating the rows may raise it too (a breach further down).
    """
    limits = limits or Limits.current()
    if data.startswith(OLD_EXCEL_MAGIC):
        raise UnreadableFile(
            "This is an Excel 97-2003 (.xls) file; save it as an Excel workbook (.xlsx) or as "
            "CSV UTF-8 and upload it again."
        )
    if is_excel(data):
        check_workbook(data, limits)
        rows = _bounded(_excel_rows(data, limits), limits)
    else:
        rows = _bounded(_text_rows(data, limits), limits)
    for number, cells in rows:
        if any(cells):
            _check_header(number, cells)
            return [restore_cell(cell) for cell in cells], _data_rows(rows, limits)
    raise UnreadableFile("The file is empty; the first row must name the columns.")


def _check_header(number: int, header: list[str]) -> None:
    """Column names end up in saved mappings and in every problem: no control characters."""
    for index, name in enumerate(header):
        char = control_character(name)
        if char:
            raise UnreadableFile(
                f"The name of column {column_letter(index)} contains {describe_character(char)}; "
                "remove it and upload the file again.",
                row=number,
            )


def _data_rows(rows: Iterator[Row], limits: Limits) -> Iterator[Row]:
    seen = 0
    for number, cells in rows:
        if not any(cells):
            continue
        seen += 1
        if seen > limits.rows:
            raise too_many_rows(limits)
        yield number, [restore_cell(cell) for cell in cells]


def _bounded(rows: Iterator[Row], limits: Limits) -> Iterator[Row]:
    """The rows, each checked as it comes: rows read, columns, filled cells, cell length.

    Empty cells past the column limit are dropped (spreadsheets pad rows); a filled one is a
    breach.
    """
    filled_cells = filled_rows = 0
    last_column = column_letter(limits.columns - 1)
    for number, cells in rows:
        if number > limits.rows * SCANNED_ROWS_PER_ROW:
            raise too_many_rows(limits)
        width = len(cells)
        while width and not cells[width - 1]:
            width -= 1
        if width > limits.columns:
            raise TooLarge(
                f"has a value in column {column_letter(width - 1)}, past the {limits.columns:,} "
                f"columns the hub reads (A to {last_column}); remove the columns after "
                f"{last_column}.",
                row=number,
            )
        if width:
            filled_rows += 1
            if filled_rows > limits.rows + 1:  # the header and the data rows
                raise too_many_rows(limits)
            filled_cells += width - cells[:width].count("")
            if filled_cells > limits.cells:
                raise too_many_cells(limits)
            lengths = list(map(len, cells[:width]))
            longest = max(lengths)
            if longest > limits.cell_chars:
                raise too_long_cell(limits, number, lengths.index(longest))
        yield number, cells[: limits.columns]


# CSV and TSV


def _text_rows(data: bytes, limits: Limits) -> Iterator[Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not UTF-8 text (unreadable byte at position {error.start}); save it "
            "as 'CSV UTF-8' or as an Excel workbook (.xlsx) and upload it again."
        ) from error
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    # The csv module's own bound on a field, process-wide: the hub reads no other CSV, and every
    # thread sets the same value.
    csv.field_size_limit(limits.cell_chars)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(first_line))
    return _checked_csv(reader, limits)


def _checked_csv(reader: Iterator[list[str]], limits: Limits) -> Iterator[Row]:
    number = 0
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise too_long_cell(limits, number + 1) from error
            raise UnreadableFile(f"cannot be read as CSV ({error}).", row=number + 1) from error
        if cells is None:
            return
        number += 1
        yield number, [cell.strip() for cell in cells]


def detect_delimiter(first_line: str) -> str:
    """The separator used most in the header line, outside quotes: comma, semicolon (Excel in
    Europe) or tab."""
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    return max(DELIMITERS, key=unquoted.count)


# Excel workbooks: the zip first (cheap), then the XML as it streams


def check_workbook(data: bytes, limits: Limits | None = None) -> None:
    """The workbook's zip, from its directory alone, against the limits: nothing is unpacked
    but the first bytes of parts that are not XML (to spot nested archives). Cheap enough for the
    web request. Raises `UnreadableFile`.

    zipfile never unpacks more of a part than the directory declares (and then checks its
    CRC), so what is checked here bounds what openpyxl can read later.
    """
    limits = limits or Limits.current()
    _check_directory_size(data, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise UnreadableFile(CANNOT_READ_WORKBOOK.format(type(error).__name__)) from error
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.parts:
            raise _parts_refused(f"has more than {limits.parts:,} parts, the most allowed")
        names: set[str] = set()
        unpacked = 0
        for info in infos:
            _check_part(archive, info, names, limits)
            names.add(info.filename)
            unpacked += info.file_size
            if unpacked > limits.unpacked_bytes:
                raise _parts_refused(
                    f"unpacks to more than {_mib(limits.unpacked_bytes)}, the most allowed"
                )
    if "[Content_Types].xml" not in names:
        raise UnreadableFile(CANNOT_READ_WORKBOOK.format("not a workbook"))


def _parts_refused(what: str) -> TooLarge:
    return TooLarge(
        f"The workbook {what}; copy the orders into a new workbook or save them as CSV UTF-8, "
        "and upload that."
    )


def _check_directory_size(data: bytes, limits: Limits) -> None:
    """The zip's end record, before zipfile builds an entry per part listed in its directory."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if end < 0 or len(data) < end + 22:
        raise UnreadableFile(CANNOT_READ_WORKBOOK.format("no zip directory"))
    entries, directory_bytes = struct.unpack_from("<HL", data, end + 10)
    if entries > limits.parts or directory_bytes > limits.parts * DIRECTORY_BYTES_PER_MEMBER:
        raise _parts_refused(f"has more than {limits.parts:,} parts, the most allowed")


def _check_part(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, seen: set[str], limits: Limits
) -> None:
    name = info.filename
    if name in seen:
        raise UnreadableFile(CANNOT_READ_WORKBOOK.format(f"part {name} twice"))
    if info.flag_bits & 0x1:
        raise UnreadableFile(
            "The workbook is encrypted; remove its password, save it and upload it again."
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UnreadableFile(CANNOT_READ_WORKBOOK.format(f"part {name} packed unusually"))
    is_xml = name.lower().endswith(XML_PARTS)
    most = limits.part_bytes if is_xml else limits.file_bytes
    if info.file_size > most:
        raise _parts_refused(f"part {name} unpacks to more than {_mib(most)}, the most allowed")
    if info.file_size > RATIO_CHECKED_ABOVE:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.ratio:
            raise _parts_refused(
                f"part {name} is packed {ratio:,.0f} to 1, more tightly than the {limits.ratio:,} "
                "to 1 allowed (a real workbook is packed far less)"
            )
    if not is_xml and not name.endswith("/"):
        with archive.open(info) as part:
            start = part.read(8)
        if name.lower().endswith(ARCHIVE_SUFFIXES) or start.startswith(NESTED_ARCHIVES):
            raise _parts_refused(f"holds another file packed inside it ({name})")


class _GuardedPart:
    """One part of the workbook as openpyxl reads it, checked as the bytes go by.

    XML text and tags cannot hold '<', so the bytes between two '<' bound every token the
    parser builds: a run longer than the longest cell needs is refused before it is parsed. So
    are more '<' than the cell limit needs, more in one row than Excel's widest row, and
    '<!' (DTD, comment, CDATA) and '<?' past the declaration, whose content may hold '<'.
    """

    _ROW_EDGE = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(row|sheetData)[\s/>]")

    def __init__(self, raw: zipfile.ZipExtFile, name: str, limits: Limits) -> None:
        self.raw, self.name, self.limits = raw, name, limits
        self.longest_token = limits.cell_chars * BYTES_PER_CHARACTER + 1024
        self.most_markup = limits.cells * MARKUP_PER_CELL + MARKUP_PER_ROW
        self.offset = self.markup = self.run = 0
        self.tail = b""
        self.row_started_at: int | None = None

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if data:
            self._check(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> _GuardedPart:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check(self, data: bytes) -> None:
        window = self.tail + data
        base = self.offset - len(self.tail)
        if b"<!" in window or self._declaration_misplaced(window, base):
            raise UnreadableFile(
                CANNOT_READ_WORKBOOK.format(f"part {self.name} holds XML Excel does not write")
            )
        pieces = data.split(b"<")
        if len(pieces) == 1:
            self.run += len(data)
        else:
            inner = max(map(len, pieces[1:-1]), default=0)
            if max(self.run + len(pieces[0]), inner) > self.longest_token:
                raise too_long_cell(self.limits)
            self.run = len(pieces[-1])
        if self.run > self.longest_token:
            raise too_long_cell(self.limits)
        before = self.markup
        self.markup += len(pieces) - 1
        if self.markup > self.most_markup:
            raise too_many_cells(self.limits)
        self._check_rows(window, before - self.tail.count(b"<"))
        self.offset += len(data)
        last = window.rfind(b"<")
        self.tail = window[last:] if last >= 0 and len(window) - last < 64 else b""

    def _declaration_misplaced(self, window: bytes, base: int) -> bool:
        at = window.find(b"<?")
        while at >= 0:
            if base + at not in (0, 3):  # the XML declaration, after a byte-order mark or not
                return True
            at = window.find(b"<?", at + 1)
        return False

    def _check_rows(self, window: bytes, markup_before: int) -> None:
        """Markup between one row's start and the next (or the end of the sheet's data)."""
        counted_to, markup = 0, markup_before
        for edge in self._ROW_EDGE.finditer(window):
            markup += window.count(b"<", counted_to, edge.start()) + 1
            counted_to = edge.start() + 1
            if self.row_started_at is not None and markup - self.row_started_at > MARKUP_PER_ROW:
                raise self._wide_row()
            closing, tag = edge.group(1), edge.group(2)
            if tag == b"row" and not closing:
                self.row_started_at = markup
            elif tag == b"sheetData":
                self.row_started_at = None
        if self.row_started_at is not None and self.markup - self.row_started_at > MARKUP_PER_ROW:
            raise self._wide_row()

    def _wide_row(self) -> TooLarge:
        return TooLarge(
            f"A row of the workbook holds more cells than Excel allows in a row "
            f"({EXCEL_MAX_COLUMNS:,}); save the orders in a new workbook or as CSV UTF-8."
        )


class _GuardedZip(zipfile.ZipFile):
    """The workbook's zip, handing out every part it opens (or reads whole) guarded."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        super().__init__(io.BytesIO(data))
        self.limits = limits

    def open(self, name, mode="r", pwd=None, **kwargs):  # as ZipFile.open
        part = super().open(name, mode, pwd, **kwargs)
        if mode != "r":
            return part
        return _GuardedPart(part, getattr(name, "filename", name), self.limits)


class _BoundedExcelReader(ExcelReader):
    """openpyxl's reader, read-only, on the guarded zip, with a bounded shared-string table."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        super().__init__(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        self.archive.close()
        self.archive = _GuardedZip(data, limits)
        self.valid_files = self.archive.namelist()
        self.limits = limits

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = _string_table(source, self.limits)


def _string_table(source: _GuardedPart, limits: Limits) -> list[str]:
    """The shared strings (as openpyxl's `read_string_table`), each measured as it is read, no
    more of them than cells allowed, and none kept in the parsed tree."""
    strings: list[str] = []
    tag = f"{{{SHEET_MAIN_NS}}}si"
    root = None
    for event, node in iterparse(source, events=("start", "end")):
        if root is None:
            root = node
        if event != "end" or node.tag != tag:
            continue
        text = Text.from_tree(node).content.replace("x005F_", "")
        if len(text) > limits.cell_chars:
            raise too_long_cell(limits)
        strings.append(text)
        if len(strings) > limits.cells:
            raise too_many_cells(limits)
        root.clear()
    return strings


def _excel_rows(data: bytes, limits: Limits) -> Iterator[Row]:
    try:
        reader = _BoundedExcelReader(data, limits)
        reader.read()
    except UnreadableFile:
        raise
    except Exception as error:  # a damaged or foreign zip: openpyxl raises many kinds
        raise UnreadableFile(CANNOT_READ_WORKBOOK.format(type(error).__name__)) from error
    return _sheet_rows(reader.wb, limits)


def _sheet_rows(workbook: Workbook, limits: Limits) -> Iterator[Row]:
    """The first (active) sheet's rows, as text; the workbook is closed when they are read.

    One column past the limit is read, so `_bounded` sees a value there."""
    try:
        sheet = workbook.active or workbook.worksheets[0]
        sheet.reset_dimensions()
        try:
            rows = sheet.iter_rows(max_col=limits.columns + 1, values_only=True)
            for number, values in enumerate(rows, start=1):
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


def workbook_as_csv(
    data: bytes, limits: Limits | None = None, *, progress: Progress | None = None
) -> bytes:
    """What the hub keeps of a workbook: its first sheet as CSV, row for row (blank rows too, so
    row numbers stay the sheet's), read once, by a worker, within the limits. Raises
    `UnreadableFile` at the first breach. The text is kept as it is in the sheet (this is not a
    download: `core.spreadsheets.csv_bytes` makes those)."""
    limits = limits or Limits.current()
    check_size(data, limits)
    check_workbook(data, limits)
    most = limits.file_bytes * KEPT_BYTES_PER_FILE_BYTE
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    for number, cells in _bounded(_excel_rows(data, limits), limits):
        writer.writerow(cells)
        if out.tell() > most:
            raise TooLarge(
                f"The workbook's first sheet holds more than {_mib(most)} of text; {SPLIT}",
                row=number,
            )
        if progress and number % PROGRESS_EVERY == 0:
            progress(number)
    return ("\ufeff" + out.getvalue()).encode()
