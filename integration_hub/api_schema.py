"""What the API schema says beyond each view's own declaration (a drf-spectacular hook).

Every operation can be refused before its view runs (a NUL in the request, a missing or wrong
token, a throttle, a method it does not take, a busy hub), and an operation with a JSON body also
for the body itself (not JSON, too large, an unknown charset): those answers are listed here once,
each with the one error body (`Error`, `core/api_errors.py`) and an example. The OpenAPI links
say how a client (or Schemathesis's stateful phase) goes on from a placed order: read it, then
ask for its invoice; drf-spectacular does not emit links itself.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}

BEFORE_THE_VIEW: dict[str, tuple[str, str]] = {
    "400": (
        "Bad request: a NUL character in the URL, a query parameter or a header.",
        "A NUL character (\\u0000) is not allowed in the query parameter 'order_number'.",
    ),
    "401": ("Missing or invalid token.", "Invalid or revoked API token."),
    "405": (
        "This method is not allowed here (`Allow` lists those that are).",
        'Method "DELETE" not allowed.',
    ),
    "406": (
        "The `Accept` header asks for something other than JSON.",
        "Could not satisfy the request Accept header.",
    ),
    "429": (
        "Too many requests (`HUB_API_RATE` per user), or too many wrong tokens from this "
        "address; `Retry-After` says when to try again.",
        "Request was throttled. Expected available in 12 seconds.",
    ),
    "503": (
        "The hub is busy or its database unreachable; `Retry-After` says when to try again.",
        "The hub is busy; try again shortly.",
    ),
}
FOR_THE_BODY: dict[str, tuple[str, str]] = {
    "400": (
        "Invalid request body (fields by path in `errors`), or not JSON.",
        "JSON parse error - Expecting value: line 1 column 1 (char 0)",
    ),
    "413": ("The body is larger than 1 MiB.", "The request body is larger than 1048576 bytes."),
    "415": (
        "The body is not JSON, or its `charset` is not a character set.",
        "Unsupported charset 'rot13' in the Content-Type header; send the JSON as UTF-8.",
    ),
}

LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    # (operationId, status) -> links from that answer
    ("v1_orders_create", "201"): {
        "ShowOrder": {
            "operationId": "v1_orders_retrieve",
            "parameters": {"id": "$response.body#/id"},
            "description": "The order just placed, with its timeline.",
        },
        "GenerateInvoice": {
            "operationId": "orders_generate_invoice",
            "parameters": {"id": "$response.body#/id"},
            "description": "Ask the ERP to invoice the order just placed.",
        },
    },
    ("v1_orders_retrieve", "200"): {
        "GenerateInvoice": {
            "operationId": "orders_generate_invoice",
            "parameters": {"id": "$response.body#/id"},
            "description": "Ask the ERP to invoice this order.",
        },
    },
}


def error_response(description: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": ERROR_REF,
                "examples": {"Refused": {"value": {"detail": example, "errors": {}}}},
            }
        },
    }


def document_every_answer(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """`SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]`: the answers no view declares, and links."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            answers = dict(BEFORE_THE_VIEW)
            if "requestBody" in operation:
                answers.update(FOR_THE_BODY)
            for code, (description, example) in answers.items():
                responses.setdefault(code, error_response(description, example))
            for code, links in LINKS.items():
                if code[0] == operation.get("operationId") and code[1] in responses:
                    responses[code[1]]["links"] = links
    return result
