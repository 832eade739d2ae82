"""POST /webhooks/shipstation/<tenant token>/: authentication, persistence, refusals; and the
handler's refusal to send the tenant's credentials to a `resource_url` on another host."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from inbox import processing
from inbox.models import InboxItem
from tenants.models import Tenant

HOST = "localhost"
SHIP_NOTIFY = {
    "resource_url": "https://ssapi.shipstation.com/shipments?storeID=1&batchId=7",
    "resource_type": "SHIP_NOTIFY",
}


@pytest.fixture
def token(acme: Tenant) -> str:
    token = acme.rotate_shipstation_webhook_token()
    acme.save()
    return token


def post(token: str, body: bytes | str, **extra) -> object:
    return Client().post(
        f"/webhooks/shipstation/{token}/",
        data=body,
        content_type="application/json",
        HTTP_HOST=HOST,
        **extra,
    )


def test_a_notification_is_stored_for_the_tenant_once(acme, token):
    body = json.dumps(SHIP_NOTIFY)
    answers = [post(token, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    item = InboxItem.objects.get()
    assert (item.source, item.tenant, item.store, item.entity) == (
        "shipstation",
        acme,
        None,
        "ship_notify",
    )
    assert item.duplicates == 2
    assert acme.shipstation_webhook_token_hash != token


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ("[1]", 400),
        (json.dumps({"resource_type": "SHIP_NOTIFY"}), 400),
        (json.dumps({**SHIP_NOTIFY, "resource_type": "NOPE"}), 400),
        (json.dumps({**SHIP_NOTIFY, "resource_url": "file:///etc/passwd"}), 400),
    ],
)
def test_bad_input_is_a_clear_4xx(token, body, status):
    answer = post(token, body)
    assert answer.status_code == status
    assert answer.json()["error"]
    assert not InboxItem.objects.exists()


def test_an_unknown_token_is_404_and_get_is_405(token):
    assert post("wrong-token", json.dumps(SHIP_NOTIFY)).status_code == 404
    answer = Client().get(f"/webhooks/shipstation/{token}/", HTTP_HOST=HOST)
    assert answer.status_code == 405
    assert not InboxItem.objects.exists()


def test_a_resource_url_on_another_host_is_refused_and_logged(acme, token, caplog):
    body = {**SHIP_NOTIFY, "resource_url": "https://evil.example.test/shipments?batchId=7"}
    assert post(token, json.dumps(body)).status_code == 200
    item = InboxItem.objects.get()

    with caplog.at_level(logging.WARNING, logger="hub.shipping"):
        processing.process_items([item.pk])

    item.refresh_from_db()
    assert item.state == InboxItem.State.NEEDS_ATTENTION
    assert "evil.example.test" in item.last_error
    assert any("refused resource_url" in r.getMessage() for r in caplog.records)
