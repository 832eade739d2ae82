"""Login and API token limits: password spraying from one address, failed-login audit floods,
bad API tokens that must not lock out good ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.activity import _failure_keys
from tenants.models import ActivityEvent, Tenant
from tests.support.orders_api import issue_token
from tests.support.portal import PASSWORDS, PLATFORM_PASSWORD

LOGIN_ACTIONS = ("login.failed", "login.locked_out", "login.address_locked_out")


PORTALS = {
    "tenant": ("acme", "acme.localhost", "ops@acme.test", PASSWORDS["acme"]),
    "platform": ("public", "localhost", "platform", PLATFORM_PASSWORD),
}


def login(host: str, username: str, password: str, address: str):
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        HTTP_HOST=host,
        REMOTE_ADDR=address,
    )


def forget_failures(schema: str, address: str, *names: str) -> None:
    """The cache's failure counts are not rolled back with the test's transaction."""
    with schema_context(schema):
        for action in LOGIN_ACTIONS:
            cache.delete_many(_failure_keys(action, address))
            for name in names:
                cache.delete_many(_failure_keys(action, address, name))


def rows(schema: str, address: str, action: str):
    tenant = Tenant.objects.filter(schema_name=schema).first() if schema != "public" else None
    return ActivityEvent.objects.filter(tenant=tenant, action=action, ip_address=address)


@pytest.fixture
def limits(settings, db) -> None:
    settings.HUB_LOGIN_FAILURE_LIMIT = 5
    settings.HUB_LOGIN_ADDRESS_FAILURE_LIMIT = 20
    settings.HUB_LOGIN_FAILURE_WINDOW = 300


@pytest.mark.parametrize("portal", PORTALS)
def test_spraying_30_user_names_from_one_address_locks_the_address(limits, portal):
    schema, host, admin, password = PORTALS[portal]
    address = "203.0.113.30"
    forget_failures(schema, address)
    sprayed = [login(host, f"user{n}@spray.test", "Winter2026!", address) for n in range(30)]

    # One try per name never reaches a user name's limit; the address's 20th failure does.
    assert [r.status_code for r in sprayed] == [200] * 19 + [429] * 11
    assert b"too many login attempts" in sprayed[-1].content
    assert login(host, admin, password, address).status_code == 429
    assert login(host, admin, password, "203.0.113.31").status_code == 302
    locked = rows(schema, address, "login.address_locked_out").get()
    assert locked.actor == "user19@spray.test"
    assert locked.message.startswith(
        "Too many failed logins from this address (20 for any user names); sign-in from this "
        "address is blocked for 15 min."
    )
    forget_failures(schema, address)


def test_a_user_name_is_still_locked_after_5_failures_at_its_address(limits, acme):
    address = "203.0.113.32"
    forget_failures("acme", address, "ops@acme.test")
    statuses = [login("acme.localhost", "ops@acme.test", "wrong", address) for _ in range(6)]
    assert [r.status_code for r in statuses] == [200] * 4 + [429] * 2
    assert login("acme.localhost", "ops@acme.test", PASSWORDS["acme"], address).status_code == 429
    # Another name at the address is not locked: the address has 7 failures of its 20.
    other = login("acme.localhost", "nobody@acme.test", "wrong", address)
    assert other.status_code == 200
    assert rows("acme", address, "login.locked_out").get().actor == "ops@acme.test"
    assert not rows("acme", address, "login.address_locked_out").exists()
    forget_failures("acme", address, "ops@acme.test")


def test_a_successful_login_does_not_reset_the_addresss_other_failures(limits, acme):
    """Axes' reset-on-success would clear the address's count: one valid account between
    sprays would make the address limit useless."""
    address = "203.0.113.33"
    forget_failures("acme", address)
    first = [login("acme.localhost", f"a{n}@spray.test", "x", address) for n in range(15)]
    assert {r.status_code for r in first} == {200}
    assert login("acme.localhost", "ops@acme.test", PASSWORDS["acme"], address).status_code == 302
    more = [login("acme.localhost", f"b{n}@spray.test", "x", address) for n in range(6)]
    assert [r.status_code for r in more] == [200] * 4 + [429] * 2
    forget_failures("acme", address)


def test_100_failed_logins_write_one_row_per_window_and_the_next_states_the_count(
    limits, acme, monkeypatch
):
    address = "203.0.113.34"
    forget_failures("acme", address)
    statuses = [
        login("acme.localhost", f"user{n}@spray.test", "Winter2026!", address).status_code
        for n in range(100)
    ]

    failed = rows("acme", address, "login.failed")
    assert failed.count() == 1
    assert statuses == [200] * 19 + [429] * 81
    assert failed.get().actor == "user0@spray.test"
    assert failed.get().message == (
        "Wrong user name or password. Further failures from this address in the next 300 s are "
        "counted, not recorded one by one."
    )
    assert rows("acme", address, "login.address_locked_out").count() == 1
    assert ActivityEvent.objects.filter(ip_address=address).count() == 2

    # The window closes: its cache count expires and its rows are older than the window.
    with schema_context("acme"):
        for action in LOGIN_ACTIONS:
            cache.delete(_failure_keys(action, address)[0])
    later = timezone.now() + timedelta(seconds=301)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert login("acme.localhost", "user100@spray.test", "x", address).status_code == 429

    messages = list(failed.order_by("id").values_list("message", flat=True))
    assert len(messages) == 2
    assert messages[1].endswith(
        "The previous window counted 100 failed attempts from this address."
    )
    lockouts = rows("acme", address, "login.address_locked_out").order_by("id")
    assert lockouts.count() == 2  # the lockout is recorded again in the new window
    assert lockouts.last().message.endswith(
        "The previous window counted 81 failed attempts from this address."
    )
    forget_failures("acme", address)


# ---------------------------------------------------------------------------------------------
# API tokens


def test_a_valid_token_still_works_from_an_address_that_sent_20_bad_ones(acme, settings):
    settings.HUB_TOKEN_FAILURE_WINDOW = 300
    settings.HUB_TOKEN_FAILURE_LIMIT = 20
    address = "198.51.100.40"
    keys = _failure_keys("api_token.rejected", address)
    with schema_context("acme"):
        cache.delete_many(keys)
    good = issue_token("acme")
    client = Client()

    def call(token: str):
        return client.get(
            "/api/v1/me/",
            HTTP_HOST="acme.localhost",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            REMOTE_ADDR=address,
        )

    bad = [call(f"hub_0000000{n % 10}_{'x' * 43}").status_code for n in range(25)]
    assert bad == [401] * 20 + [429] * 5
    assert call(good).status_code == 200
    assert call(good).status_code == 200
    throttled = call("hub_nope_y")
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "300"
    # Refused tokens past the limit are counted (for the next window's row), not recorded.
    with schema_context("acme"):
        assert cache.get(keys[0]) == 26
        cache.delete_many(keys)
    assert (
        ActivityEvent.objects.filter(
            tenant=acme, action="api_token.rejected", ip_address=address
        ).count()
        == 1
    )
    assert (
        ActivityEvent.objects.filter(
            tenant=acme, action="api_token.used", ip_address=address
        ).count()
        == 2
    )
