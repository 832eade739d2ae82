"""The SSRF guard in production mode: URLs refused when saved, addresses refused when the
connection is made (DNS rebinding), no redirects followed, one generic connection-test text."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from connectors.errors import AddressNotAllowedError, PermanentError
from connectors.guard import is_public_address
from connectors.shipstation import ShipStationClient
from core.upstream_urls import check_upstream_url
from tenant_settings.connection_clients import shipstation_client
from tenant_settings.models import ConnectionSettings
from tests.tenant_settings.test_credentials import connection_form


class Upstream:
    """A local HTTP server standing in for an internal service an attacker wants reached."""

    def __init__(self, status: int = 200, location: str = "") -> None:
        self.hits: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.hits.append(self.path)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"[]")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.stop()


@pytest.fixture
def production(settings) -> None:
    settings.HUB_ALLOW_PRIVATE_UPSTREAMS = False


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("2002:7f00:1::", False),
        ("fd00::1", False),
        ("ff02::1", False),
    ],
)
def test_only_global_unicast_addresses_are_public(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://169.254.169.254\\@93.184.216.34/",
            "The URL contains a backslash, a space or a control character.",
        ),
        (
            "https://user:pw@93.184.216.34/",
            "The URL must not contain a user name or password (user@host).",
        ),
        ("https://100.64.0.1/", "The URL points at a private address (100.64.0.1)."),
        ("https://224.0.0.1/", "The URL points at a private address (224.0.0.1)."),
        ("http://93.184.216.34/", "The URL must be an https:// URL."),
    ],
)
def test_production_refuses_urls_the_client_could_read_differently(production, url, message):
    with pytest.raises(ValidationError) as refused:
        check_upstream_url(url, label="The URL")
    assert refused.value.messages == [message]


def test_production_accepts_a_public_https_url(production):
    check_upstream_url("https://93.184.216.34/", label="The URL")


def test_the_connection_settings_form_refuses_user_info_and_shared_addresses(
    production, acme_admin, acme
):
    with schema_context("acme"):
        pk = ConnectionSettings.load().pk
    url = f"/admin/tenant_settings/connectionsettings/{pk}/change/"
    user_info = acme_admin.post(
        url, connection_form(shipstation_base_url="https://x@93.184.216.34/")
    )
    assert user_info.status_code == 200
    assert (
        b"The ShipStation URL must not contain a user name or password (user@host)."
        in user_info.content
    )
    shared = acme_admin.post(url, connection_form(shipstation_base_url="https://100.64.0.1/"))
    assert b"The ShipStation URL points at a private address (100.64.0.1)." in shared.content


def test_the_api2cart_account_form_refuses_private_addresses(production, platform_staff):
    response = platform_staff.post(
        "/admin/tenants/api2cartaccount/add/",
        {"name": "internal", "base_url": "https://10.0.0.5/v1.1", "api_key": "k"},
    )
    assert response.status_code == 200
    assert b"The API2Cart base URL points at a private address (10.0.0.5)." in response.content


def test_the_client_refuses_a_private_address_at_connect_time(upstream):
    client = ShipStationClient("k", "s", base_url=upstream.url, allow_address=is_public_address)
    with pytest.raises(AddressNotAllowedError) as refused:
        client.list_stores()
    assert "localhost resolves to" in str(refused.value)
    assert upstream.hits == []
    open_client = ShipStationClient("k", "s", base_url=upstream.url)
    assert open_client.list_stores() == []
    assert upstream.hits == ["/stores"]


def test_a_redirect_to_another_host_is_not_followed():
    server = Upstream(status=302, location="http://169.254.169.254/latest/meta-data/")
    try:
        client = ShipStationClient("k", "s", base_url=server.url)
        with pytest.raises(PermanentError) as refused:
            client.list_stores()
        assert "Unexpected redirect (302)" in str(refused.value)
        assert server.hits == ["/stores"]
    finally:
        server.stop()


def test_a_saved_url_that_now_resolves_privately_is_refused_with_one_generic_text(
    production, upstream, acme_admin, acme
):
    """DNS rebinding: the row holds a name that resolves to loopback by the time it is used."""
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.shipstation_base_url = upstream.url
        row.shipstation_api_key, row.shipstation_api_secret = "key", "secret"
        row.save()
        with pytest.raises(AddressNotAllowedError):
            shipstation_client(row).list_stores()
        pk = row.pk
    page = acme_admin.post(f"/admin/tenant_settings/connectionsettings/{pk}/test/", follow=True)
    assert page.status_code == 200
    assert (
        b"ShipStation: not reachable: the address is not allowed for upstream calls."
        in page.content
    )
    assert b"localhost" not in page.content.split(b"ShipStation: not reachable")[1][:200]
    assert upstream.hits == []
