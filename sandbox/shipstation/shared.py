"""Dates, errors, query parsing, paging and small helpers shared by the ShipStation fake."""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.core import SandboxRequest

PACIFIC = ZoneInfo("America/Los_Angeles")

UPDATABLE_STATUSES = ("awaiting_payment", "awaiting_shipment", "pending_fulfillment", "on_hold")
# WeightUnits is read-only; ounces = 1 and grams = 2 appear in published examples.
WEIGHT_UNITS = {"ounces": 1, "grams": 2, "pounds": 3}
OUNCES_PER_UNIT = {"ounces": 1.0, "grams": 1 / 28.349523125, "pounds": 16.0}

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


# ---------------------------------------------------------------------------
# Dates: ShipStation speaks US Pacific local time without an offset.


_DATE_INPUT = re.compile(
    r"^(?P<day>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_api_datetime(value: str) -> datetime:
    """Read a request date-time as ShipStation does; returns an aware UTC datetime.

    Accepts `yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss` and ISO forms with any fraction. Values without an
    offset are Pacific local time; a `Z` or `+hh:mm` suffix is converted (the contract leaves
    this unconfirmed, and the hub sends Pacific time without an offset anyway).
    """
    match = _DATE_INPUT.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"Could not convert string to DateTime: {value}.")
    moment = match["day"] + "T" + (match["time"] or "00:00")
    if match["fraction"]:
        moment += "." + match["fraction"][:6].ljust(6, "0")
    zone = match["zone"]
    if zone:
        moment += "+00:00" if zone == "Z" else zone
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PACIFIC)
    return parsed.astimezone(UTC)


def sort_key(moment: datetime) -> str:
    """A fixed-width UTC string, so SQL can compare and sort date columns as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def format_timestamp(moment: datetime) -> str:
    """Order and shipment timestamps: Pacific, no offset, seven fractional digits."""
    return moment.astimezone(PACIFIC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def format_store_timestamp(moment: datetime) -> str:
    """Store timestamps carry milliseconds only (`2014-12-03T11:46:11.283`)."""
    return moment.astimezone(PACIFIC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def pacific_day(moment: datetime) -> str:
    return moment.astimezone(PACIFIC).date().isoformat()


# ---------------------------------------------------------------------------
# Errors in ShipStation's ASP.NET Web API style.


class ApiError(Exception):
    """An error answer; handlers raise it and the dispatcher turns it into the response."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(body.get("Message"))
        self.status = status
        self.body = body

    @classmethod
    def invalid(cls, model_state: dict[str, list[str]]) -> ApiError:
        return cls(400, {"Message": "The request is invalid.", "ModelState": model_state})

    @classmethod
    def message(cls, status: int, text: str) -> ApiError:
        return cls(status, {"Message": text})


