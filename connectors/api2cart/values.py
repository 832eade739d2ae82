"""Dates and numbers as API2Cart reads and writes them (contracts/api2cart.md §1.8)."""

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
    value = _one(value)
    if value is None:
        return None
    fmt = None
    if isinstance(value, Mapping):
        fmt = value.get("format")
        value = value.get("value")
    if not value:
        return None
    text = str(value).strip()
    parsed = None
    if fmt:
        try:
            parsed = datetime.strptime(text, _php_format_to_strptime(str(fmt)))
        except ValueError:
            parsed = None
    if parsed is None:
        iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace(" ", "T", 1))
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


def _decimal(value: Any) -> Decimal | None:
    value = _one(value)
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


def _str(value: Any) -> str:
    return "" if value is None else str(value)


TRUE_TEXTS = frozenset({"true", "1", "yes"})
FALSE_TEXTS = frozenset({"false", "0", "no", ""})


def _bool(value: Any, default: bool = False) -> bool:
    """A flag as platforms send it: a boolean, 0/1, or text ("True", "False", "0", "1").

    `bool("False")` is true, so text is read by its meaning; anything unrecognised is an error
    rather than a guess.
    """
    value = _one(value)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_TEXTS:
            return True
        if text in FALSE_TEXTS:
            return False
    raise ValueError(f"{value!r} is not a boolean")


def _one(value: Any) -> Any:
    """An object some platforms wrap in a one-element array (`[{...}]`) → the object itself."""
    while isinstance(value, list):
        if not value:
            return None
        if len(value) > 1:
            raise ValueError(f"expected one object, got a list of {len(value)}")
        value = value[0]
    return value


def _obj(value: Any) -> Mapping[str, Any]:
    """An object that may be null, wrapped in a one-element array, or (wrongly) a scalar."""
    value = _one(value)
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    """A list that may be null, or a single object where a list was expected."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    return list(value) if isinstance(value, list | tuple) else []


def _json_value(value: Any) -> Any:
    """JSON for API2Cart: whole numbers as ints (it rejects 2.0 where it wants an integer)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return format_a2c_datetime(value, PLAIN_INPUT_FORMAT)
    return value


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")
