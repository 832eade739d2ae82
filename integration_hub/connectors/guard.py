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


def is_public_address(address: IPAddress) -> bool:
    """A globally routable unicast address: no private, loopback, link-local, shared (CGNAT),
    reserved, documentation or multicast range, also when hidden in an IPv4-mapped IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public_address(mapped)
        if address.teredo is not None:
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
