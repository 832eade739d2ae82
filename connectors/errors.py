"""One error taxonomy for every upstream client.

Callers (Celery tasks, services) decide what to do from the class alone:
- `RetryableError`: try again later, no sooner than `retry_after` seconds when it is set.
- `PermanentError`: retrying cannot help; show `hint` to the admin (needs attention).
- `NotFoundError`: the thing asked for does not exist; often "nothing to do".
Clients never retry by themselves (apart from M3's single re-authentication on 401).
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Base class: something went wrong talking to an outside system."""

    def __init__(
        self,
        message: str,
        *,
        upstream: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.upstream = upstream
        self.status = status
        self.code = code

    def __str__(self) -> str:
        where = f"{self.upstream}: " if self.upstream else ""
        status = f" (HTTP {self.status})" if self.status else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{self.message}{status}{code}"


class RetryableError(UpstreamError):
    """A transient failure: network, timeout, 408, 429, 5xx, upstream concurrency limits."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """The upstream (or our shared limiter) says: too many requests right now."""


class PermanentError(UpstreamError):
    """Retrying will not help; `hint` tells the admin what to fix."""

    def __init__(self, message: str, *, hint: str = "", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.hint = hint or message


class AuthenticationError(PermanentError):
    """Credentials were refused or lack permission."""


class ValidationError(PermanentError):
    """The upstream rejected our input (bad field, missing parameter, wrong format)."""


class AddressNotAllowedError(PermanentError):
    """The upstream's host resolved to an address the hub may not call (private, reserved...)."""


class NotFoundError(UpstreamError):
    """The requested record does not exist upstream."""


class M3TransactionError(PermanentError):
    """An M3 MI transaction answered NOK; names the program, transaction and field at fault."""

    def __init__(
        self,
        message: str,
        *,
        program: str,
        transaction: str,
        field: str = "",
        error_type: str = "",
        **kwargs,
    ) -> None:
        self.program = program
        self.transaction = transaction
        self.field = field
        self.error_type = error_type
        where = f"{program}/{transaction}" + (f" field {field}" if field else "")
        kwargs.setdefault("hint", f"M3 rejected {where}: {message}")
        super().__init__(message, **kwargs)

    def __str__(self) -> str:
        field = f" field {self.field}" if self.field else ""
        code = f" [{self.code}]" if self.code else ""
        return f"m3: {self.program}/{self.transaction}{field}: {self.message}{code}"
