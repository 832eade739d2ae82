"""Tenant routing by host, answering a disallowed Host header with 400 (django-tenants says 404)."""

from __future__ import annotations

import logging

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template import loader
from django_tenants.middleware.main import TenantMainMiddleware

logger = logging.getLogger("hub.requests")


class HubTenantMiddleware(TenantMainMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            request.get_host()
        except DisallowedHost as exc:
            logger.warning("Refused request with a bad Host header: %s", exc)
            return HttpResponseBadRequest(loader.render_to_string("400.html"))
        return super().process_request(request)
