"""ShipStation's values on the wire (contracts/shipstation.md): Pacific local time without an
offset, read into aware UTC datetimes and written back; numbers and dates in JSON bodies and
query parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


def parse_pacific(value: str | None) -> datetime | None:
    """A ShipStation timestamp (Pacific local, no offset, up to 7 fractional digits) → UTC."""
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    main, dot, fraction = text.partition(".")
    if dot:
        text = f"{main}.{fraction[:6].ljust(6, '0')}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PACIFIC)
    return parsed.astimezone(UTC)


def parse_pacific_date(value: str | None) -> date | None:
    """A date-only field such as a shipment's `shipDate`."""
    if not value:
        return None
    return date.fromisoformat(value.strip()[:10])


def format_pacific(value: datetime) -> str:
    """An aware datetime → `yyyy-mm-dd hh:mm:ss` in Pacific local time, as ShipStation asks."""
    if value.tzinfo is None:
        raise ValueError("ShipStation dates must be timezone-aware")
    return value.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S")


def date_param(value: datetime | date | None) -> str | None:
    """A date or datetime as a query or body parameter (Pacific local for a datetime)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_pacific(value)
    return value.isoformat()


def decimal_or_none(value: Any) -> Decimal | None:
    """A JSON number (or numeric text) → Decimal; null → None."""
    return None if value is None else Decimal(str(value))


def json_value(value: Any) -> Any:
    """A value for a JSON body: decimals as numbers, dates as ShipStation writes them."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return format_pacific(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
