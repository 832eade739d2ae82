"""Test set-up: a real PostgreSQL test database with the platform, template and two tenants.

Tenants are created once per session (schema DDL is the slow part); each test runs in a
transaction that is rolled back, so rows never leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Tenant
from tenants.platform import ensure_public_tenant
from tenants.provisioning import ensure_template_schema, provision_tenant

PASSWORDS = {"acme": "acme-admin-test-pw", "globex": "globex-admin-test-pw"}
PLATFORM_PASSWORD = "platform-staff-test-pw"


def pytest_configure(config) -> None:
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_modify_db_settings
) -> Iterator[None]:
    """Always build the test database (end-to-end tests use it without the `db` fixture)."""
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"})
        ensure_public_tenant()
        ensure_template_schema()
        for slug, name in (("acme", "Acme Ltd"), ("globex", "Globex Corporation")):
            provision_tenant(
                slug=slug,
                name=name,
                admin_email=f"ops@{slug}.test",
                admin_password=PASSWORDS[slug],
            )
        get_user_model().objects.create_superuser(
            "platform", "platform@hub.test", PLATFORM_PASSWORD
        )
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        teardown_databases(db_cfg, verbosity=verbosity)


@pytest.fixture(autouse=True)
def public_schema_after_test() -> Iterator[None]:
    yield
    connection.set_schema_to_public()


@pytest.fixture
def acme(db) -> Tenant:
    return Tenant.objects.get(slug="acme")


@pytest.fixture
def globex(db) -> Tenant:
    return Tenant.objects.get(slug="globex")


@dataclass
class Portal:
    """A browser-like client bound to one host."""

    client: Client
    host: str

    def get(self, path: str, **kwargs):
        return self.client.get(path, HTTP_HOST=self.host, **kwargs)

    def post(self, path: str, data=None, **kwargs):
        return self.client.post(path, data or {}, HTTP_HOST=self.host, **kwargs)

    def login(self, username: str, password: str):
        return self.post(
            "/admin/login/?next=/admin/",
            {"username": username, "password": password, "next": "/admin/"},
        )


def signed_in(host: str, username: str, password: str) -> Portal:
    portal = Portal(Client(), host)
    response = portal.login(username, password)
    assert response.status_code == 302, f"login as {username} at {host} failed"
    return portal


@pytest.fixture
def acme_admin(acme) -> Portal:
    return signed_in("acme.localhost", "ops@acme.test", PASSWORDS["acme"])


@pytest.fixture
def globex_admin(globex) -> Portal:
    return signed_in("globex.localhost", "ops@globex.test", PASSWORDS["globex"])


@pytest.fixture
def platform_staff(db) -> Portal:
    return signed_in("localhost", "platform", PLATFORM_PASSWORD)


@pytest.fixture
def in_schema():
    """Run ORM code inside a tenant's schema: `with in_schema("acme"): ...`."""
    return schema_context
