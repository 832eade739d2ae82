"""`Authorization: Bearer hub_...` for the order API; every use is stamped and logged."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenant_settings.models import ApiToken
from tenants.activity import record_activity
from tenants.models import ActivityEvent


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>'.")
        token = ApiToken.authenticate(header[1])
        if token is None or not token.user.is_active:
            record_activity(
                "api_token.rejected",
                outcome=ActivityEvent.Outcome.FAILURE,
                message="Unknown, revoked or malformed API token.",
                request=request._request,
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
