"""Secrets that travel in URLs never reach a log line.

A store's webhook token is the last segment of its callback URL (`/webhooks/api2cart/<token>/`),
so every request log (Django's `django.request` "Not Found: ..." lines, the development server's
access lines) and any hub message quoting the URL would carry it. `RedactSecrets` rewrites the
formatted message of every record that passes through the hub's handlers; settings' LOGGING
puts it on them, and Celery's own handlers get it when the worker sets up logging.
"""

from __future__ import annotations

import logging
import re

WEBHOOK_TOKEN = re.compile(r"(/webhooks/(?:api2cart|shipstation)/)[^/\s?#\"']+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return WEBHOOK_TOKEN.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Replaces webhook tokens in the record's message (and its exception text) before output."""

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
        return True


def add_to_handlers(logger: logging.Logger) -> None:
    """Put the filter on every handler of `logger` (used for handlers Celery installs)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
