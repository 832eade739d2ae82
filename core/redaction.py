"""Secrets and personal data never reach a log line.

A store's webhook token is the last segment of its callback URL (`/webhooks/api2cart/<token>/`),
so every request log (Django's `django.request` "Not Found: ..." lines, the development server's
access lines) and any hub message quoting the URL would carry it. Shoppers' e-mail addresses,
phone numbers, names and street lines reach messages the same way: an error quoting an upstream's
answer, a dict of an order's ship-to formatted into a line, a structured `extra`. `RedactSecrets`
rewrites the formatted message of every record that passes through the hub's handlers, its
exception text and its structured extras; settings' LOGGING puts it on them, and Celery's own
handlers get it when the worker sets up logging.

The e-mail and phone patterns are written so PostgreSQL's regular expressions read them the same
way: the privacy app scrubs stored texts with them in SQL (`privacy.removal`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

WEBHOOK_TOKEN = re.compile(r"(/webhooks/(?:api2cart|shipstation)/)[^/\s?#\"']+")
REDACTED = "[redacted]"

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
INTERNATIONAL_PHONE_PATTERN = r"\+[1-9][0-9 ()./-]{6,}[0-9]"
"""+44 7700 900123, +1 (555) 010-2000: a plus, then at least eight digits and separators."""
NATIONAL_PHONE_PATTERN = r"(?<![0-9])0[1-9][0-9]{2,3}[ -]?[0-9]{3}[ -]?[0-9]{3,4}(?![0-9])"
"""07700 900123, 020 7946 0000, 01632960001: UK numbers (the hub's client), never inside a
longer number (upstream references keep their digits)."""
PERSONAL_PATTERNS = (EMAIL_PATTERN, INTERNATIONAL_PHONE_PATTERN, NATIONAL_PHONE_PATTERN)

PERSONAL_KEYS = (
    "name", "first_name", "last_name", "firstname", "lastname", "full_name", "company",
    "street", "street1", "street2", "street3", "address", "address1", "address2", "address3",
    "email", "customer_email", "phone", "telephone", "mobile", "postal_code", "postcode", "zip",
    "comment", "comments", "note", "notes", "customer_note", "customerNotes", "gift_message",
)  # fmt: skip
"""Keys whose values are personal wherever a structure is logged (a ship-to, a customer, the
shopper's free-text notes)."""
_KEYS = "|".join(PERSONAL_KEYS)
_LOWER_KEYS = frozenset(key.lower() for key in PERSONAL_KEYS)
QUOTED_PERSONAL_VALUE = re.compile(
    rf"""(?P<key>(["'])(?:{_KEYS})\2\s*[:=]\s*)(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""",
    re.IGNORECASE,
)
"""`'street1': 'x'` (a dict's repr) and `"email": "x"` (JSON) in a message."""
PERSONAL_ASSIGNMENT = re.compile(
    rf"(?P<key>(?<![\w.])(?:{_KEYS})=)(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;)}}\]]+)", re.IGNORECASE
)
"""`street1=High Street` style key=value pairs (structured log lines)."""
PERSONAL_TEXT = re.compile("|".join(f"(?:{pattern})" for pattern in PERSONAL_PATTERNS))

_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def redact(text: str) -> str:
    """The text without webhook tokens, e-mail addresses, phone numbers or personal fields."""
    text = WEBHOOK_TOKEN.sub(rf"\g<1>{REDACTED}", text)
    text = QUOTED_PERSONAL_VALUE.sub(rf"\g<key>'{REDACTED}'", text)
    text = PERSONAL_ASSIGNMENT.sub(rf"\g<key>{REDACTED}", text)
    return PERSONAL_TEXT.sub(REDACTED, text)


def redact_value(value: Any, key: str = "") -> Any:
    """A structured log value (an `extra`) with its personal parts redacted, keys kept."""
    if key.lower() in _LOWER_KEYS and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


class RedactSecrets(logging.Filter):
    """Removes webhook tokens and personal data from the record's message, its exception text
    and its structured extras before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the formatter's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key in set(vars(record)) - _RECORD_FIELDS:
            setattr(record, key, redact_value(getattr(record, key), key))
        return True


def add_to_handlers(logger: logging.Logger) -> None:
    """Put the filter on every handler of `logger` (used for handlers Celery installs)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
