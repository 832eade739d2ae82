"""The SSRF guard against special-purpose addresses and the ways of writing them (issue 20, item 6).

Three layers are checked: the address policy (`is_public_address`, applied to the address a
client actually connects to), the URL check a form runs when an upstream URL is saved
(`check_upstream_url`, production mode), and a real client call to a local server reached
through each spelling of 127.0.0.1. Property tests then generate addresses and spellings.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from connectors.errors import AddressNotAllowedError
from connectors.guard import embedded_ipv4, is_public_address
from connectors.shipstation import ShipStationClient
from core.upstream_urls import check_upstream_url

IPv4, IPv6 = ipaddress.IPv4Address, ipaddress.IPv6Address

# --- The policy, address by address ---------------------------------------------------------

REFUSED_ADDRESSES = [
    # The forms reported in issue 20.
    "::127.0.0.1",  # IPv4-compatible loopback
    "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix → 169.254.169.254
    "::ffff:0:7f00:1",  # IPv4-translated 127.0.0.1
    "fec0::1",  # site-local
    "192.0.0.9",  # IETF protocol assignments (PCP anycast)
    # IPv4 special-purpose blocks.
    "0.0.0.0",
    "0.1.2.3",
    "10.1.2.3",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.0.8",
    "192.0.0.10",
    "192.0.0.170",
    "192.0.0.255",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 outside global unicast, and the special blocks inside it.
    "::",
    "::1",
    "fe80::1",
    "febf::1",
    "fec0::2",
    "feff::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
    "5f00::1",
    "2001:db8::1",
    "2001:2::1",
    "2001:10::1",
    "2001:1::1",
    "3fff::1",
    # IPv4 embedded in IPv6, decoded and judged as IPv4.
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::ffff:0:a9fe:a9fe",  # IPv4-translated metadata address
    "::169.254.169.254",  # IPv4-compatible
    "::10.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::10.0.0.1",
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix
    "64:ff9b:1:ab::808:808",  # local-use with bits the /96 layout does not have: unreadable
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:c000:209::1",  # 6to4 of 192.0.2.9
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (stored inverted)
    "2001:0:7f00:1:0:0:f7f7:f7f7",  # Teredo, server 127.0.0.1, client 8.8.8.8
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45 (RFC 4380 example)
]

PUBLIC_ADDRESSES = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",
    "100.128.0.1",
    "172.32.0.1",
    "192.0.1.1",
    "198.20.0.1",
    "223.255.255.254",
    "2606:2800:220:1:248:1893:25c8:1946",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "::ffff:0:808:808",
    "::8.8.8.8",
    "64:ff9b::8.8.8.8",
    "64:ff9b:1::808:808",
    "2002:808:808::1",
    "2001:0:808:808:0:0:f7f7:f7f7",  # Teredo, server and client 8.8.8.8
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_special_purpose_addresses_are_refused(address):
    assert is_public_address(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_global_unicast_addresses_are_allowed(address):
    assert is_public_address(ipaddress.ip_address(address)) is True


def test_teredo_addresses_name_the_server_and_the_decoded_client():
    teredo = IPv6("2001:0:4136:e378:8000:63bf:3fff:fdd2")
    assert embedded_ipv4(teredo) == (IPv4("65.54.227.120"), IPv4("192.0.2.45"))


# --- The URL check when an upstream URL is saved --------------------------------------------


@pytest.fixture
def production(settings) -> None:
    settings.HUB_ALLOW_PRIVATE_UPSTREAMS = False


REFUSED_URLS = [
    # The forms reported in issue 20.
    "https://[::127.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[::ffff:0:7f00:1]/",
    "https://[fec0::1]/",
    "https://192.0.0.9/",
    # Other IPv6 literals.
    "https://[::1]/",
    "https://[::]/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::FFFF:7F00:1]/",
    "https://[64:ff9b:1::a9fe:a9fe]/",
    "https://[2002:a9fe:a9fe::]/",
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
    "https://[fe80::1%25eth0]/",
    "https://[fd00::1]:8443/",
    "https://[2001:db8::1]/",
    "https://[100::1]/",
    # IPv4 written the classic ways.
    "http://2130706433/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://0x7f.1/",
    "https://0X7F.0.0.1/",
    "https://0x7f000001/",
    "https://017700000001/",
    "https://127.1/",
    "https://127.0.1/",
    "https://127.000.000.001/",
    "https://169.254.43518/",  # 169.254.169.254 with its last two parts as one number
    "https://0xa9fea9fe/",
    "https://127.0.0.1./",
    "https://8.8.8.8./",  # public, but not the one standard spelling
    # Names.
    "https://localhost/",
    "https://localhost./",
    "https://LOCALHOST/",
    "https://LocalHost.:443/",
    "https://metadata.localhost/",
    "https://%6c%6f%63%61%6c%68%6f%73%74/",
    "https://%31%32%37.0.0.1/",
    "https://１２７.０.０.１/",  # full-width digits: IDNA maps them to 127.0.0.1
    # What parsers disagree on.
    "https://good.com@127.0.0.1/",
    "https://good.com:443@127.0.0.1/",
    "https://good.com\\@127.0.0.1",
    "https://127.0.0.1\\@good.com/",
    "https://good.com%40127.0.0.1/",
    "https://good.com /",
    "https://good.com\t/",
    # Plain private addresses, and no TLS.
    "https://10.0.0.5/v1.1",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "http://93.184.216.34/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_production_refuses_every_spelling_of_a_private_or_ambiguous_host(production, url):
    with pytest.raises(ValidationError):
        check_upstream_url(url, label="The URL")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://[::127.0.0.1]/", "The URL points at a private address (::127.0.0.1)."),
        ("https://192.0.0.9/", "The URL points at a private address (192.0.0.9)."),
        ("https://localhost./", "The URL points at a private address (localhost.)."),
        (
            "https://2130706433/",
            "The URL writes an IP address in a non-standard form (2130706433); "
            "use four decimal numbers such as 93.184.216.34.",
        ),
        (
            "https://%6c%6f%63%61%6c%68%6f%73%74/",
            "The URL must name its host in plain ASCII without percent-encoding "
            "(international names in their xn-- form).",
        ),
    ],
)
def test_the_refusal_says_why(production, url, message):
    with pytest.raises(ValidationError) as refused:
        check_upstream_url(url, label="The URL")
    assert refused.value.messages == [message]


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/",
        "https://[::ffff:5db8:d822]/",
        "https://[64:ff9b::5db8:d822]:8443/api",
    ],
)
def test_production_accepts_public_addresses(production, url):
    check_upstream_url(url, label="The URL")


@pytest.mark.parametrize(
    "resolved", ["10.0.0.5", "169.254.169.254", "192.0.0.9", "::ffff:127.0.0.1", "fec0::1"]
)
def test_a_name_that_resolves_to_a_refused_address_is_refused(production, monkeypatch, resolved):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "api.upstream.example":
            family = socket.AF_INET6 if ":" in resolved else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (resolved, 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(ValidationError) as refused:
        check_upstream_url("https://api.upstream.example/v1", label="The URL")
    assert refused.value.messages == [f"The URL points at a private address ({resolved})."]


# --- The connect-time guard, against a real local server ------------------------------------


class Loopback:
    """A server on 127.0.0.1 that records every request path."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"[]")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = Loopback()
    yield server
    server.stop()


LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "0x7f.1",
    "0X7F.0.0.1",
    "0x7f000001",
    "017700000001",
    "127.1",
    "127.0.1",
    "LOCALHOST",
    "LocalHost",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_reaches_it_unguarded_and_is_refused_guarded(loopback, host):
    url = f"http://{host}:{loopback.port}"
    with ShipStationClient("k", "s", base_url=url) as unguarded:
        assert unguarded.list_stores() == []
    assert loopback.hits == ["/stores"]
    with (
        ShipStationClient("k", "s", base_url=url, allow_address=is_public_address) as guarded,
        pytest.raises(AddressNotAllowedError),
    ):
        guarded.list_stores()
    assert loopback.hits == ["/stores"]


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[64:ff9b::a9fe:a9fe]",
        "[::ffff:0:7f00:1]",
        "[fec0::1]",
        "192.0.0.9",
        "[::ffff:127.0.0.1]",
        "[2002:7f00:1::]",
        "[::1]",
    ],
)
def test_the_guard_refuses_the_reported_forms_before_connecting(monkeypatch, host):
    opened: list[object] = []
    real_socket = socket.socket

    def recording_socket(*args, **kwargs):
        opened.append(args)
        return real_socket(*args, **kwargs)

    monkeypatch.setattr(socket, "socket", recording_socket)
    client = ShipStationClient(
        "k", "s", base_url=f"http://{host}:9", allow_address=is_public_address
    )
    with client, pytest.raises(AddressNotAllowedError):
        client.list_stores()
    assert opened == []


