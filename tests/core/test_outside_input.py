"""Outside input never gives a 500: deep JSON, huge bodies, NUL characters, host case, token
floods. Each test sends the exact request and checks the exact answer."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context

from orders.models import Order
from tenants.activity import _failure_keys
from tenants.models import ActivityEvent
from tests.support.orders_api import ApiClient, issue_token, order_body

ORDERS = "/api/v1/orders/"


@pytest.fixture
def acme_api(acme) -> ApiClient:
    return ApiClient("acme.localhost", issue_token("acme"))


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"next": value}
    return value


def test_an_order_with_a_field_nested_500_deep_is_a_json_400(acme_api, caplog):
    body = order_body(order_number="DEEP-1", extra=nested(500))
    with caplog.at_level(logging.WARNING, logger="hub.requests"):
        response = acme_api.post(ORDERS, None, raw=json.dumps(body))
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - the document is nested too deeply (more than 64 levels).",
        "errors": {},
    }
    assert "nested deeper than 64 levels" in caplog.text
    with schema_context("acme"):
        assert not Order.objects.filter(order_number="DEEP-1").exists()


def test_an_order_nested_within_the_limit_is_accepted(acme_api):
    response = acme_api.post(ORDERS, order_body(order_number="DEEP-2", extra=nested(40)))
    assert response.status_code == 201, response.content


def test_a_20_mib_order_body_is_a_json_413(acme_api):
    raw = json.dumps(order_body(order_number="BIG-1", padding="x" * (20 * 1024 * 1024)))
    response = acme_api.post(ORDERS, None, raw=raw)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "The request body is larger than 1048576 bytes.",
        "errors": {},
    }


def test_a_nul_in_an_api_query_parameter_is_a_json_400(acme_api):
    response = acme_api.client.get(
        ORDERS + "?order_number=a%00b",
        HTTP_HOST="acme.localhost",
        **acme_api.headers,
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "A NUL character (\\u0000) is not allowed in the query parameter 'order_number'.",
        "errors": {},
    }


def test_a_nul_in_the_idempotency_key_is_a_json_400(acme_api):
    response = acme_api.post(ORDERS, order_body(order_number="NUL-KEY"), key="a\x00b")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "A NUL character (\\u0000) is not allowed in the Idempotency-Key header.",
        "errors": {},
    }
    with schema_context("acme"):
        assert not Order.objects.filter(order_number="NUL-KEY").exists()


def test_a_nul_in_an_admin_changelist_filter_is_a_400_page_naming_it(acme_admin, caplog):
    with caplog.at_level(logging.WARNING, logger="hub.requests"):
        response = acme_admin.get("/admin/orders/order/?state__exact=%00")
    assert response.status_code == 400
    assert b"<h1>Bad request</h1>" in response.content
    assert (
        b"A NUL character (\\u0000) is not allowed in the query parameter "
        b"&#x27;state__exact&#x27;." in response.content
    )
    assert "NUL character in the query parameter 'state__exact'" in caplog.text


def test_tenant_domains_are_matched_case_insensitively(acme_admin):
    client = Client()
    response = client.get("/admin/login/", HTTP_HOST="ACME.localhost")
    assert response.status_code == 200
    assert b"Acme Ltd" in response.content
    mixed = acme_admin.client.get("/admin/", HTTP_HOST="Acme.LocalHost")
    assert mixed.status_code == 200


def test_200_bad_tokens_write_one_audit_row_and_are_throttled(acme, settings):
    settings.HUB_TOKEN_FAILURE_WINDOW = 300
    settings.HUB_TOKEN_FAILURE_LIMIT = 20
    address = "198.51.100.23"
    with schema_context("acme"):
        cache.delete_many(_failure_keys("api_token.rejected", address))
    client = Client()
    statuses = [
        client.get(
            ORDERS,
            HTTP_HOST="acme.localhost",
            HTTP_AUTHORIZATION=f"Bearer hub_nope_{n}",
            REMOTE_ADDR=address,
        ).status_code
        for n in range(200)
    ]
    assert statuses == [401] * 20 + [429] * 180
    rows = ActivityEvent.objects.filter(
        tenant=acme, action="api_token.rejected", ip_address=address
    )
    assert rows.count() == 1
    assert rows.get().message == (
        "Unknown, revoked or malformed API token. Further failures from this address in the "
        "next 300 s are counted, not recorded one by one."
    )
    throttled = client.get(
        ORDERS,
        HTTP_HOST="acme.localhost",
        HTTP_AUTHORIZATION="Bearer hub_nope_x",
        REMOTE_ADDR=address,
    )
    assert throttled.json() == {
        "detail": "Too many failed API token attempts from this address (more than 20 in "
        "300 s). Expected available in 300 seconds.",
        "errors": {},
    }
    assert throttled["Retry-After"] == "300"
    with schema_context("acme"):
        cache.delete_many(_failure_keys("api_token.rejected", address))


def test_the_next_windows_row_counts_the_previous_windows_failures(acme, settings):
    settings.HUB_TOKEN_FAILURE_WINDOW = 1
    address = "198.51.100.24"
    with schema_context("acme"):
        keys = _failure_keys("api_token.rejected", address)
        cache.delete_many(keys)
    client = Client()

    def attempt() -> int:
        return client.get(
            ORDERS,
            HTTP_HOST="acme.localhost",
            HTTP_AUTHORIZATION="Bearer hub_nope_y",
            REMOTE_ADDR=address,
        ).status_code

    assert [attempt() for _ in range(3)] == [401, 401, 401]
    time.sleep(1.5)  # the window (cache TTL and audit row age) closes
    assert attempt() == 401
    messages = list(
        ActivityEvent.objects.filter(tenant=acme, action="api_token.rejected", ip_address=address)
        .order_by("id")
        .values_list("message", flat=True)
    )
    assert len(messages) == 2
    assert messages[1].endswith("The previous window counted 3 failed attempts from this address.")
    with schema_context("acme"):
        cache.delete_many(keys)
