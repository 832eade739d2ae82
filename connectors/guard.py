"""Which network addresses an upstream call may reach, checked when the socket is opened.

A URL checked when a form is saved can resolve elsewhere by the time a worker calls it (DNS
rebinding), so the clients can be given a policy (`allow_address`) that is applied to the
addresses the name resolves to at connect time; the socket is then opened to the very address
that was checked, never resolved a second time. The policy is passed in by the code that builds
clients: the connectors know nothing of the hub's settings.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]
"""True when a call may connect to this address."""


class AddressRefused(Exception):
    """The upstream's host resolved to an address the policy refuses (not an OSError on purpose:
    urllib3 must not retry or wrap it)."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which upstream calls may not reach")
        self.host = host
        self.address = address


# IPv4 blocks no upstream call may reach: RFC 1918, loopback, link-local (cloud metadata), the
# IANA special-purpose registry (RFC 6890) and everything not unicast. Python's `is_global` is
# consulted as well, but it differs between Python versions, so the list does not depend on it.
_REFUSED_IPV4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata services
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments (192.0.0.9 PCP, .10 TURN, .170 NAT64, ...)
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast, deprecated
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address 255.255.255.255
    )
)

# IPv6 global unicast is 2000::/3; everything outside it (::1, ::, fe80::/10 link-local, fec0::/10
# site-local, fc00::/7 unique local, ff00::/8 multicast, 100::/64 discard, 5f00::/16 SRv6, ...)
# is refused unless it is one of the IPv4 embeddings below. Inside 2000::/3 these are refused:
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_REFUSED_IPV6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments (Teredo, 2001::/32, is decoded before this)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
    )
)

# IPv6 forms that carry an IPv4 address the packet ends up at; judged by that IPv4 address.
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_LOW_32_BITS = 0xFFFFFFFF
# 64:ff9b:1::/48 may be split into NAT64 prefixes of /48 to /96 whose IPv4 sits at different bit
# positions (RFC 6052); only the /96 layout with bits 48-95 zero reads the same for all of them
# (every other length then finds an address in 0.0.0.0/8).
_NAT64_LOCAL_MIDDLE_BITS = ((1 << 48) - 1) << 32


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...] | None:
    """The IPv4 addresses an IPv6 address hands the packet to, or None for a native address.

    An empty tuple means an embedding that cannot be read safely (refuse it)."""
    value = int(address)
    low = ipaddress.IPv4Address(value & _LOW_32_BITS)
    if address in _IPV4_MAPPED or address in _IPV4_TRANSLATED or address in _IPV4_COMPATIBLE:
        return (low,)
    if address in _NAT64_WELL_KNOWN:
        return (low,)
    if address in _NAT64_LOCAL:
        return (low,) if value & _NAT64_LOCAL_MIDDLE_BITS == 0 else ()
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        server, client = address.teredo  # the client address is stored inverted; this undoes it
        return (server, client)
    return None


def is_public_address(address: IPAddress) -> bool:
    """A globally routable unicast address: no private, loopback, link-local, site-local, shared
    (CGNAT), special-purpose, documentation, reserved or multicast range. IPv6 forms that embed
    an IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo) are judged by it."""
    if isinstance(address, ipaddress.IPv4Address):
        if any(address in block for block in _REFUSED_IPV4):
            return False
        return address.is_global and not address.is_multicast
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return bool(embedded) and all(is_public_address(ipv4) for ipv4 in embedded)
    if address not in _IPV6_GLOBAL_UNICAST or any(address in b for b in _REFUSED_IPV6):
        return False
    return address.is_global and not address.is_multicast


def parse_address(text: str) -> IPAddress:
    """`getaddrinfo`'s textual address, without an IPv6 zone (`fe80::1%eth0`)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def _guarded_socket(conn: HTTPConnection, policy: AddressPolicy) -> socket.socket:
    """Resolve, check every address, connect to the first allowed one that answers."""
    host = conn._dns_host
    try:
        infos = socket.getaddrinfo(host, conn.port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(host, conn, exc) from exc
    for *_kind, sockaddr in infos:
        if not policy(parse_address(sockaddr[0])):
            raise AddressRefused(host, sockaddr[0])
    error: OSError | None = None
    for family, socktype, proto, _name, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            if isinstance(conn.timeout, int | float):
                sock.settimeout(conn.timeout)
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            sock.connect(sockaddr)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(conn, f"Connection to {host} timed out.") from exc
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


def _connection_classes(policy: AddressPolicy) -> tuple[type, type]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_socket(self, policy)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_socket(self, policy)

    return GuardedHTTPConnection, GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A `requests` adapter whose connections apply `policy` to the resolved address."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_conn, https_conn = _connection_classes(self.policy)

        class GuardedHTTPPool(HTTPConnectionPool):
            ConnectionCls = http_conn

        class GuardedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = https_conn

        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPPool,
            "https": GuardedHTTPSPool,
        }
