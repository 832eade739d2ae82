"""The ShipStation client's core (contracts/shipstation.md): the connection, the generic call,
errors, paging and the rate limit.

Basic auth with the key pair, camelCase JSON, `page`/`pages` paging, 40 requests per minute per
key pair shared through an optional `SlidingWindowLimiter`. ShipStation's `X-Rate-Limit-*`
headers are honoured: `Remaining: 0` pauses every process until the window resets, a 429 raises
`RateLimitedError`. The calls per resource live in the sibling modules, combined in
`client.ShipStationClient`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Protocol

import requests

from connectors._http import HttpClient, Timeout, json_or_none, parse_retry_after
from connectors.errors import RateLimitedError, UpstreamError, ValidationError
from connectors.guard import AddressPolicy

DEFAULT_BASE_URL = "https://ssapi.shipstation.com"
MAX_PAGE_SIZE = 500


class RequestLimiter(Protocol):
    """What the client needs from a shared limiter (see ratelimit.SlidingWindowLimiter)."""

    def acquire(self) -> None: ...

    def hold(self, seconds: float) -> None: ...


class ShipStationBase(HttpClient):
    """One ShipStation V1 account (API key pair): connection, calls, paging, rate limit."""

    upstream = "shipstation"

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = (5.0, 30.0),
        limiter: RequestLimiter | None = None,
        max_wait: float = 30.0,
        page_size: int = MAX_PAGE_SIZE,
        session: requests.Session | None = None,
        allow_address: AddressPolicy | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, session=session, allow_address=allow_address)
        self.session.auth = (api_key, api_secret)
        self.session.headers["Accept"] = "application/json"
        self.limiter = limiter
        self.max_wait = max_wait
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self._paused_until = 0.0

    # Plumbing

    def _pages(self, url: str, params: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self._call(
                "GET", url, params={**params, "page": page, "pageSize": self.page_size}
            )
            yield from body.get(key) or []
            if page >= int(body.get("pages") or 0):
                return
            page += 1

    def _call(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        self._wait_for_turn()
        response = self.send(method, url, **kwargs)
        self._note_rate_headers(response)
        if response.status_code >= 400:
            raise self._error(response)
        return json_or_none(response) if response.content else {}

    def _wait_for_turn(self) -> None:
        """Respect our own pause (no limiter) or the shared limiter before each request."""
        if self.limiter is not None:
            self.limiter.acquire()
            return
        pause = self._paused_until - time.monotonic()
        if pause <= 0:
            return
        if pause > self.max_wait:
            raise RateLimitedError(
                "ShipStation rate window spent", retry_after=pause, upstream=self.upstream
            )
        time.sleep(pause)

    def _note_rate_headers(self, response: requests.Response) -> None:
        """`X-Rate-Limit-Remaining: 0` (or a 429) means: nobody calls until the reset."""
        reset = _float_header(response, "X-Rate-Limit-Reset")
        remaining = _float_header(response, "X-Rate-Limit-Remaining")
        if response.status_code == 429:
            wait = parse_retry_after(response.headers.get("Retry-After")) or reset or 1.0
        elif remaining is not None and remaining <= 0 and reset:
            wait = reset
        else:
            return
        if self.limiter is not None:
            self.limiter.hold(wait)
        else:
            self._paused_until = max(self._paused_until, time.monotonic() + wait)

    def _error(self, response: requests.Response) -> UpstreamError:
        body = json_or_none(response)
        message = _error_message(body) or f"HTTP {response.status_code}"
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None:
                retry_after = _float_header(response, "X-Rate-Limit-Reset")
            return RateLimitedError(
                message, retry_after=retry_after, upstream=self.upstream, status=429
            )
        error = self.http_error(response, message)
        if isinstance(error, ValidationError) and isinstance(body, dict) and body.get("ModelState"):
            error.hint = "ShipStation rejected the order: " + "; ".join(
                f"{name}: {' '.join(problems)}" for name, problems in body["ModelState"].items()
            )
        return error


def _float_header(response: requests.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None


def _error_message(body: Any) -> str:
    """ShipStation's ASP.NET error bodies: `Message` (+ `ExceptionMessage`) or `message`."""
    if not isinstance(body, dict):
        return ""
    message = body.get("Message") or body.get("message") or ""
    if body.get("ExceptionMessage"):
        message = f"{message} {body['ExceptionMessage']}".strip()
    return message