@pytest.mark.parametrize(
    "resolved", ["::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "192.0.0.9", "fec0::1"]
)
def test_a_name_rebound_to_a_refused_address_is_refused_at_connect_time(monkeypatch, resolved):
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "api.upstream.example":
            family = socket.AF_INET6 if ":" in resolved else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (resolved, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    client = ShipStationClient(
        "k", "s", base_url="https://api.upstream.example", allow_address=is_public_address
    )
    with client, pytest.raises(AddressNotAllowedError) as refused:
        client.list_stores()
    assert resolved in str(refused.value)


# --- Properties over generated addresses ----------------------------------------------------

REFUSED_IPV4_BLOCKS = [
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
REFUSED_IPV6_BLOCKS = [
    ipaddress.IPv6Network(block)
    for block in (
        "::/128",
        "::1/128",
        "100::/64",
        "fe80::/10",
        "fec0::/10",
        "fc00::/7",
        "ff00::/8",
        "2001:db8::/32",
        "2001:2::/48",
        "3fff::/20",
        "5f00::/16",
    )
]


def in_block(block: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy:
    low, high = int(block.network_address), int(block.broadcast_address)
    return st.integers(low, high).map(ipaddress.ip_address)


refused_ipv4 = st.sampled_from(REFUSED_IPV4_BLOCKS).flatmap(in_block)
refused_ipv6 = st.sampled_from(REFUSED_IPV6_BLOCKS).flatmap(in_block)
any_ipv4 = st.integers(0, 2**32 - 1).map(IPv4)
public_ipv4 = any_ipv4.filter(is_public_address)


def single_embeddings(v4: IPv4, low_bits: int) -> dict[str, IPv6]:
    """Every IPv6 form that hands the packet to `v4` alone."""
    n = int(v4)
    return {
        "mapped ::ffff:0:0/96": IPv6((0xFFFF << 32) | n),
        "translated ::ffff:0:0:0/96": IPv6((0xFFFF << 48) | n),
        "compatible ::/96": IPv6(n),
        "NAT64 64:ff9b::/96": IPv6((0x64FF9B << 96) | n),
        "NAT64 64:ff9b:1::/96": IPv6((0x64FF9B0001 << 80) | n),
        "6to4 2002::/16": IPv6((0x2002 << 112) | (n << 80) | (low_bits & (2**80 - 1))),
    }


def teredo(server: IPv4, client: IPv4, flags_and_port: int) -> IPv6:
    obfuscated = int(client) ^ 0xFFFFFFFF
    return IPv6((0x20010000 << 96) | (int(server) << 64) | (flags_and_port << 32) | obfuscated)


@given(
    v4=refused_ipv4,
    low_bits=st.integers(0, 2**80 - 1),
    other=public_ipv4,
    port=st.integers(0, 2**32 - 1),
)
def test_every_ipv6_embedding_of_a_refused_ipv4_is_refused(v4, low_bits, other, port):
    assert not is_public_address(v4)
    for form, v6 in single_embeddings(v4, low_bits).items():
        assert not is_public_address(v6), (form, v6)
    assert not is_public_address(teredo(v4, other, port))
    assert not is_public_address(teredo(other, v4, port))


@given(v4=any_ipv4, low_bits=st.integers(0, 2**80 - 1))
def test_an_embedding_is_judged_like_the_ipv4_it_carries(v4, low_bits):
    expected = is_public_address(v4)
    for form, v6 in single_embeddings(v4, low_bits).items():
        assert is_public_address(v6) is expected, (form, v6)
        assert embedded_ipv4(v6) == (v4,), form


@given(v4=public_ipv4)
def test_a_mapped_public_ipv4_is_public(v4):
    assert is_public_address(IPv6((0xFFFF << 32) | int(v4)))
    assert is_public_address(ipaddress.ip_address(f"::ffff:{v4}"))


@given(server=any_ipv4, client=any_ipv4, port=st.integers(0, 2**32 - 1))
def test_teredo_is_public_only_when_server_and_client_are(server, client, port):
    expected = is_public_address(server) and is_public_address(client)
    assert is_public_address(teredo(server, client, port)) is expected


@given(v6=refused_ipv6)
def test_special_purpose_ipv6_blocks_are_refused(v6):
    assert not is_public_address(v6)


@given(v6=st.integers(0, 2**128 - 1).map(IPv6))
def test_nothing_outside_global_unicast_passes_unless_it_carries_a_public_ipv4(v6):
    if is_public_address(v6) and v6 not in ipaddress.IPv6Network("2000::/3"):
        carried = embedded_ipv4(v6)
        assert carried and all(is_public_address(v4) for v4 in carried)


def spellings(v4: IPv4, draw) -> list[str]:
    """inet_aton spellings of `v4`: one to four parts, each decimal, octal or hex."""
    a, b, c, d = v4.packed
    groups = [
        [int(v4)],
        [a, (b << 16) | (c << 8) | d],
        [a, b, (c << 8) | d],
        [a, b, c, d],
    ]
    result = []
    for parts in groups:
        result.append(".".join(f"0{p:o}" for p in parts))
        result.append(".".join(f"0x{p:x}" for p in parts))
        result.append(".".join(f"0X{p:X}" for p in parts))
        bases = draw(st.lists(st.sampled_from("dox"), min_size=len(parts), max_size=len(parts)))
        spelled = {"d": str, "o": lambda p: f"0{p:o}", "x": lambda p: f"0x{p:x}"}
        result.append(".".join(spelled[base](p) for base, p in zip(bases, parts, strict=True)))
        if len(parts) < 4:
            result.append(".".join(str(p) for p in parts))
    return [text for text in result if text != str(v4)]


@examples(max_examples=60, deadline=None)
@given(v4=refused_ipv4, data=st.data())
def test_numeric_spellings_of_a_refused_address_are_refused(v4, data):
    for text in spellings(v4, data.draw):
        # What the socket layer, and so the connect-time guard, makes of it ...
        resolved = {info[4][0] for info in socket.getaddrinfo(text, 443, socket.AF_INET)}
        assert resolved == {str(v4)}, text
        assert not is_public_address(IPv4(resolved.pop()))
        # ... and the form check refuses the spelling outright.
        with (
            override_settings(HUB_ALLOW_PRIVATE_UPSTREAMS=False),
            pytest.raises(ValidationError, match="non-standard form"),
        ):
            check_upstream_url(f"https://{text}/", label="The URL")


@examples(max_examples=60, deadline=None)
@given(v4=any_ipv4, data=st.data())
def test_only_the_dotted_decimal_spelling_of_any_address_is_accepted(v4, data):
    with override_settings(HUB_ALLOW_PRIVATE_UPSTREAMS=False):
        for text in spellings(v4, data.draw):
            with pytest.raises(ValidationError, match="non-standard form"):
                check_upstream_url(f"https://{text}/", label="The URL")
        if is_public_address(v4):
            check_upstream_url(f"https://{v4}/", label="The URL")
        else:
            with pytest.raises(ValidationError, match="private address"):
                check_upstream_url(f"https://{v4}/", label="The URL")


@examples(max_examples=60, deadline=None)
@given(v4=refused_ipv4, low_bits=st.integers(0, 2**80 - 1))
def test_the_form_check_refuses_every_embedding_of_a_refused_ipv4(v4, low_bits):
    with override_settings(HUB_ALLOW_PRIVATE_UPSTREAMS=False):
        for v6 in single_embeddings(v4, low_bits).values():
            for text in (v6.compressed, v6.exploded, v6.compressed.upper()):
                with pytest.raises(ValidationError, match="private address"):
                    check_upstream_url(f"https://[{text}]/", label="The URL")
