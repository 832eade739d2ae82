"""Files the hub hands to people that they open in a spreadsheet: CSV downloads made safe.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which some
spreadsheets skip before looking) is run as a formula when the file is opened: a value someone
typed into an order could then fetch a URL or run a command on the reader's machine (CSV or
formula injection). Every CSV the hub produces goes through `csv_bytes`, which neutralises such a
cell as OWASP recommends: a single quote in front, and the cell quoted.

`restore_cell` undoes that quote when such a file comes back (a bad-rows file fixed and uploaded
again, or a Shopify export, which writes phone numbers as '+1…), so values survive the trip.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    """The cell as text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def restore_cell(text: str) -> str:
    """A cell read back from a file: the quote `neutralise_cell` put in front is dropped."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """Rows as a CSV download: every cell neutralised and quoted, UTF-8 with a byte-order mark
    so Excel opens it as UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode()
