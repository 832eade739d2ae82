"""The platform's onboarding texts name the tenant's portal as `HUB_PUBLIC_URL` serves it."""

from __future__ import annotations

from tenants.provisioning import portal_url


def test_the_portal_url_follows_the_public_url(settings):
    settings.HUB_PUBLIC_URL = "https://hub.example.com:8443"
    assert portal_url("initech") == "https://initech.hub.example.com:8443/admin/"
    settings.HUB_PUBLIC_URL = "https://hub.example.com"
    assert portal_url("initech") == "https://initech.hub.example.com/admin/"


def test_an_ip_public_url_keeps_its_port_on_the_base_domain(settings):
    settings.HUB_PUBLIC_URL, settings.HUB_BASE_DOMAIN = "http://127.0.0.1:8010", "localhost"
    assert portal_url("initech") == "http://initech.localhost:8010/admin/"


def test_the_slug_help_shows_an_example_with_the_configured_host(platform_staff, settings):
    settings.HUB_PUBLIC_URL = "http://localhost:8123"
    page = platform_staff.get("/admin/tenants/tenant/add/")
    assert page.status_code == 200
    assert b"http://initech.localhost:8123/admin/" in page.content
    assert b"portal is .." not in page.content


def test_the_tenant_created_page_shows_the_configured_port(platform_staff, settings):
    settings.HUB_PUBLIC_URL = "http://localhost:8123"
    response = platform_staff.post(
        "/admin/tenants/tenant/add/",
        {"name": "Initech", "slug": "initech", "admin_email": "boss@initech.test"},
    )
    assert response.status_code == 200
    assert b"Initech is ready" in response.content
    assert b'href="http://initech.localhost:8123/admin/"' in response.content
    assert b":8000" not in response.content
