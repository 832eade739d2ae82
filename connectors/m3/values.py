"""M3 values in and out: inputs as M3 wants them, padded outputs read as dates and decimals,
records right-trimmed, and the flags and counters of the v2 envelope read strictly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Fields = Mapping[str, Any]
Record = dict[str, str]


def m3_value(value: Any) -> str:
    """An input value as M3 wants it: strings, `yyyyMMdd` dates, `.` decimals."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y%m%d")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def m3_inputs(fields: Fields | None) -> dict[str, str]:
    """Drop blank optional fields (as Infor's SDK does) and stringify the rest."""
    return {k: m3_value(v) for k, v in (fields or {}).items() if v is not None and v != ""}


def parse_m3_date(value: str | None) -> date | None:
    """`yyyyMMdd` → date; M3 writes 0 or blanks for "no date"."""
    text = (value or "").strip()
    if not text or text.strip("0") == "":
        return None
    return datetime.strptime(text, "%Y%m%d").date()


def parse_m3_date_fast(value: str | None) -> date | None:
    """`parse_m3_date` without strptime for the usual `yyyyMMdd`: a price list has 100,000."""
    text = (value or "").strip()
    if len(text) == 8 and text.isdigit() and text != "00000000":
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    return parse_m3_date(text)


def parse_m3_decimal(value: str | None) -> Decimal:
    """Numeric outputs arrive as padded strings; blanks mean zero."""
    text = (value or "").strip()
    if not text:
        return Decimal(0)
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)


def trimmed_record(record: Mapping[str, Any]) -> Record:
    """A record as M3 sends it → text values, right-trimmed (M3 pads them); null → ""."""
    return {str(k): str(v).rstrip() if v is not None else "" for k, v in record.items()}


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


def m3_flag(value: Any) -> bool:
    """A flag of the v2 envelope, read strictly (contract §3.4): `"false"` is false.

    Accepted: true/false, "true"/"false" (any case, padded), "1"/"0", 1/0; missing (None) is
    false. Anything else raises ValueError rather than being guessed from Python truthiness.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"not an M3 flag: {value!r}")


def m3_count(value: Any) -> int:
    """A counter of the v2 envelope (`nrOf...Transactions`), a number or a numeric string."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return 0
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an M3 count: {value!r}") from None
