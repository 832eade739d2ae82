"""Every refusal under `/api/` is JSON in one shape, `{"detail": str, "errors": {path: [...]}}`,
whoever answers it (a view, DRF, a request guard, Django's handlers), with DEBUG on and off; the
API takes the types its schema says and answers pages and query parameters as it documents."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.throttling import UserRateThrottle

from orders.intake.api import OrderDetailView
from orders.models import Order
from tests.support.orders_api import ApiClient, issue_token, order_body

ORDERS = "/api/v1/orders/"


@pytest.fixture
def acme_api(acme) -> ApiClient:
    return ApiClient("acme.localhost", issue_token("acme"))


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


def refusal(response, status: int) -> dict:
    """The answer's body, after checking it is the error shape with this status."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    assert all(
        isinstance(path, str) and messages and all(isinstance(m, str) for m in messages)
        for path, messages in body["errors"].items()
    )
    return body


def send(api: ApiClient, method: str, path: str, body: bytes = b"", **extra):
    return api.client.generic(method, path, body, HTTP_HOST=api.host, **api.headers, **extra)


@pytest.mark.parametrize(
    ("method", "path", "body", "extra", "status"),
    [
        ("POST", ORDERS, b"{bad", {"content_type": "application/json"}, 400),
        ("POST", ORDERS, b"[1, 2]", {"content_type": "application/json"}, 400),
        ("POST", ORDERS, b"x", {"content_type": "text/plain"}, 415),
        ("POST", ORDERS, b"{}", {"content_type": "application/json; charset=rot13"}, 415),
        ("POST", ORDERS, b"[" * 2_000_000, {"content_type": "application/json"}, 413),
        ("DELETE", ORDERS, b"", {}, 405),
        ("PUT", f"{ORDERS}1/", b"{}", {"content_type": "application/json"}, 405),
        ("GET", f"{ORDERS}1/invoice", b"", {}, 405),
        ("GET", ORDERS, b"", {"HTTP_ACCEPT": "text/html"}, 406),
        ("GET", f"{ORDERS}?page=999", b"", {}, 404),
        ("GET", f"{ORDERS}999999/", b"", {}, 404),
        ("POST", f"{ORDERS}999999/invoice", b"", {}, 404),
        ("POST", f"{ORDERS}null,null/invoice", b"", {}, 404),
        ("GET", "/api/v2/orders/", b"", {}, 404),
        ("POST", "/api/v1/orders", b"{}", {"content_type": "application/json"}, 404),
        ("GET", f"{ORDERS}?order_number=a%00b", b"", {}, 400),
        ("GET", f"{ORDERS}?state=bogus", b"", {}, 400),
    ],
)
def test_every_refusal_is_the_error_body(acme_api, debug, method, path, body, extra, status):
    refusal(send(acme_api, method, path, body, **extra), status)


def test_a_method_error_says_which_methods_are_allowed(acme_api):
    response = send(acme_api, "DELETE", ORDERS)
    assert refusal(response, 405)["detail"] == 'Method "DELETE" not allowed.'
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


@pytest.mark.parametrize("token", [None, "hub_wrong_token"])
def test_a_missing_or_wrong_token_is_the_error_body(acme, debug, token):
    response = ApiClient("acme.localhost", token).get(ORDERS)
    refusal(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_viewer_placing_an_order_is_the_error_body(acme):
    viewer = ApiClient("acme.localhost", issue_token("acme", role="Viewer"))
    body = refusal(viewer.post(ORDERS, order_body()), 403)
    assert body == {"detail": "You do not have permission to perform this action.", "errors": {}}


@pytest.fixture
def throttle_history(acme):
    """The rate history of acme's admin lives in the cache; each use starts and ends empty."""
    with schema_context("acme"):
        key = f"throttle_user_{get_user_model().objects.get(username='ops@acme.test').pk}"
        cache.delete(key)
    yield
    with schema_context("acme"):
        cache.delete(key)


def test_throttling_is_the_error_body_with_retry_after(acme_api, throttle_history, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min"})
    statuses = [acme_api.get(ORDERS).status_code for _ in range(3)]
    throttled = acme_api.get(ORDERS)
    assert statuses == [200, 200, 429]
    assert refusal(throttled, 429)["detail"].startswith("Request was throttled.")
    assert int(throttled["Retry-After"]) > 0


def test_validation_errors_name_fields_by_path(acme_api):
    body = order_body()
    body["lines"][1]["quantity"] = "0"
    answer = refusal(acme_api.post(ORDERS, body), 400)
    assert answer == {
        "detail": "The order has 1 invalid field.",
        "errors": {"lines[1].quantity": ["Must be greater than 0."]},
    }


def test_a_number_where_the_schema_says_string_is_refused_not_stored(acme_api):
    answer = refusal(acme_api.post(ORDERS, order_body(order_number=0)), 400)
    assert answer["errors"] == {"order_number": ["Not a valid string: send a JSON string."]}
    body = order_body()
    body["ship_to"]["postal_code"] = 78701
    body["lines"][0]["sku"] = True
    answer = refusal(acme_api.post(ORDERS, body), 400)
    assert set(answer["errors"]) == {"ship_to.postal_code", "lines[0].sku"}
    with schema_context("acme"):
        assert not Order.objects.exists()


def test_a_string_is_measured_as_sent(acme_api):
    padded = " " + "0" * 100
    answer = refusal(acme_api.post(ORDERS, order_body(order_number=padded)), 400)
    assert answer["errors"] == {
        "order_number": ["Ensure this field has no more than 100 characters."]
    }
    assert acme_api.post(ORDERS, order_body(order_number=" B2B-7 ")).json()["order_number"] == (
        "B2B-7"
    )


def test_amounts_as_strings_or_numbers_as_documented(acme_api):
    body = order_body(order_number="AMOUNTS")
    body["lines"] = [
        {"sku": "A", "quantity": "2.000", "unit_price": "9.9900"},
        {"sku": "B", "quantity": 3, "unit_price": 4},
    ]
    response = acme_api.post(ORDERS, body)
    assert response.status_code == 201, response.content
    lines = response.json()["lines"]
    assert [(Decimal(line["quantity"]), Decimal(line["unit_price"])) for line in lines] == [
        (Decimal("2"), Decimal("9.99")),
        (Decimal("3"), Decimal("4")),
    ]


def test_pages_and_query_parameters_are_answered_as_documented(acme_api):
    for number in ("P-1", "P-2", "P-3"):
        assert acme_api.post(ORDERS, order_body(order_number=number)).status_code == 201

    assert len(acme_api.get(ORDERS, page_size=2, page=2).json()["results"]) == 1
    past = refusal(acme_api.get(ORDERS, page_size=2, page=3), 404)
    assert past == {"detail": "Invalid page.", "errors": {}}
    for params, field in [
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": 201}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"state": ""}, "state"),
        ({"order_number": "x" * 101}, "order_number"),
    ]:
        assert set(refusal(acme_api.get(ORDERS, **params), 400)["errors"]) == {field}, params


def test_an_exception_in_an_api_view_is_the_error_body_with_debug_on(acme_api, debug, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(OrderDetailView, "retrieve", broken)
    client = Client(raise_request_exception=False)
    response = client.get(f"{ORDERS}1/", HTTP_HOST="acme.localhost", **acme_api.headers)
    body = refusal(response, 500)
    assert "boom" not in json.dumps(body)


@pytest.mark.parametrize("host", ["localhost", "nobody.localhost"])
def test_the_api_on_the_platform_or_an_unknown_domain_is_the_error_body(db, debug, host):
    refusal(Client().get("/api/v1/orders/", HTTP_HOST=host), 404)
