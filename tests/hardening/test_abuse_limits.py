"""Abuse limits: password spraying from one address, failed-login audit floods, bad API tokens
that must not lock out good ones, and webhook floods from a token holder, capped without
losing a delivery."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from inbox import webhook_rate, webhooks
from inbox.models import InboxItem
from inbox.polling import poll_store, replay_failed_webhooks
from sandbox import demo_data
from sandbox.testing import SandboxHandle, start_sandbox
from tenants.activity import _failure_keys
from tenants.models import ActivityEvent, Api2CartAccount, Tenant
from tenants.store_connection import register_webhooks
from tests.conftest import PASSWORDS, PLATFORM_PASSWORD
from tests.ingestion.conftest import make_store, post_webhook
from tests.orders_input.helpers import issue_token

LOGIN_ACTIONS = ("login.failed", "login.locked_out", "login.address_locked_out")

# ---------------------------------------------------------------------------------------------
# Logins


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


# ---------------------------------------------------------------------------------------------
# Webhooks

NOW = 1_800_000_015.0  # 15 s into a minute: Retry-After is 45


@pytest.fixture
def frozen_minute(monkeypatch) -> Iterator[None]:
    """Every delivery of the test falls in the same minute, whatever the wall clock does."""
    monkeypatch.setattr(webhook_rate, "clock", lambda: NOW)
    yield


def forget_rate(source: str, sender: int) -> None:
    """Rate keys are not rolled back with the test's transaction, and store ids come again."""
    with redis.Redis.from_url(django_settings.REDIS_URL) as client:
        client.delete(webhook_rate.rate_key(source, sender, int(NOW // 60)))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("abuse-sandbox"))
    yield handle
    handle.stop()


class Relay:
    """The sandbox's webhook deliveries, answered by the hub through the test's own thread.

    The sandbox POSTs to this address from its delivery threads; each request waits while the
    test thread runs it through Django's test client (the test's transaction is only visible
    to its own connection) and is answered with the hub's status.
    """

    def __init__(self) -> None:
        self.jobs: queue.Queue = queue.Queue()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer: queue.Queue = queue.Queue(maxsize=1)
                relay.jobs.put((self.path, dict(self.headers.items()), body, answer))
                try:
                    status = answer.get(timeout=30)
                except queue.Empty:
                    status = 504
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, count: int, timeout: float = 20.0) -> list:
        responses = []
        for _ in range(count):
            path, headers, body, answer = self.jobs.get(timeout=timeout)
            meta = {
                "HTTP_" + name.upper().replace("-", "_"): value
                for name, value in headers.items()
                if name.lower().startswith("x-")
            }
            response = Client().post(
                path, data=body, content_type="application/json", HTTP_HOST="localhost", **meta
            )
            answer.put(response.status_code)
            responses.append(response)
        return responses

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay() -> Iterator[Relay]:
    hub = Relay()
    yield hub
    hub.close()


def wait_for_failed_deliveries(sandbox: SandboxHandle, count: int) -> None:
    deadline = time.monotonic() + 15
    while sandbox.status()["api2cart"]["failed_webhooks"] < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"the sandbox recorded fewer than {count} failed deliveries")
        time.sleep(0.1)


def test_over_cap_webhooks_get_429_and_replay_and_polling_bring_them_in(
    sandbox, relay, settings, frozen_minute, db
):
    sandbox.reset()
    settings.HUB_PUBLIC_URL = relay.url
    settings.HUB_WEBHOOK_STORE_RATE = 3
    account = Api2CartAccount.objects.create(
        name="sandbox", base_url=sandbox.api_url("api2cart"), api_key=demo_data.API2CART_API_KEY
    )
    store = make_store(account)
    forget_rate("api2cart", store.pk)
    register_webhooks(store)

    placed = [
        str(order["id"])
        for order in sandbox.control("api2cart", "place-orders", store="northwind", count=5)[
            "orders"
        ]
    ]
    answers = relay.answer(5)

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 429, 429]
    refused = [a for a in answers if a.status_code == 429]
    assert {a["Retry-After"] for a in refused} == {"45"}
    assert refused[0].json() == {
        "error": "More than 3 webhooks a minute for this store; send it again later."
    }
    received = set(
        InboxItem.objects.filter(store=store, source=InboxItem.Source.WEBHOOK).values_list(
            "entity_id", flat=True
        )
    )
    assert len(received) == 3
    missing = set(placed) - received
    assert len(missing) == 2

    # API2Cart lists the refused deliveries; the replay brings them in ...
    wait_for_failed_deliveries(sandbox, 2)
    assert replay_failed_webhooks(account) == 2
    replayed = InboxItem.objects.filter(store=store, source=InboxItem.Source.FAILED_WEBHOOK)
    assert set(replayed.values_list("entity_id", flat=True)) == missing
    assert set(replayed.values_list("state", flat=True)) == {InboxItem.State.PENDING}
    # ... and polling reads every order of the store, refused ones included.
    poll_store(store)
    polled = InboxItem.objects.filter(store=store, source=InboxItem.Source.POLL)
    assert set(placed) <= set(polled.values_list("entity_id", flat=True))
    forget_rate("api2cart", store.pk)


def test_the_cap_is_per_store(frozen_minute, settings, db):
    settings.HUB_WEBHOOK_STORE_RATE = 2
    account = Api2CartAccount.objects.create(
        name="offline", base_url="http://127.0.0.1:9/api2cart/v1.1", api_key="offline-key"
    )
    first, second = make_store(account), make_store(account, "acme-outlet")
    for store in (first, second):
        forget_rate("api2cart", store.pk)
    statuses = [post_webhook(first, {"id": f"C-{n}"}).status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    assert post_webhook(second, {"id": "C-9"}).status_code == 200
    assert InboxItem.objects.count() == 3
    for store in (first, second):
        forget_rate("api2cart", store.pk)


def test_webhooks_are_accepted_while_redis_is_unreachable(monkeypatch, settings, db, caplog):
    settings.HUB_WEBHOOK_STORE_RATE = 1
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    monkeypatch.setattr(webhooks, "webhook_rate", webhook_rate.WebhookRate())
    account = Api2CartAccount.objects.create(
        name="offline", base_url="http://127.0.0.1:9/api2cart/v1.1", api_key="offline-key"
    )
    store = make_store(account)
    statuses = [post_webhook(store, {"id": f"R-{n}"}).status_code for n in range(3)]
    assert statuses == [200, 200, 200]
    assert InboxItem.objects.filter(store=store).count() == 3
    # One failed round trip, then the check pauses instead of timing out on every webhook.
    assert caplog.text.count("webhook rate not checked") == 1


def test_shipstation_webhooks_are_capped_per_tenant(acme, settings, frozen_minute):
    settings.HUB_WEBHOOK_STORE_RATE = 2
    token = acme.rotate_shipstation_webhook_token()
    acme.save()
    forget_rate("shipstation", acme.pk)

    def notify(n: int):
        body = {
            "resource_url": f"https://ssapi.shipstation.com/shipments?batchId={n}",
            "resource_type": "SHIP_NOTIFY",
        }
        return Client().post(
            f"/webhooks/shipstation/{token}/",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_HOST="localhost",
        )

    answers = [notify(n) for n in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2]["Retry-After"] == "45"
    assert answers[2].json() == {
        "error": "More than 2 webhooks a minute for this tenant; send it again later."
    }
    assert InboxItem.objects.filter(tenant=acme).count() == 2
    forget_rate("shipstation", acme.pk)
