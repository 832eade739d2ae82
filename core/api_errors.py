"""One error body for every refusal under `/api/`: `{"detail": str, "errors": {path: [str]}}`.

A client generated from the schema reads every 4xx and 5xx the same way, whoever answered it:
a view, DRF (validation, parsing, authentication, permissions, throttling, method errors) through
`exception_handler`, or a request guard in `core.middleware` before any view ran (unknown URLs,
NUL characters, a busy or database-less hub). `errors` is always there, empty when the problem is
the request as a whole, and names fields by path (`lines[2].quantity`) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"


def error_paths(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as flat paths a person can read: {"lines[2].quantity": [...]}.

    List items' errors come keyed by index (DRF's dict format) or as a list with {} for valid items.
    """
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                path = prefix or key
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(error_paths(value, path))
        return flat
    if isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(error_paths(item, f"{prefix}[{index}]"))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix: [str(message) for message in messages]} if messages else {}


def invalid_fields(errors: dict[str, list[str]], what: str = "request") -> str:
    """The `detail` of a validation error: how many fields are wrong."""
    noun = "field" if len(errors) == 1 else "fields"
    return f"The {what} has {len(errors)} invalid {noun}."


def error_body(detail: str, errors: dict[str, list[str]] | None = None, **extra: Any) -> dict:
    """The error body; `extra` adds what a refusal names besides (the order it collided with)."""
    return {"detail": str(detail), "errors": errors or {}, **extra}


def error_response(
    detail: str, status: int, errors: dict[str, list[str]] | None = None
) -> JsonResponse:
    """The error body from outside DRF (middleware, Django's handlers)."""
    return JsonResponse(error_body(detail, errors), status=status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, `WWW-Authenticate`, `Retry-After`, `Allow`) with the hub's body."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        errors = error_paths(exc.detail) or {api_settings.NON_FIELD_ERRORS_KEY: ["Invalid input."]}
        response.data = error_body(invalid_fields(errors), errors)
    else:
        data = response.data
        detail = data.get("detail", "") if isinstance(data, Mapping) else data
        response.data = error_body(str(detail))
    return response


class ErrorSerializer(serializers.Serializer):
    """Why a request was refused (component `Error`); every 4xx and 5xx under `/api/`."""

    detail = serializers.CharField(help_text="What was wrong, in words.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages by field path, e.g. "lines[2].quantity" (lists count from 0); '
        "empty when the request as a whole was refused.",
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`handler404`: the error body under `/api/` (with DEBUG off), Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return error_response("Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: the error body under `/api/` (with DEBUG off), Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return error_response("The hub failed to answer this request; it has been logged.", 500)
    return defaults.server_error(request)
