"""Values in order files as people and their platforms write them, read into what the hub keeps.

A file a merchant exports was never written for the hub: dates come in the platform's or the
spreadsheet's format (03/04/2025 is April in Europe and March in the US), amounts carry currency
symbols and thousands separators, Excel keeps leading zeros with a leading apostrophe or
`="…"`, and a yes/no column may say TRUE, yes, 1 or x. Each reader here takes one such value;
the ones that depend on the whole column (which way round dates are, which separator is the
decimal one) decide from every value of the column first, so one unambiguous date settles the
rest, and the preview says what was decided.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

from django.utils.dateparse import parse_date, parse_datetime

# Text kept as text by Excel


EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)


def strip_text_marker(text: str) -> str:
    """Excel's ways of keeping a number as text, removed: a leading apostrophe ('02134, as
    Shopify writes postcodes) or ="02134" (as many exports write postcodes, phones and SKUs)."""
    found = EXCEL_TEXT.match(text)
    if found:
        return found.group(1).replace('""', '"').strip()
    if text.startswith("'"):
        return text[1:].strip()
    return text


# Yes and no


TRUE_WORDS = frozenset({"true", "yes", "y", "1", "x", "t", "ja", "j", "oui", "si", "sí", "✓", "✔"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f", "nein", "non", "-"})
FLAG_HELP = "use TRUE/FALSE, yes/no or 1/0"


def read_flag(text: str) -> bool | None:
    """TRUE, yes, 1, x … or FALSE, no, 0 …; None for a blank cell. Raises ValueError otherwise."""
    word = text.strip().casefold()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"'{text}' is neither yes nor no; {FLAG_HELP}.")


# Amounts


CURRENCY_WORDS = r"(?:[A-Z]{1,3}|kr\.?|zł|Fr\.?|Kč|Ft|lei|Rs\.?)"
LEADING_OR_TRAILING_WORD = re.compile(rf"^{CURRENCY_WORDS}\s*|\s*{CURRENCY_WORDS}$")
"""A currency code or abbreviation before or after the number: USD 12.50, 12,50 EUR, 99 kr."""
NUMBER = re.compile(r"^([+-]?)(\()?\s*([+-]?)([\d.,' \u00a0\u202f]*\d[\d.,' \u00a0\u202f]*)(\))?$")
PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
"""12.50 as most files write it: read at once."""
COMMA_DECIMAL = re.compile(r"(?:^|[^,\d])\d*,\d{1,2}$|\.\d{3},\d*$")
POINT_DECIMAL = re.compile(r"(?:^|[^.\d])\d*\.\d{1,2}$|,\d{3}\.\d*$")


def _bare_number(text: str) -> str:
    """The text without its currency symbol or code and surrounding spaces."""
    text = "".join(char for char in text if unicodedata.category(char) != "Sc").strip()
    return LEADING_OR_TRAILING_WORD.sub("", text).strip()


def decimal_comma_column(values: Iterable[str]) -> bool:
    """Whether the column writes its decimals after a comma (12,50 or 1.234,50): some value says
    so and none says the opposite (12.50 or 1,234.50)."""
    comma = point = False
    for value in values:
        bare = _bare_number(value)
        comma = comma or bool(COMMA_DECIMAL.search(bare))
        point = point or bool(POINT_DECIMAL.search(bare))
        if point:
            return False
    return comma


def read_number(text: str, *, decimal_comma: bool = False) -> Decimal | None:
    """The amount as written, whatever its currency symbol or code and thousands separators
    ($1,234.50, 1.234,50 €, 1'234.50, (12.50) for minus 12.50); None when it is not a number.

    When the text has both a point and a comma, the last of them is the decimal separator;
    otherwise the column's (`decimal_comma_column`) decides, and a lone comma followed by three
    digits in a point column is a thousands separator.
    """
    text = text.strip()
    if not decimal_comma and PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)
    found = NUMBER.match(_bare_number(strip_text_marker(text)))
    if not found:
        return None
    sign, opened, inner_sign, digits, closed = found.groups()
    if bool(opened) != bool(closed):
        return None
    digits = re.sub(r"[ '\u00a0\u202f]", "", digits)
    if "." in digits and "," in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
    else:
        decimal = "," if decimal_comma else "."
    thousands = "." if decimal == "," else ","
    whole = digits.split(decimal)
    if len(whole) > 2 or not _grouped(whole[0].split(thousands)):
        return None
    canonical = digits.replace(thousands, "").replace(decimal, ".")
    try:
        number = Decimal(canonical)
    except InvalidOperation:
        return None
    negative = (sign == "-") != (inner_sign == "-") or bool(opened)
    return -number if negative else number


def _grouped(groups: list[str]) -> bool:
    """Thousands separators only between groups of three digits (1,234,567; not 12,5)."""
    return all(len(group) == 3 for group in groups[1:]) and (bool(groups[0]) or len(groups) == 1)


# Dates


DAY_FIRST = "day_first"
MONTH_FIRST = "month_first"
DATE_ORDERS = {DAY_FIRST: "day first (31/12/2025)", MONTH_FIRST: "month first (12/31/2025)"}
DATE_HELP = (
    "use a date such as 2025-03-31, 31.03.2025, 03/31/2025, Mar 31, 2025 or 31 Mar 2025, "
    "optionally with a time"
)
MONTHS = {
    **{name: number for number, name in enumerate(
        ("january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december"), start=1)},
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    # the main EU languages' spellings that differ from English
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "mär": 3, "mai": 5, "juni": 6,
    "juli": 7, "oktober": 10, "okt": 10, "dezember": 12, "dez": 12, "janvier": 1, "janv": 1,
    "février": 2, "févr": 2, "fév": 2, "mars": 3, "avril": 4, "avr": 4, "juin": 6,
    "juillet": 7, "juil": 7, "août": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "déc": 12, "enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4,
    "abr": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8, "ago": 8, "septiembre": 9,
    "octubre": 10, "noviembre": 11, "diciembre": 12, "dic": 12, "gennaio": 1, "gen": 1,
    "febbraio": 2, "aprile": 4, "maggio": 5, "mag": 5, "giugno": 6, "giu": 6, "luglio": 7,
    "lug": 7, "settembre": 9, "set": 9, "ottobre": 10, "ott": 10, "dicembre": 12, "mei": 5,
    "maart": 3, "mrt": 3, "augustus": 8,
}  # fmt: skip
WEEKDAYS = frozenset(
    {"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "monday",
     "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)  # fmt: skip
TIME_OF_DAY = re.compile(
    r"(?:^|(?<=[\sT,]))(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s*([ap])?(?:\.?\s*m\.?)?"
    r"(?:\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}))?\s*$",
    re.IGNORECASE,
)
NUMERIC_DATE = re.compile(r"^(\d{1,4})([./-])(\d{1,2})\2(\d{2,4})$")
NAMED_ZONE = re.compile(r"\s+(UTC|GMT)$", re.IGNORECASE)


@dataclass(frozen=True)
class DateReading:
    """How a column's dates such as 03/04/2025 are read, and why."""

    order: str
    chosen: bool = False
    day_first: int = 0
    """Dates that can only be day first (31/03/2025)."""
    month_first: int = 0
    """Dates that can only be month first (03/31/2025)."""
    either: int = 0
    """Dates that read both ways (03/04/2025)."""

    @property
    def is_day_first(self) -> bool:
        return self.order == DAY_FIRST

    @property
    def way(self) -> str:
        return DATE_ORDERS[self.order]

    @property
    def numeric(self) -> int:
        """Dates in the column written with numbers only (03/04/2025), whose order matters."""
        return self.day_first + self.month_first + self.either

    @property
    def mixed(self) -> bool:
        return bool(self.day_first and self.month_first)

    def describe(self) -> str:
        """What the preview says about it."""
        way = self.way
        if self.chosen:
            return f"Dates are read {way}, as chosen."
        if self.mixed:
            return (
                f"The column mixes day-first ({self.day_first}) and month-first "
                f"({self.month_first}) dates; read {way}, the others are refused."
            )
        decided = self.day_first or self.month_first
        if decided:
            return f"Dates are read {way}: {decided} date(s) in the column can only be read so."
        if self.either:
            return (
                f"Dates are read {way}: no date in the column tells (every day is 12 or less); "
                "choose the other way below if that is wrong."
            )
        return f"Dates such as 03/04/2025 would be read {way}."


def read_date_column(values: Iterable[str], chosen: str = "") -> DateReading:
    """Which way round the column's numeric dates are: as chosen, else as the dates that can be
    read only one way say (the majority, when both kinds are there), else by the separator the
    column uses (dots and dashes are European, day first; slashes are month first, as the US
    platforms write them)."""
    evidence: Counter[str] = Counter()
    separators: Counter[str] = Counter()
    for value in values:
        parts = _numeric_date(value)
        if parts is None:
            continue
        first, separator, second = parts
        separators[separator] += 1
        if first > 12 >= second:
            evidence[DAY_FIRST] += 1
        elif second > 12 >= first:
            evidence[MONTH_FIRST] += 1
        else:
            evidence["either"] += 1
    counts = {
        "day_first": evidence[DAY_FIRST],
        "month_first": evidence[MONTH_FIRST],
        "either": evidence["either"],
    }
    if chosen in DATE_ORDERS:
        return DateReading(chosen, chosen=True, **counts)
    if evidence[DAY_FIRST] or evidence[MONTH_FIRST]:
        order = DAY_FIRST if evidence[DAY_FIRST] > evidence[MONTH_FIRST] else MONTH_FIRST
        return DateReading(order, **counts)
    separator = separators.most_common(1)[0][0] if separators else "/"
    return DateReading(MONTH_FIRST if separator == "/" else DAY_FIRST, **counts)


def _numeric_date(text: str) -> tuple[int, str, int] | None:
    """(first number, separator, second number) of a date like 03/04/2025 (not 2025-03-04)."""
    day_part = TIME_OF_DAY.sub("", text.strip()).strip(" ,T")
    found = NUMERIC_DATE.match(day_part)
    if not found or len(found.group(1)) > 2:
        return None
    return int(found.group(1)), found.group(2), int(found.group(3))


def read_date(text: str, *, day_first: bool = False) -> datetime | None:
    """A date (and time) as spreadsheets and platforms write it; None when it is not one.

    ISO 8601 (2025-03-01, Shopify's 2025-03-01 14:30:00 -0500, Amazon's 2025-03-01T14:30:00Z),
    e-mail style (Sat, 01 Mar 2025 14:30:00 +0000), numeric dates with dots, dashes or slashes
    (`day_first` decides 03/04/2025; two-digit years are this century's), month names in
    English and the main EU languages (Mar 1, 2025; 1. März 2025; eBay's Mar-01-25), each with
    an optional time (14:30, 2:30 PM, with seconds) and time zone.
    """
    text = text.strip()
    if not text:
        return None
    iso = _iso(text)
    if iso is not None:
        return iso
    if re.search(r"[A-Za-z]{3},", text):
        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            pass
    return _spelled(text, day_first)


def _iso(text: str) -> datetime | None:
    text = NAMED_ZONE.sub("+00:00", text)
    try:
        found = parse_datetime(text) or parse_date(text)
    except ValueError:
        return None
    if isinstance(found, datetime):
        return found
    if isinstance(found, date):
        return datetime.combine(found, time())
    return None


def _spelled(text: str, day_first: bool) -> datetime | None:
    """A numeric or month-name date with an optional time of day and time zone."""
    clock = TIME_OF_DAY.search(text)
    day_part = text[: clock.start()] if clock else text
    day_part = re.sub(r"\s+at$", "", day_part.strip(" ,T"), flags=re.IGNORECASE)
    day = _day(day_part, day_first)
    if day is None:
        return None
    if clock is None:
        return datetime.combine(day, time())
    hour, minute, second, half, zone = clock.groups()
    hour = int(hour)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    try:
        when = datetime.combine(day, time(hour, int(minute), int(second or 0)))
    except ValueError:
        return None
    return when.replace(tzinfo=_zone(zone)) if zone else when


def _zone(zone: str) -> timezone:
    if zone.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if zone.startswith("-") else 1
    digits = zone[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _day(text: str, day_first: bool) -> date | None:
    found = NUMERIC_DATE.match(text)
    if found:
        first, _, second, third = found.groups()
        if len(first) == 4:
            year, month, day = int(first), int(second), int(third)
        elif day_first:
            day, month, year = int(first), int(second), _year(third)
        else:
            month, day, year = int(first), int(second), _year(third)
        return _valid(year, month, day)
    tokens = [token for token in re.split(r"[\s,./-]+", text.casefold()) if token not in WEEKDAYS]
    names = [token for token in tokens if not token.isdigit()]
    numbers = [token for token in tokens if token.isdigit()]
    if len(names) != 1 or names[0] not in MONTHS or len(numbers) != 2:
        return None
    if len(numbers[0]) == 4:
        year, day = int(numbers[0]), int(numbers[1])
    else:
        day, year = int(numbers[0]), _year(numbers[1])
    return _valid(year, MONTHS[names[0]], day)


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def _valid(year: int, month: int, day: int) -> date | None:
    if not 1970 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
