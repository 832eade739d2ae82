"""Upstream base URLs typed by tenant admins must not point the hub at its own network.

In production a tenant admin could otherwise make the hub call internal services (and read the
answer in the connection test). Development and tests allow loopback so the sandbox works.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def check_upstream_url(url: str, *, label: str) -> None:
    if getattr(settings, "HUB_ALLOW_PRIVATE_UPSTREAMS", False):
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise ValidationError(f"{label} must be an https:// URL.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"{label}: the host {parts.hostname} cannot be resolved.") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            raise ValidationError(f"{label} points at a private address ({address}).")
