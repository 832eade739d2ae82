"""The API2Cart client's core: HTTP, the response envelope, return codes and paging.

API2Cart answers errors with HTTP 200 and a non-zero `return_code`; `_call` maps every code to
the shared taxonomy (§1.4). List methods are generators that page by `page_cursor` (the only
paging Shopify supports) or by `start`/`count` where the method has no cursor. Concurrency (5
calls per store, 10 per account) is shared through an optional `ConcurrencySlots` limiter.
The methods per entity live in the sibling modules, combined in `client.Api2CartClient`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote

import requests

from connectors._http import HttpClient, Timeout, drop_empty, json_or_none
from connectors.api2cart.values import ISO_INPUT_FORMAT, format_a2c_datetime, text
from connectors.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    UpstreamError,
    ValidationError,
)
from connectors.guard import AddressPolicy

DEFAULT_BASE_URL = "https://api.api2cart.com/v1.1"
MAX_PAGE_SIZE = 250
MAX_BATCH_ITEMS = 250
FORCE_ALL = "force_all"

# §1.4 return codes. Concurrency/throttling first: the caller waits and tries again.
RATE_LIMIT_CODES = frozenset({7, 10, 110})
TRANSIENT_CODES = frozenset({1, 9, 100, 105, 106})
# §7.18: 12 answers a batch job result asked for before the job finished ("not processed yet").
NOT_READY_CODES = frozenset({12})
AUTH_CODES = frozenset({2, 4, 5, 6})
NOT_FOUND_CODES = frozenset({112})
CODE_HINTS = {
    1: "API2Cart is not available right now.",
    12: "The batch job has not finished yet; the hub will ask again.",
    2: "The API2Cart API key is wrong; check the account settings.",
    3: "The client called API2Cart without a method (a bug in the hub).",
    4: "API2Cart refused access to this store; check the store key.",
    5: "API2Cart refused API access for this account.",
    6: "The API2Cart API key is disabled.",
    7: "Too many calls to this store at once; the hub will retry.",
    8: "This store is already connected to the API2Cart account.",
    9: "API2Cart had an internal error.",
    10: "Too many calls on the API2Cart account at once; the hub will retry.",
    100: "API2Cart cannot reach the store (URL, credentials or bridge); check the store.",
    101: "API2Cart does not know this store key; reconnect the store.",
    102: "The store's FTP access is wrong.",
    103: "The store's FTP user cannot write.",
    104: "The bridge was not found in the store's FTP folder.",
    105: "The store's connection bridge answered with an error.",
    106: "The store URL is not reachable.",
    107: "The store returned an error (or the cart is unsupported).",
    109: "A parameter was not valid (format or value).",
    110: "The store's platform is throttling API calls; the hub will retry.",
    111: "Too many items were requested at once.",
    112: "The item was not found in the store.",
    113: "The item already exists in the store (e.g. a duplicate SKU).",
    114: "A required parameter was missing.",
    115: "Too many possible prefixes.",
    116: "Duplicate record in API2Cart's database.",
}


class ConcurrencySlots(Protocol):
    """What the client needs from a shared limiter (see ratelimit.ConcurrencyLimiter)."""

    def slot(self) -> AbstractContextManager[None]: ...


class Api2CartBase(HttpClient):
    """The core each entity mixin builds on: connection, generic call, envelope and paging."""

    upstream = "api2cart"

    def __init__(
        self,
        api_key: str,
        store_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = (10.0, 180.0),
        limiter: ConcurrencySlots | None = None,
        page_size: int = MAX_PAGE_SIZE,
        date_input_format: str = ISO_INPUT_FORMAT,
        session: requests.Session | None = None,
        allow_address: AddressPolicy | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, session=session, allow_address=allow_address)
        self.store_key = store_key
        self.limiter = limiter
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.date_input_format = date_input_format
        self.session.headers.update({"x-api-key": api_key, "Accept": "application/json"})

    # Generic call and paging

    def call(
        self,
        method: str,
        http_method: str = "GET",
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        store: bool = True,
    ) -> dict[str, Any]:
        """Any API2Cart method (e.g. "order.shipment.info"); returns the `result` object."""
        return self._call(http_method, method, params=params, json=json, store=store)

    def _dates(
        self,
        modified_from: datetime | None,
        modified_to: datetime | None,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> dict[str, str | None]:
        values = {
            "modified_from": modified_from,
            "modified_to": modified_to,
            "created_from": created_from,
            "created_to": created_to,
        }
        return {
            name: None if value is None else format_a2c_datetime(value, self.date_input_format)
            for name, value in values.items()
        }

    def _cursor_pages(
        self, method: str, filters: Mapping[str, Any], key: str, *, force_all: bool = True
    ) -> Iterator[dict[str, Any]]:
        """First page with the filters; then only `page_cursor` (it encodes them, §1.7)."""
        fixed = {"count": self.page_size, **({"params": FORCE_ALL} if force_all else {})}
        params: dict[str, Any] = {**drop_empty(filters), **fixed}
        while True:
            result, pagination = self._call_paged("GET", method, params=params)
            rows = result.get(key) or []
            yield from rows
            cursor = (pagination or {}).get("next")
            if not rows or not cursor:
                return
            params = {**fixed, "page_cursor": unquote(cursor)}

    def _offset_pages(
        self, method: str, filters: Mapping[str, Any], key: str, *, store: bool = True
    ) -> Iterator[dict[str, Any]]:
        """`start`/`count` paging; stops on a short page, never on `next` (§1.7)."""
        start = 0
        while True:
            params = {**drop_empty(filters), "start": start, "count": self.page_size}
            result, _ = self._call_paged("GET", method, params=params, store=store)
            rows = result.get(key) or []
            yield from rows
            if len(rows) < self.page_size:
                return
            start += len(rows)

    def _call(self, http_method: str, method: str, **kwargs: Any) -> dict[str, Any]:
        result, _ = self._call_paged(http_method, method, **kwargs)
        return result

    def _call_paged(
        self,
        http_method: str,
        method: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        store: bool = True,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        headers = {}
        if store:
            if not self.store_key:
                raise ValueError(f"{method} needs a store key")
            headers["x-store-key"] = self.store_key
        slot = self.limiter.slot() if self.limiter is not None else nullcontext()
        with slot:
            response = self.send(
                http_method,
                self.url(f"{method}.json"),
                params=drop_empty(params or {}),
                json=json,
                headers=headers,
            )
        body = json_or_none(response)
        if response.status_code != 200:
            raise self.http_error(response, f"{method}: HTTP {response.status_code}")
        if not isinstance(body, Mapping) or "return_code" not in body:
            raise RetryableError(
                f"{method}: answer is not an API2Cart envelope", upstream=self.upstream
            )
        code = int(body["return_code"])
        if code != 0:
            raise return_code_error(method, code, text(body.get("return_message")))
        result = body.get("result")
        return (result if isinstance(result, dict) else {}), body.get("pagination")


def return_code_error(method: str, code: int, message: str) -> UpstreamError:
    """The taxonomy for a non-zero `return_code` (§1.4)."""
    summary = f"{method}: {message or 'error'}"
    hint = CODE_HINTS.get(code, f"API2Cart error {code}: {message}")
    common = {"upstream": "api2cart", "code": str(code)}
    if code in RATE_LIMIT_CODES:
        return RateLimitedError(summary, retry_after=None, **common)
    if code in TRANSIENT_CODES or code in NOT_READY_CODES:
        return RetryableError(summary, **common)
    if code in AUTH_CODES:
        return AuthenticationError(summary, hint=hint, **common)
    if code in NOT_FOUND_CODES:
        return NotFoundError(summary, **common)
    if code in (109, 111, 114):
        return ValidationError(summary, hint=hint, **common)
    return PermanentError(summary, hint=hint, **common)
