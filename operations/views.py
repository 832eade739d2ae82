"""`GET /metrics` on the platform's base domain, for a scrape token or an allowed address.

Set `HUB_METRICS_TOKEN` (Prometheus sends `Authorization: Bearer <token>`) and/or
`HUB_METRICS_ALLOWED_IPS` (comma-separated addresses or networks, e.g. `10.0.0.0/8`). With
neither set the endpoint answers 403 to everybody. Tenant domains have no such URL.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from operations.metrics import exposition


def _token_ok(request: HttpRequest) -> bool:
    expected = settings.HUB_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(expected) and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


def _address_ok(request: HttpRequest) -> bool:
    allowed = [p.strip() for p in settings.HUB_METRICS_ALLOWED_IPS.split(",")]
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for entry in filter(None, allowed):
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not (_token_ok(request) or _address_ok(request)):
        return HttpResponseForbidden(
            "Metrics need the scrape token (Authorization: Bearer …) or an allowed address.",
            content_type="text/plain",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
