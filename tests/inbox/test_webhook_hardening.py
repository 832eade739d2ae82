"""Webhooks as a careless or hostile sender sends them: deep bodies, a burst of 50 at a real
server process, and the store token (it is in the URL) kept out of every log."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client

from core.redaction import RedactSecrets
from inbox.models import InboxItem
from tenants.models import Api2CartAccount, Store
from tests.support.harness import HubProcesses, hub_env
from tests.support.stores import make_store, post_webhook


def nested(depth: int) -> dict:
    value: dict = {"id": "9001"}
    for _ in range(depth):
        value = {"next": value}
    return value


def test_a_body_nested_900_deep_is_refused_at_the_door(store, caplog):
    with caplog.at_level(logging.WARNING, logger="hub.webhooks"):
        response = post_webhook(store, nested(900))
    assert response.status_code == 400
    assert response.json() == {"error": "Body is nested deeper than 64 levels."}
    assert "400 Body is nested deeper than 64 levels." in caplog.text
    assert not InboxItem.objects.exists()


def test_nesting_is_refused_from_the_65th_level_and_brackets_in_strings_do_not_count(store):
    at_limit = post_webhook(store, nested(63))  # 64 objects deep
    too_deep = post_webhook(store, nested(64))
    brackets_in_text = post_webhook(store, {"id": "9002", "note": "[{" * 100})
    assert at_limit.status_code == 200
    assert too_deep.status_code == 400
    assert too_deep.json() == {"error": "Body is nested deeper than 64 levels."}
    assert brackets_in_text.status_code == 200
    assert InboxItem.objects.count() == 2


def test_a_nul_in_a_webhooks_query_string_is_refused(store):
    response = post_webhook(store.webhook_token + "/?x=a%00b", {"id": "9003"})
    assert response.status_code == 400
    assert "query parameter 'x'" in response.json()["detail"]
    assert not InboxItem.objects.exists()


def test_the_inbox_page_shows_a_stored_deep_body_with_a_notice(store, platform_staff):
    """Bodies stored before the door refused them must not break the admin page."""
    body = json.dumps(nested(900))
    item = InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK,
        store=store,
        dedupe_key="deep-body",
        entity="order",
        action="add",
        body=body,
    )
    response = platform_staff.get(f"/admin/inbox/inboxitem/{item.pk}/change/")
    assert response.status_code == 200
    assert b"Nested deeper than 64 levels; shown as received." in response.content
    assert b"{&quot;next&quot;: {&quot;next&quot;" in response.content


def test_the_inbox_page_still_indents_ordinary_json(store, platform_staff):
    item = InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK,
        store=store,
        dedupe_key="plain-body",
        entity="order",
        action="add",
        body='{"id": "1"}',
    )
    response = platform_staff.get(f"/admin/inbox/inboxitem/{item.pk}/change/")
    assert response.status_code == 200
    assert b"<pre>{\n  &quot;id&quot;: &quot;1&quot;\n}</pre>" in response.content


@pytest.fixture
def hub_log() -> Iterator[io.StringIO]:
    """What the hub's configured console handler writes (the filter settings put on it)."""
    handler = next(
        h
        for h in logging.getLogger("django").handlers
        if any(isinstance(f, RedactSecrets) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_webhook_tokens_never_reach_the_hubs_request_log(store, hub_log):
    unknown = "unknown-token-abcdef123456"
    assert post_webhook(unknown, {"id": "1"}).status_code == 404
    assert post_webhook(store, nested(900)).status_code == 400
    assert post_webhook(store, b"not json").status_code == 400
    logging.getLogger("hub.webhooks").warning("callback at %s", f"/webhooks/api2cart/{unknown}/")
    text = hub_log.getvalue()
    assert "Not Found: /webhooks/api2cart/[redacted]/" in text
    assert "callback at /webhooks/api2cart/[redacted]/" in text
    assert unknown not in text
    assert store.webhook_token not in text


@pytest.fixture
def committed_store(django_db_blocker) -> Iterator[Store]:
    """A store the web server process can see (committed), removed with its items after."""
    with django_db_blocker.unblock():
        account = Api2CartAccount.objects.create(
            name="burst", base_url="http://127.0.0.1:9/api2cart/v1.1", api_key="burst-key"
        )
        store = make_store(account, "northwind", store_key="burst-store-key")
        Store.objects.filter(pk=store.pk).update(name="burst-test")
    yield store
    with django_db_blocker.unblock():
        InboxItem.objects.filter(store=store).delete()
        store.delete()
        account.delete()


@pytest.mark.e2e  # a web server process
def test_a_burst_of_50_concurrent_webhooks_gets_no_5xx(
    committed_store, tmp_path, django_db_blocker
):
    """The development server (a thread per request) behind the hub's request slots."""
    hub = HubProcesses(hub_env(connection.settings_dict, settings.REDIS_URL), tmp_path)
    hub.start_web()
    try:
        url = f"{hub.web_url}/webhooks/api2cart/{committed_store.webhook_token}/"

        def send(n: int) -> int:
            """One delivery; a connection the dev server's listen backlog (10) resets before
            any HTTP answer is sent again, as API2Cart redelivers."""
            for attempt in range(5):
                try:
                    return requests.post(
                        url,
                        data=json.dumps({"id": f"B-{n}", "order_id": f"B-{n}"}),
                        headers={
                            "Host": "localhost",
                            "Content-Type": "application/json",
                            "X-Webhook-Entity": "order",
                            "X-Webhook-Action": "add",
                        },
                        timeout=60,
                    ).status_code
                except requests.ConnectionError:
                    time.sleep(0.2 * (attempt + 1))
            return 0

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(send, range(50)))
    finally:
        hub.stop("web")
    assert statuses == [200] * 50
    with django_db_blocker.unblock():
        assert InboxItem.objects.filter(store=committed_store).count() == 50
    log = (tmp_path / "web.log").read_text(errors="replace")
    assert committed_store.webhook_token not in log
    assert '"POST /webhooks/api2cart/[redacted]/ HTTP/1.1" 200' in log


def terminate_backend() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    finally:
        other.close()


def deallocate_prepared_statements() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")


@pytest.mark.parametrize("breakage", [terminate_backend, deallocate_prepared_statements])
def test_a_kept_connection_gone_bad_is_replaced_and_the_event_stored(
    django_db_setup, committed_store, django_db_blocker, caplog, breakage
):
    """A webhook skips Django's `SELECT 1` before its prepared insert, so a dead connection or
    a dropped statement must not cost the delivery: the insert runs again on a new connection."""
    client = Client()  # one handler: the host and the store are remembered, as in a server
    with django_db_blocker.unblock():
        assert post_webhook(committed_store, {"id": "D-1"}, client=client).status_code == 200
        breakage()
        connection.close_if_unusable_or_obsolete()  # what a server does as a request starts

        response = post_webhook(committed_store, {"id": "D-2"}, client=client)

        assert response.status_code == 200
        assert response.json()["status"] == "accepted"
        stored = InboxItem.objects.filter(store=committed_store)
        assert sorted(stored.values_list("entity_id", flat=True)) == ["D-1", "D-2"]
    assert "storing it on a new connection" in caplog.text
