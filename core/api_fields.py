"""Serializer fields that take exactly what the API's schema says, so a client generated from
the schema is never surprised: a string field takes a JSON string only (DRF would store
`0` as `"0"`), and the rules the hub enforces (no NUL, not only spaces, decimals as written)
appear in the schema as patterns.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.fields import empty

SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What `str.strip()` drops (DRF trims strings and decimals with it), spelt out: a schema's
`\\s` is ECMAScript's, which differs (no U+001C-U+001F or U+0085, but U+FEFF)."""
NO_NUL = RegexValidator(r"\A[^\x00]+\Z", "A NUL character (\\u0000) is not allowed here.")
"""PostgreSQL refuses NUL in text; DRF refuses it too, and this says so in the schema. Only for
fields that may be blank, whose "" the schema allows on its own (and DRF takes before this runs)."""
SOME_TEXT = RegexValidator(
    rf"\A[{SPACE}]*[^{SPACE}\x00][^\x00]*\Z", "Write at least one character that is not a space."
)
"""A required string: surrounding spaces are dropped, so it needs one character besides them."""


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans (`"order_number": 0` is a 400, not
    `"0"`), counts `max_length` on the string as sent (DRF counts it after dropping surrounding
    spaces), and documents that NUL is refused and what a required value needs."""

    default_error_messages = {
        "invalid": "Not a valid string: send a JSON string.",
        "max_length": "Ensure this field has no more than {max_length} characters.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(NO_NUL if self.allow_blank else SOME_TEXT)

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)  # as sent, spaces too
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def decimal_schema(*, whole_digits: int, places: int, description: str) -> dict:
    """A decimal at least 0: a JSON string of digits (the exact value) or a whole JSON number.

    Fractional JSON numbers are taken too, as the decimal they print as; a client that wants
    the cents it means sends a string.
    """
    digits = rf"(\d{{1,{whole_digits}}}(\.\d{{0,{places}}})?|\.\d{{1,{places}}})"
    return {
        "oneOf": [
            {"type": "string", "pattern": rf"^[{SPACE}]*\+?{digits}[{SPACE}]*$"},
            {"type": "integer", "minimum": 0, "maximum": 10**whole_digits - 1},
        ],
        "description": description,
    }


def whole_number_schema(*, digits: int, places: int, description: str) -> dict:
    """A whole number above 0, as a JSON string (`"2"`, `"2.000"`) or a JSON number."""
    whole = rf"0*[1-9]\d{{0,{digits - 1}}}(\.0{{0,{places}}})?"
    return {
        "oneOf": [
            {"type": "string", "pattern": rf"^[{SPACE}]*\+?{whole}[{SPACE}]*$"},
            {"type": "integer", "minimum": 1, "maximum": 10**digits - 1},
        ],
        "description": description,
    }
