"""Webhook floods from a token holder: capped per store (API2Cart) and per tenant (ShipStation),
answered 429 without losing a delivery (replay and polling bring the refused ones in)."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client

from core.redis_client import fast_redis
from inbox import webhook_rate, webhooks
from inbox.models import InboxItem
from inbox.polling import poll_store, replay_failed_webhooks
from sandbox import demo_data
from sandbox.testing import SandboxHandle
from tenants.models import Api2CartAccount
from tenants.store_connection import register_webhooks
from tests.support.stores import make_store, post_webhook

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

    # Polling brings the refused ones in (the others wait for their webhook items' fetch) ...
    poll_store(store)
    polled = InboxItem.objects.filter(store=store, source=InboxItem.Source.POLL)
    assert set(polled.values_list("entity_id", flat=True)) == missing
    # ... and so does the replay of what API2Cart lists as refused deliveries.
    wait_for_failed_deliveries(sandbox, 2)
    assert replay_failed_webhooks(account) == 2
    replayed = InboxItem.objects.filter(store=store, source=InboxItem.Source.FAILED_WEBHOOK)
    assert set(replayed.values_list("entity_id", flat=True)) == missing
    assert set(replayed.values_list("state", flat=True)) == {InboxItem.State.PENDING}
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


def test_webhooks_are_accepted_while_redis_is_unreachable(
    request, monkeypatch, settings, db, caplog
):
    settings.HUB_WEBHOOK_STORE_RATE = 1
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    fast_redis.cache_clear()  # the pool is made for the URL above, and dropped afterwards
    request.addfinalizer(fast_redis.cache_clear)
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


def redis_count(source: str, sender: int) -> int:
    with redis.Redis.from_url(django_settings.REDIS_URL) as client:
        return int(client.get(webhook_rate.rate_key(source, sender, int(NOW // 60))) or 0)


def test_far_below_the_cap_a_process_reports_its_deliveries_in_batches(frozen_minute, settings):
    """One Redis round trip per `BATCH` deliveries instead of one each, and none refused."""
    settings.HUB_WEBHOOK_STORE_RATE = 1_000_000
    forget_rate("api2cart", 424242)
    rate = webhook_rate.WebhookRate()
    answers = [rate.retry_after("api2cart", 424242) for _ in range(250)]
    assert answers == [None] * 250
    # The first delivery reports itself, then each 100th the 100 tallied since.
    assert redis_count("api2cart", 424242) == 1 + 2 * webhook_rate.BATCH
    forget_rate("api2cart", 424242)


def test_a_tally_is_reported_when_it_gets_old(frozen_minute, settings, monkeypatch):
    settings.HUB_WEBHOOK_STORE_RATE = 1_000_000
    forget_rate("api2cart", 424243)
    rate = webhook_rate.WebhookRate()
    for _ in range(3):
        rate.retry_after("api2cart", 424243)
    assert redis_count("api2cart", 424243) == 1
    monkeypatch.setattr(webhook_rate, "REPORT_SECONDS", 0.0)
    rate.retry_after("api2cart", 424243)
    assert redis_count("api2cart", 424243) == 4
    forget_rate("api2cart", 424243)


def test_near_the_cap_every_delivery_is_counted_and_none_gets_past_it(frozen_minute, settings):
    limit = webhook_rate.SPREAD * 5
    settings.HUB_WEBHOOK_STORE_RATE = limit
    forget_rate("api2cart", 424244)
    first, second = webhook_rate.WebhookRate(), webhook_rate.WebhookRate()  # two processes
    answers = [
        process.retry_after("api2cart", 424244) for _ in range(limit) for process in (first, second)
    ]
    assert answers.count(None) <= limit
    assert answers.count(None) >= limit - 2 * webhook_rate.BATCH
    assert set(answers) - {None} == {45}
    forget_rate("api2cart", 424244)
