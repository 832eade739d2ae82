"""Request parsing that answers 4xx, never 500, to pathological JSON.

The order API's body is read here, so this is where its size and nesting are limited: a body
over `DATA_UPLOAD_MAX_MEMORY_SIZE` is a JSON 413 (Django would answer its HTML 400), and a
document nested deeper than `MAX_JSON_DEPTH` a JSON 400 before it is decoded.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser, JSONParser

from integration_hub.core.json_limits import MAX_JSON_DEPTH, too_deep

logger = logging.getLogger("hub.requests")


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
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
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
            return JSONParser().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
