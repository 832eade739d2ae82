"""Upstream base URLs typed by tenant admins must not point the hub at its own network.

In production a tenant admin could otherwise make the hub call internal services (and read the
answer in the connection test). Two checks: the URL when a form is saved (a clear message), and
the resolved address each time a client connects (`upstream_address_policy`, handed to every
client), because a name can resolve elsewhere after it was saved (DNS rebinding). Development
and tests allow loopback so the sandbox works.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from connectors.guard import AddressPolicy, is_public_address, parse_address

# A host whose last label is a number is an IPv4 address to URL parsers (WHATWG "ends in a number"):
# `2130706433`, `0x7f.1`, `127.1` and `0177.0.0.1` all mean 127.0.0.1 to someone.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
# RFC 6761: these names are loopback whatever DNS says.
_LOOPBACK_NAMES = re.compile(r"(?:.+\.)?localhost")

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
    So are hosts that are not plain ASCII or are percent-encoded, IPv4 addresses in any spelling
    but four decimal numbers (`2130706433`, `0x7f.1`, `127.1`, `127.0.0.1.`), and `localhost`
    names; what is left is judged by `is_public_address` on the literal or on every resolved
    address.
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
    for address in _host_addresses(parts.hostname, port or 443, label=label):
        if not is_public_address(parse_address(address)):
            raise ValidationError(f"{label} points at a private address ({address}).")


def _host_addresses(host: str, port: int, *, label: str) -> list[str]:
    """The addresses `host` stands for: an IP literal itself, a name what it resolves to now.

    An IP address must be written in its one standard form, so what is checked here is what every
    client will connect to; the connect-time policy checks the resolved address again anyway."""
    if not host.isascii() or "%" in host:
        raise ValidationError(
            f"{label} must name its host in plain ASCII without percent-encoding "
            "(international names in their xn-- form)."
        )
    name = host.removesuffix(".")
    if ":" in name:  # an IPv6 literal; urlsplit has checked it and dropped the brackets
        return [name]
    if _NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        try:
            canonical = str(ipaddress.IPv4Address(name))
        except ValueError:
            canonical = ""
        if canonical != host:
            raise ValidationError(
                f"{label} writes an IP address in a non-standard form ({host}); "
                "use four decimal numbers such as 93.184.216.34."
            )
        return [host]
    if _LOOPBACK_NAMES.fullmatch(name):
        raise ValidationError(f"{label} points at a private address ({host}).")
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, port)})
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"{label}: the host {host} cannot be resolved.") from exc
