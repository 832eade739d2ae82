"""Host routing: login page for anonymous users, 404 for unknown hosts, 400 for bad hosts."""

from django.test import Client


def test_anonymous_user_gets_the_login_page(acme):
    client = Client()
    response = client.get("/admin/", HTTP_HOST="acme.localhost")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    page = client.get(response["Location"], HTTP_HOST="acme.localhost")
    assert page.status_code == 200
    assert b'name="password"' in page.content
    assert b"Acme Ltd" in page.content


def test_unknown_tenant_host_is_a_404_page_not_a_500(db):
    response = Client().get("/admin/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert b"each tenant signs in at its own domain" in response.content


def test_bad_host_header_is_a_400(db):
    response = Client().get("/admin/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    malformed = Client().get("/admin/", HTTP_HOST="bad host!")
    assert malformed.status_code == 400


def test_platform_portal_is_served_at_the_base_domain(platform_staff):
    response = platform_staff.get("/admin/")
    assert response.status_code == 200
    assert b"Integration hub \xc2\xb7 platform" in response.content


def test_healthz_checks_postgresql_and_redis(db):
    response = Client().get("/healthz", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "postgresql": "ok", "redis": "ok"}


def test_healthz_reports_redis_down(db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz", HTTP_HOST="acme.localhost")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")
