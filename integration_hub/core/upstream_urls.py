"""Upstream base URLs typed by tenant admins must not point the hub at its own network.

In production a tenant admin could otherwise make the hub call internal services (and read the
answer in the connection test). Two checks: the URL when a form is saved (a clear message), and
the resolved address each time a client connects (`upstream_address_policy`, handed to every
client), because a name can resolve elsewhere after it was saved (DNS rebinding). Development
and tests allow loopback so the sandbox works.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from integration_hub.connectors.guard import AddressPolicy, is_public_address, parse_address

REFUSED_UPSTREAM_MESSAGE = "the address is not allowed for upstream calls"
"""The one text the connection test shows for any refused address, so it reveals nothing."""


def private_upstreams_allowed() -> bool:
    return bool(getattr(settings, "HUB_ALLOW_PRIVATE_UPSTREAMS", False))


def upstream_address_policy() -> AddressPolicy | None:
    """What clients check at connect time: nothing in development, public addresses otherwise."""
    return None if private_upstreams_allowed() else is_public_address


def check_upstream_url(url: str, *, label: str) -> None:
    """Refuse a URL the HTTP client could read differently, or that resolves to a private address.

    Backslashes and user-info are refused outright: parsers disagree on where the host of
    `https://169.254.169.254\\@93.184.216.34/` ends, and an upstream base URL needs neither.
    """
    if private_upstreams_allowed():
        return
    if "\\" in url or any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise ValidationError(f"{label} contains a backslash, a space or a control character.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"{label} is not a valid URL ({exc}).") from exc
    if parts.scheme != "https":
        raise ValidationError(f"{label} must be an https:// URL.")
    if "@" in parts.netloc:
        raise ValidationError(f"{label} must not contain a user name or password (user@host).")
    if not parts.hostname:
        raise ValidationError(f"{label} has no host name.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port or 443)}
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"{label}: the host {parts.hostname} cannot be resolved.") from exc
    for address in sorted(addresses):
        if not is_public_address(parse_address(address)):
            raise ValidationError(f"{label} points at a private address ({address}).")
