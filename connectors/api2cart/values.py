"""API2Cart's values read and written (contracts/api2cart.md §1.8): dates, numbers, flags, text.

Readers are tolerant where platforms differ (§7.15): `one` unwraps an object some platforms send
as a one-element array, `obj` and `many` read a missing object or list as empty, `entries` reads
the rows of a list of lines or items with the one-key wrappers some platforms put around each
row (§7.19) taken off, `text` reads null as "", `identifier` reads an id a store returned and
refuses a sentence in its place (§7.22). Numbers and flags are read by their meaning, never
guessed: `decimal_or_none` and `flag` raise ValueError on what is neither. Writers:
`format_a2c_datetime`, `json_value` (a body value), `flag_param` (a query-string flag).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# §1.8: the error text names `Y-m-d\TH:i:sO`; SPEC examples use `Y-m-d H:i:s`. Configurable.
ISO_INPUT_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
PLAIN_INPUT_FORMAT = "%Y-%m-%d %H:%M:%S"

_PHP_TO_STRPTIME = {
    "Y": "%Y",
    "m": "%m",
    "d": "%d",
    "H": "%H",
    "i": "%M",
    "s": "%S",
    "O": "%z",
    "P": "%z",
    "u": "%f",
    "y": "%y",
}


def _php_format_to_strptime(php: str) -> str:
    out, escaped = [], False
    for char in php:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(_PHP_TO_STRPTIME.get(char, char.replace("%", "%%")))
    return "".join(out)


def parse_a2c_datetime(value: Any) -> datetime | None:
    """An `A2CDateTime` object `{value, format}` (or a plain string) → aware UTC datetime.

    Strings without an offset are read as UTC (the timezone API2Cart uses is unconfirmed).
    """
    value = one(value)
    if value is None:
        return None
    fmt = None
    if isinstance(value, Mapping):
        fmt = value.get("format")
        value = value.get("value")
    if not value:
        return None
    written = str(value).strip()
    parsed = None
    if fmt:
        try:
            parsed = datetime.strptime(written, _php_format_to_strptime(str(fmt)))
        except ValueError:
            parsed = None
    if parsed is None:
        iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", written.replace(" ", "T", 1))
        try:
            parsed = datetime.fromisoformat(iso)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_a2c_datetime(value: datetime, fmt: str = ISO_INPUT_FORMAT) -> str:
    """An aware datetime → API2Cart input text (ISO-8601 with offset unless told otherwise)."""
    if value.tzinfo is None:
        raise ValueError("API2Cart dates must be timezone-aware")
    return value.astimezone(UTC).strftime(fmt)


def decimal_or_none(value: Any) -> Decimal | None:
    """A number as platforms send it (number or text) → Decimal; null or "" → None.

    Anything else that is not a finite number raises ValueError.
    """
    value = one(value)
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


def text(value: Any) -> str:
    """A text field; null reads as ""."""
    return "" if value is None else str(value)


TRUE_TEXTS = frozenset({"true", "1", "yes"})
FALSE_TEXTS = frozenset({"false", "0", "no", ""})


def flag(value: Any, default: bool = False) -> bool:
    """A flag as platforms send it: a boolean, 0/1, or text ("True", "False", "0", "1").

    `bool("False")` is true, so text is read by its meaning; anything unrecognised is an error
    rather than a guess.
    """
    value = one(value)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_TEXTS:
            return True
        if word in FALSE_TEXTS:
            return False
    raise ValueError(f"{value!r} is not a boolean")


def one(value: Any) -> Any:
    """An object some platforms wrap in a one-element array (`[{...}]`) → the object itself."""
    while isinstance(value, list):
        if not value:
            return None
        if len(value) > 1:
            raise ValueError(f"expected one object, got a list of {len(value)}")
        value = value[0]
    return value


def obj(value: Any) -> Mapping[str, Any]:
    """An object that may be null, wrapped in a one-element array, or (wrongly) a scalar."""
    value = one(value)
    return value if isinstance(value, Mapping) else {}


def many(value: Any) -> list[Any]:
    """A list that may be null, or a single object where a list was expected."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    return list(value) if isinstance(value, list | tuple) else []


def entries(value: Any) -> list[Mapping[str, Any]]:
    """The rows of a list of order lines, shipment items or refund items, unwrapped (§7.19).

    eBay can send each line as `{"product": [{...the line...}]}`: read as it stands, that is a
    line with no id, no SKU and quantity 0. A row's own fields are text and numbers, so an
    object with a single key whose value is an object, or a list of objects, is a wrapper and
    is taken off (as deep as it goes; several objects in it are several rows). Anything that is
    not an object reads as an empty row, for the record reading it to refuse.
    """
    rows: list[Mapping[str, Any]] = []
    for entry in many(value):
        rows.extend(_unwrapped(entry))
    return rows


def _unwrapped(entry: Any) -> list[Mapping[str, Any]]:
    if isinstance(entry, list):
        return [row for inner in entry for row in _unwrapped(inner)]
    if not isinstance(entry, Mapping):
        return [{}]
    if len(entry) == 1:
        inner = next(iter(entry.values()))
        if isinstance(inner, Mapping) or (
            isinstance(inner, list) and all(isinstance(item, Mapping) for item in inner)
        ):
            return _unwrapped(inner)
    return [entry]


IDENTIFIER_MAX_LENGTH = 64
"""The longest id the hub keeps for a store's record (e.g. `Shipment.store_shipment_id`)."""


def identifier(value: Any) -> str:
    """An id a store returned, or "" when what it returned is not one (§7.22).

    Bol answers `order.shipment.add` with `"shipment_id": "shipment created"`. An id is one
    token: no whitespace, at most `IDENTIFIER_MAX_LENGTH` characters, and at least one digit, so
    words such as "created", "OK" or "True" are not taken for ids. Reading a real id as none
    only costs the caller a look-up (`order.shipment.list`); keeping a sentence as an id loses
    the shipment.
    """
    value = one(value)
    if value is None or isinstance(value, bool | Mapping):
        return ""
    written = str(value).strip()
    if (
        len(written) > IDENTIFIER_MAX_LENGTH
        or any(char.isspace() for char in written)
        or not any(char.isdigit() for char in written)
    ):
        return ""
    return written


def json_value(value: Any) -> Any:
    """JSON for API2Cart: whole numbers as ints (it rejects 2.0 where it wants an integer)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return format_a2c_datetime(value, PLAIN_INPUT_FORMAT)
    return value


def flag_param(value: bool | None) -> str | None:
    """A flag as a query-string parameter: "true"/"false", None (left out) when not given."""
    return None if value is None else ("true" if value else "false")
