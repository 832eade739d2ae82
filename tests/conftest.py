"""Test set-up: a real PostgreSQL test database with the platform, template and two tenants.

Tenants are created once per session (schema DDL is the slow part); each test runs in a
transaction that is rolled back, so rows never leak between tests. Under pytest-xdist each
worker has its own test database (pytest-django's `test_<name>_gw<n>`) and its own Redis
database (below).

Markers (registered in pyproject.toml) are given here, by folder and by fixture, so a test file
rarely names one itself; see `pytest_collection_modifyitems`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context

from core.redis_client import fast_redis
from tenants.models import Tenant
from tenants.platform import ensure_public_tenant
from tenants.provisioning import ensure_template_schema, provision_tenant
from tests.support.portal import PASSWORDS, PLATFORM_PASSWORD, Portal, signed_in

pytest_plugins = ["tests.support.demo_world", "tests.support.stores"]

TESTS = Path(__file__).resolve().parent

# e2e: the test starts another process (the sandbox, the hub's web server, workers or beat, a
# Redis server, a child Python). Every test in these folders, and every test that uses one of
# these fixtures, directly or through another fixture:
E2E_FOLDERS = {"e2e", "browser", "sandbox"}
PROCESS_FIXTURES = {
    "sandbox",  # the sandbox as a process (tests/support/stores.py, tests/sandbox, connectors)
    "demo_world",  # the sandbox and the committed demo tenants (tests/support/demo_world.py)
    "hub",  # web, workers and beat (tests/support/demo_world.py)
    "world",  # the sandbox behind a recording tap (tests/support/world.py), or demo_world
}
# A test that starts a process inline (no fixture) carries `@pytest.mark.e2e` itself, as do the
# few timed on the wall clock with tight margins (they run only in the serial `make test`).
# browser: tests/browser (headless Chromium). scale: tests/e2e/test_two_nodes.py marks itself.


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        folder = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else ""
        if folder in E2E_FOLDERS or PROCESS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)
        if folder == "browser":
            item.add_marker(pytest.mark.browser)


def pytest_configure(config) -> None:
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _redis_of_this_worker(settings)


def _redis_of_this_worker(settings) -> None:
    """Under pytest-xdist, worker gw<n> uses Redis database <REDIS_URL's> + n (9, 10, ... by
    default), so one worker's broker queues, rate counters and cache never reach another's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    base = urlsplit(settings.REDIS_URL)
    url = urlunsplit(base._replace(path=f"/{int(base.path.strip('/') or 0) + int(worker[2:])}"))
    if settings.CELERY_BROKER_URL == settings.REDIS_URL:
        settings.CELERY_BROKER_URL = url
    settings.CACHES["default"]["LOCATION"] = url
    settings.REDIS_URL = os.environ["REDIS_URL"] = url

    from integration_hub.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL


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


def clear_breakers() -> None:
    """Breaker state lives in Redis, which the database rollback between tests does not reset."""
    client = fast_redis()
    keys = [*client.scan_iter("hub:breaker:*"), *client.scan_iter("hub:breaker-streak:*")]
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def closed_breakers() -> Iterator[None]:
    """Every test starts and ends with every upstream's circuit breaker closed."""
    clear_breakers()
    yield
    clear_breakers()


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


@pytest.fixture
def no_upstream_call_in_a_transaction(monkeypatch) -> None:
    """Fail the test when a connector calls an upstream while a transaction is open (ARCHITECTURE
    §4.7: no transaction, row lock or advisory lock is held across an upstream call)."""
    from connectors._http import HttpClient

    send = HttpClient.send
    outside = len(connection.atomic_blocks)  # the test's own transaction, under `db`

    def checked_send(self, method: str, url: str, **kwargs):
        opened = len(connection.atomic_blocks) - outside
        assert opened == 0, f"{method} {url} inside {opened} open transaction(s)"
        return send(self, method, url, **kwargs)

    monkeypatch.setattr(HttpClient, "send", checked_send)
