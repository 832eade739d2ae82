"""`Authorization: Bearer hub_...` for the order API; every use is stamped and logged.

Failed attempts are counted per address: the first of a window writes one audit row, the rest
are counted (tenants.activity.record_repeated_failure). Past `HUB_TOKEN_FAILURE_LIMIT` in
`HUB_TOKEN_FAILURE_WINDOW` seconds a wrong token from the address gets 429 instead of 401, and
is only counted; a valid token from the same address still works. A token is checked the same
way under and over the limit (one lookup by its unique prefix, then a constant-time comparison
of its hash), so a flood of wrong tokens cannot lock the address's valid ones out, and the
answer tells nothing a 401 would not.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenant_settings.models import ApiToken
from tenants.activity import (
    count_failure,
    failures_in_window,
    record_activity,
    record_repeated_failure,
)

logger = logging.getLogger("hub.auth")

REJECTED = "api_token.rejected"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>'.")
        window, limit = settings.HUB_TOKEN_FAILURE_WINDOW, settings.HUB_TOKEN_FAILURE_LIMIT
        token = ApiToken.authenticate(header[1])
        if token is None or not token.user.is_active:
            if failures_in_window(REJECTED, request._request) >= limit:
                count_failure(REJECTED, request._request, window)
                raise exceptions.Throttled(
                    wait=window,
                    detail=f"Too many failed API token attempts from this address (more than "
                    f"{limit} in {window} s).",
                )
            failure = record_repeated_failure(
                REJECTED,
                message="Unknown, revoked or malformed API token.",
                request=request._request,
                window_seconds=window,
            )
            if failure.count == limit:
                logger.warning(
                    "API token attempts from %s throttled after %s failures in %s s",
                    request._request.META.get("REMOTE_ADDR", "-"),
                    failure.count,
                    window,
                )
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        token.last_used_at = timezone.now()
        token.save(update_fields=["last_used_at"])
        record_activity(
            "api_token.used",
            actor=f"{token.user.get_username()} (token {token.key_prefix})",
            obj=token,
            message=f"{request.method} {request.path}",
            request=request._request,
        )
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the bearer token in the OpenAPI schema, so the docs page can send it."""

    target_class = ApiTokenAuthentication
    name = "ApiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
