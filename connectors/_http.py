"""The HTTP plumbing the three clients share: one session, timeouts, no redirects at all.

Transport failures are classified here once, so every client raises the same error classes. With
an `allow_address` policy, every connection checks the address it actually connects to
(`connectors.guard`), so a name that resolves elsewhere later is still refused.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Mapping
from typing import Any, Self
from urllib.parse import urlsplit

import requests

from connectors.errors import (
    AddressNotAllowedError,
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    UpstreamError,
    ValidationError,
)
from connectors.guard import AddressPolicy, AddressRefused, GuardedAdapter

Timeout = tuple[float, float]
"""(connect, read) seconds, passed to every request."""

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports made explicit, for same-host checks."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds (it may be a number or an HTTP date); None when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def drop_empty(params: Mapping[str, Any]) -> dict[str, Any]:
    """Leave out None so optional parameters are simply not sent."""
    return {key: value for key, value in params.items() if value is not None}


class HttpClient:
    """Base for the upstream clients: owns the `requests.Session` and the origin allow-list."""

    upstream = ""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: Timeout,
        session: requests.Session | None = None,
        extra_origins: Iterable[str] = (),
        allow_address: AddressPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self._origins = {origin(self.base_url), *(origin(url) for url in extra_origins)}
        if allow_address is not None:
            guarded = GuardedAdapter(allow_address)
            self.session.mount("http://", guarded)
            self.session.mount("https://", guarded)
            # An environment proxy would resolve the name itself, out of the guard's sight.
            self.session.trust_env = False

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange. Refuses foreign hosts and redirects; maps transport failures."""
        if origin(url) not in self._origins or "\\" in url or "@" in urlsplit(url).netloc:
            raise PermanentError(
                f"Refusing to call {url}: not the configured host",
                upstream=self.upstream,
                hint="The URL points at a different host than the configured base URL.",
            )
        try:
            response = self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except AddressRefused as exc:
            raise AddressNotAllowedError(
                f"Refusing to connect: {exc}",
                upstream=self.upstream,
                hint="Upstream URLs must point at public internet addresses.",
            ) from exc
        except requests.Timeout as exc:
            raise RetryableError(f"Timed out: {exc}", upstream=self.upstream) from exc
        except requests.ConnectionError as exc:
            raise RetryableError(f"Connection failed: {exc}", upstream=self.upstream) from exc
        except requests.RequestException as exc:
            raise RetryableError(f"Request failed: {exc}", upstream=self.upstream) from exc
        if response.is_redirect:
            location = response.headers.get("Location", "")
            raise PermanentError(
                f"Unexpected redirect ({response.status_code}) to {location!r}",
                upstream=self.upstream,
                status=response.status_code,
                hint="The upstream redirected the call; check the configured base URL.",
            )
        return response

    def http_error(self, response: requests.Response, message: str) -> UpstreamError:
        """The taxonomy for a failed HTTP status, used when a client has nothing more specific."""
        status = response.status_code
        if status == 429:
            return RateLimitedError(
                message,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                upstream=self.upstream,
                status=status,
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            return RetryableError(
                message,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                upstream=self.upstream,
                status=status,
            )
        if status in (401, 403):
            return AuthenticationError(
                message,
                upstream=self.upstream,
                status=status,
                hint="The upstream refused the credentials; check the connection settings.",
            )
        if status == 404:
            return NotFoundError(message, upstream=self.upstream, status=status)
        return ValidationError(message, upstream=self.upstream, status=status)


def json_or_none(response: requests.Response) -> Any:
    """The JSON body, or None when the body is empty or not JSON (error pages, proxies)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
