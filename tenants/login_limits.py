"""Login lockouts (django-axes): a user name at an address, and an address whatever the names.

Axes counts failed logins per lockout parameter (`AXES_LOCKOUT_PARAMETERS`: user name +
address, and address) and compares the largest count, the address's, with one limit.
`failure_limit` makes that limit depend on the attempt: `HUB_LOGIN_FAILURE_LIMIT` once the user
name has that many failures from the address, `HUB_LOGIN_ADDRESS_FAILURE_LIMIT` otherwise. So
sign-in is blocked for a user name at an address after 5 failures, and for the whole address
after 20 failures spread over any user names (password spraying). The attempt rows live in each
schema, so both counts are per tenant, and the platform's are apart.

`LoginAttempts` is axes' database handler, except that a successful login forgives only its own
user name's failures from the address: axes' own reset deletes every row of every parameter,
the address's other names included, so one valid account would reset the address's count
between sprays.
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest


def _user_attempts(request: HttpRequest, credentials: dict[str, Any] | None) -> QuerySet:
    AxesProxyHandler.update_request(request)  # sets the axes_* attributes once per request
    return AccessAttempt.objects.filter(
        username=get_client_username(request, credentials),
        ip_address=request.axes_ip_address,
    )


def _failures(request: HttpRequest, attempts: QuerySet) -> int:
    """The attempts' failures within the cool-off time."""
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def user_failures(request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
    """Failed logins of the attempt's user name from its address."""
    return _failures(request, _user_attempts(request, credentials))


def address_failures(request: HttpRequest) -> int:
    """Failed logins from the attempt's address, whatever the user names."""
    AxesProxyHandler.update_request(request)
    return _failures(request, AccessAttempt.objects.filter(ip_address=request.axes_ip_address))


def address_limit() -> int:
    return max(settings.HUB_LOGIN_ADDRESS_FAILURE_LIMIT, settings.HUB_LOGIN_FAILURE_LIMIT)


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
    """`AXES_FAILURE_LIMIT`: the user name's limit once it is reached, else the address's."""
    user_limit = settings.HUB_LOGIN_FAILURE_LIMIT
    if user_failures(request, credentials) >= user_limit:
        return user_limit
    return address_limit()


class LoginAttempts(AxesDatabaseHandler):
    """Axes' database handler; a successful login resets only its user name at its address."""

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        count, _ = _user_attempts(request, credentials).delete()
        return count
