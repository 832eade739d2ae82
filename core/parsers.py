"""Request parsing that answers 4xx, never 500, to pathological JSON.

The order API's body is read here, so this is where its size and nesting are limited: a body
over `DATA_UPLOAD_MAX_MEMORY_SIZE` is a JSON 413 (Django would answer its HTML 400), and a
document nested deeper than `MAX_JSON_DEPTH` a JSON 400 before it is decoded. A `charset=` that is
no character set (rot13, base64, unknown names) is a 415, and a string holding a lone surrogate
(`"\\ud800"`, which no database or encoder takes) a 400 naming where it is.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser, JSONParser

from core.charsets import shown, text_encoding
from core.json_limits import MAX_JSON_DEPTH, too_deep

logger = logging.getLogger("hub.requests")

# Where a lone surrogate may come from: a `\uD800`-`\uDFFF` escape, or (from a decoder that lets
# one through) the character itself. Only a text with one is walked.
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|[\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def body_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) or 1024 * 1024


def refuse_too_large(request: Any, limit: int) -> PayloadTooLarge:
    logger.warning(
        "Refused a request body over %s bytes: %s %s from %s",
        limit,
        getattr(request, "method", "-"),
        getattr(request, "path", "-"),
        getattr(request, "META", {}).get("REMOTE_ADDR", "-"),
    )
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.")


class SafeJSONParser(BaseParser):
    """DRF's JSON parser with a size limit (413) and a nesting limit (400), both as JSON.

    Not a JSONParser subclass on purpose: DRF hands a JSONParser `request.body`, whose size
    check answers Django's HTML 400 before any parser runs; this one reads the stream itself.
    """

    media_type = JSONParser.media_type
    renderer_class = JSONParser.renderer_class

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        limit = body_limit()
        declared = getattr(request, "META", {}).get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit:
            raise refuse_too_large(request, limit)
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise refuse_too_large(request, limit)
        encoding = body_encoding(media_type, parser_context)
        try:
            text = raw.decode(encoding)
        except UnicodeError as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}.") from exc
        if too_deep(text):
            logger.warning(
                "Refused a JSON body nested deeper than %s levels: %s",
                MAX_JSON_DEPTH,
                getattr(request, "path", "-"),
            )
            raise ParseError(
                "JSON parse error - the document is nested too deeply "
                f"(more than {MAX_JSON_DEPTH} levels)."
            )
        try:
            data = JSONParser().parse(
                io.BytesIO(raw), media_type, {**parser_context, "encoding": encoding}
            )
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        if _MAYBE_SURROGATE.search(text) and (found := lone_surrogate(data)):
            where, char = found
            raise ParseError(
                f"JSON parse error - {shown(where, 200)} holds a lone surrogate "
                f"(\\u{ord(char):04x}), which is not valid Unicode; send a character beyond "
                "U+FFFF as UTF-8 or as a pair of escapes (high, then low surrogate)."
            )
        return data


def body_encoding(media_type: str | None, parser_context: dict[str, Any]) -> str:
    """The character set the body is in: the Content-Type's `charset=`, which must be one
    (else 415), or the request's encoding, or UTF-8."""
    _, params = parse_header_parameters(media_type or "")
    named = params.get("charset")
    if named is None:
        return parser_context.get("encoding") or settings.DEFAULT_CHARSET
    encoding = text_encoding(named)
    if encoding is None:
        raise UnsupportedMediaType(
            media_type,
            detail=f"Unsupported charset '{shown(named)}' in the Content-Type header; "
            "send the JSON as UTF-8.",
        )
    return encoding


def lone_surrogate(data: Any, where: str = "") -> tuple[str, str] | None:
    """The first string (key or value) of a decoded document holding a lone surrogate, as
    (where it is, e.g. `lines[0].name` or `a key of extra`, the surrogate); None when none does.

    Recursive: only called on documents the nesting limit has let through.
    """
    if isinstance(data, str):
        match = _SURROGATE.search(data)
        return (where or "the document", match.group()) if match else None
    if isinstance(data, dict):
        for key, value in data.items():
            if match := _SURROGATE.search(key):
                return (f"a key of {where}" if where else "a key", match.group())
            if found := lone_surrogate(value, f"{where}.{key}" if where else key):
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if found := lone_surrogate(value, f"{where}[{index}]"):
                return found
    return None