class QueryArgs:
    """Query parameters read case-insensitively, as ASP.NET binds them; collects bad values."""

    def __init__(self, req: SandboxRequest) -> None:
        self._values = {name.lower(): values[-1] for name, values in req.query.items() if values}
        self.errors: dict[str, list[str]] = {}

    def text(self, name: str) -> str | None:
        value = self._values.get(name.lower(), "").strip()
        return value or None

    def integer(
        self, name: str, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            self._error(name, f"The value '{raw}' is not valid for {name}.")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self._error(name, f"The field {name} must be between {minimum} and {maximum}.")
            return None
        return value

    def moment(self, name: str) -> str | None:
        """A date-time filter as a UTC sort key."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return sort_key(parse_api_datetime(raw))
        except ValueError:
            self._error(name, f"The value '{raw}' is not valid for {name}.")
            return None

    def day(self, name: str) -> str | None:
        """A date filter as the Pacific calendar day `yyyy-mm-dd`."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return pacific_day(parse_api_datetime(raw))
        except ValueError:
            self._error(name, f"The value '{raw}' is not valid for {name}.")
            return None

    def flag(self, name: str) -> bool:
        return (self.text(name) or "").lower() in ("true", "1")

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        for option in options:
            if raw.lower() == option.lower():
                return option
        self._error(name, f"The value '{raw}' is not valid for {name}.")
        return None

    def check(self) -> None:
        if self.errors:
            raise ApiError.invalid(self.errors)

    def _error(self, name: str, text: str) -> None:
        self.errors.setdefault(name, []).append(text)


@dataclass(frozen=True)
class Account:
    slug: str
    api_key: str
    seller_id: int
    warehouse_id: int
    api_access: bool


@dataclass(frozen=True)
class Notification:
    """A webhook to send once the transaction that caused it has committed."""

    account: str
    store_id: int
    resource_type: str
    resource_path: str
    query: dict[str, str]


def _next_id(conn: sqlite3.Connection, counter: str) -> int:
    return conn.execute(
        "UPDATE ss_counters SET value = value + 1 WHERE name = ? RETURNING value", (counter,)
    ).fetchone()[0]


def _json_body(req: SandboxRequest, parameter: str) -> Any:
    try:
        return req.json()
    except ValueError as exc:
        raise ApiError.invalid({parameter: [str(exc)]}) from None


def _json_object(req: SandboxRequest, parameter: str) -> dict:
    payload = _json_body(req, parameter)
    if not isinstance(payload, dict):
        raise ApiError.invalid({parameter: ["A JSON object is required."]})
    return payload


def _required_int(payload: dict, name: str, parameter: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError.invalid({f"{parameter}.{name}": [f"{name} is required."]})
    return value


def _day_field(value: Any) -> str | None:
    return pacific_day(parse_api_datetime(value)) if value is not None else None


def _weight(raw: Any) -> dict | None:
    if not isinstance(raw, dict) or raw.get("value") is None:
        return None
    units = raw.get("units") if raw.get("units") in WEIGHT_UNITS else "ounces"
    return {"value": raw["value"], "units": units, "WeightUnits": WEIGHT_UNITS[units]}


def _order_by(args: QueryArgs, columns: dict[str, str], default: str, tiebreak: str) -> str:
    """A whitelisted ORDER BY from sortBy/sortDir (ASC unless told otherwise)."""
    sort_by = args.choice("sortBy", columns)
    direction = "DESC" if args.choice("sortDir", ("ASC", "DESC")) == "DESC" else "ASC"
    column = columns[sort_by] if sort_by else default
    return f"{column} {direction}, {tiebreak} {direction}"


def _paging(args: QueryArgs) -> tuple[int, int]:
    page = args.integer("page", minimum=1, maximum=1_000_000) or 1
    page_size = args.integer("pageSize", minimum=1, maximum=MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    return page, page_size


def _envelope(key: str, items: list[dict], page: int, page_size: int) -> dict:
    start = (page - 1) * page_size
    return {
        key: items[start : start + page_size],
        "total": len(items),
        "page": page,
        "pages": math.ceil(len(items) / page_size),
    }


def _date_range(
    args: QueryArgs,
    where: list[str],
    params: list,
    name: str,
    column: str,
    read: Callable[[str], str | None],
) -> None:
    """`{name}Start` / `{name}End` as inclusive bounds ("on or after", "on or before")."""
    for suffix, operator in (("Start", ">="), ("End", "<=")):
        if (value := read(name + suffix)) is not None:
            where.append(f"{column} {operator} ?")
            params.append(value)


def _field_matchers(
    args: QueryArgs, **fields: Callable[[dict], str]
) -> list[Callable[[dict], bool]]:
    """Case-insensitive equality filters for the query parameters that are present."""
    return [
        _equals(read, wanted.lower())
        for name, read in fields.items()
        if (wanted := args.text(name)) is not None
    ]


def _equals(read: Callable[[dict], str], wanted: str) -> Callable[[dict], bool]:
    return lambda row: read(row) == wanted
