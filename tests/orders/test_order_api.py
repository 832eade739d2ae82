"""POST/GET /api/v1/orders/: token auth, idempotency, validation paths and tenant isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from orders.models import Order, OrderEvent
from tenants.models import ActivityEvent
from tests.support.orders_api import ApiClient, issue_token, order_body

ORDERS = "/api/v1/orders/"


@pytest.fixture
def acme_api(acme) -> ApiClient:
    return ApiClient("acme.localhost", issue_token("acme"))


def test_post_creates_the_order_in_the_callers_tenant_only(acme_api, globex):
    response = acme_api.post(ORDERS, order_body())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["order_number"] == "B2B-1001"
    assert body["source"] == "api"
    assert body["state"] == Order.State.ROUTED
    assert body["ship_to"]["country"] == "US"
    assert body["currency"] == "USD"
    assert [line["sku"] for line in body["lines"]] == ["WIDGET-1", "GADGET-7"]
    assert body["links"]["self"] == f"http://acme.localhost/api/v1/orders/{body['id']}/"
    assert [event["step"] for event in body["events"]] == ["received"]
    with schema_context("acme"):
        order = Order.objects.get(pk=body["id"])
        assert order.source == Order.Source.API
        assert order.store_id is None
        assert order.store_order_id == "B2B-1001"
        assert order.customer_email == "buyer@example.com"
        assert [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
            ("WIDGET-1", Decimal("2"), Decimal("9.99")),
            ("GADGET-7", Decimal("1"), Decimal("24.5")),
        ]
        assert OrderEvent.objects.filter(order=order, step="received").count() == 1
        assert order.events.get().actor.startswith("ops@acme.test (token ")
        assert order.idempotency_key is None
    with schema_context("globex"):
        assert not Order.objects.filter(order_number="B2B-1001").exists()
    assert ActivityEvent.objects.filter(
        tenant__slug="acme", action="order.api_accepted", object_id=str(body["id"])
    ).exists()


def test_same_key_and_body_replays_the_original_order(acme_api):
    first = acme_api.post(ORDERS, order_body(), key="key-1")
    again = acme_api.post(ORDERS, order_body(), key="key-1")

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    with schema_context("acme"):
        assert Order.objects.filter(order_number="B2B-1001").count() == 1
        assert Order.objects.get().idempotency_key == "key-1"


def test_replay_ignores_key_order_and_spacing_of_the_json(acme_api):
    first = acme_api.post(ORDERS, None, key="key-2", raw='{"a": 1, "b": 2}')
    assert first.status_code == 400
    created = acme_api.post(ORDERS, order_body(), key="key-3")
    reordered = dict(reversed(list(order_body().items())))
    again = acme_api.post(ORDERS, reordered, key="key-3")
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]


def test_same_key_with_a_different_body_is_refused(acme_api):
    first = acme_api.post(ORDERS, order_body(), key="key-1")
    changed = order_body(email="someone.else@example.com")
    response = acme_api.post(ORDERS, changed, key="key-1")

    assert response.status_code == 422
    body = response.json()
    assert "key-1" in body["detail"]
    assert "different request body" in body["detail"]
    assert body["order_id"] == first.json()["id"]
    assert body["order_number"] == "B2B-1001"
    with schema_context("acme"):
        assert Order.objects.count() == 1


def test_existing_order_number_without_key_is_a_conflict(acme_api):
    first = acme_api.post(ORDERS, order_body())
    response = acme_api.post(ORDERS, order_body())
    with_new_key = acme_api.post(ORDERS, order_body(), key="fresh-key")

    assert response.status_code == 409
    assert with_new_key.status_code == 409
    body = response.json()
    assert body["detail"] == f"Order B2B-1001 already exists (id {first.json()['id']})."
    assert body["order_id"] == first.json()["id"]
    with schema_context("acme"):
        assert Order.objects.count() == 1


def test_validation_errors_name_each_field_path(acme_api):
    body = order_body(email="not-an-email")
    body["ship_to"]["country"] = "XX"
    del body["ship_to"]["city"]
    body["lines"][1]["quantity"] = "0"
    body["lines"].append({"sku": "", "quantity": "1", "unit_price": "-1"})

    response = acme_api.post(ORDERS, body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {
        "email",
        "ship_to.country",
        "ship_to.city",
        "lines[1].quantity",
        "lines[2].sku",
        "lines[2].unit_price",
    }
    assert errors["lines[1].quantity"] == ["Must be greater than 0."]
    assert "ISO 3166-1" in errors["ship_to.country"][0]
    with schema_context("acme"):
        assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "This list may not be empty."),
        ([{"sku": "A", "quantity": 1, "unit_price": 1}] * 501, "500"),
    ],
)
def test_an_order_has_between_one_and_500_lines(acme_api, lines, message):
    response = acme_api.post(ORDERS, order_body(lines=lines))
    assert response.status_code == 400
    assert message in response.json()["errors"]["lines"][0]


@pytest.mark.parametrize("raw", ['{"order_number": ', "[1, 2]", '"just a string"', "null"])
def test_bad_json_is_a_400_never_a_500(acme_api, raw):
    response = acme_api.post(ORDERS, None, raw=raw)
    assert response.status_code == 400


def test_without_a_token_the_api_answers_401(acme):
    response = ApiClient("acme.localhost", None).post(ORDERS, order_body())
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_viewer_may_read_but_not_place_orders(acme_api):
    viewer = ApiClient("acme.localhost", issue_token("acme", role="Viewer"))
    placed = acme_api.post(ORDERS, order_body()).json()

    assert viewer.post(ORDERS, order_body(order_number="B2B-2")).status_code == 403
    assert viewer.get(f"{ORDERS}{placed['id']}/").status_code == 200
    with schema_context("acme"):
        assert not Order.objects.filter(order_number="B2B-2").exists()


def test_another_tenants_token_cannot_read_the_order(acme_api, globex):
    order_id = acme_api.post(ORDERS, order_body()).json()["id"]
    with schema_context("globex"):
        # Ids are per schema: make sure globex has no order of its own under this id.
        Order.objects.filter(pk=order_id).delete()
    globex_token = issue_token("globex")

    at_globex = ApiClient("globex.localhost", globex_token).get(f"{ORDERS}{order_id}/")
    at_acme = ApiClient("acme.localhost", globex_token).get(f"{ORDERS}{order_id}/")

    assert at_globex.status_code == 404
    assert at_acme.status_code == 401


def test_detail_shows_state_upstream_ids_and_timeline(acme_api):
    order_id = acme_api.post(ORDERS, order_body()).json()["id"]
    with schema_context("acme"):
        Order.objects.filter(pk=order_id).update(
            state=Order.State.SENT_TO_SHIPSTATION,
            erp_order_number="0000123456",
            shipstation_order_id="98765",
        )
        OrderEvent.objects.create(order_id=order_id, step="erp_order", message="Order created.")

    body = acme_api.get(f"{ORDERS}{order_id}/").json()

    assert body["state"] == "sent_to_shipstation"
    assert body["erp_order_number"] == "0000123456"
    assert body["shipstation_order_id"] == "98765"
    assert [event["step"] for event in body["events"]] == ["received", "erp_order"]


def test_list_is_paginated_and_filters_by_state_and_number(acme_api):
    for number in ("L-1", "L-2", "L-3"):
        acme_api.post(ORDERS, order_body(order_number=number))
    with schema_context("acme"):
        Order.objects.filter(order_number="L-2").update(state=Order.State.FAILED)

    everything = acme_api.get(ORDERS, page_size=2).json()
    failed = acme_api.get(ORDERS, state="failed").json()
    by_number = acme_api.get(ORDERS, order_number="L-3").json()

    assert everything["count"] == 3
    assert len(everything["results"]) == 2
    assert everything["next"]
    assert [order["order_number"] for order in failed["results"]] == ["L-2"]
    assert [order["order_number"] for order in by_number["results"]] == ["L-3"]
    assert acme_api.get(ORDERS, state="bogus").status_code == 400


def test_schema_documents_the_order_endpoints(acme):
    client = ApiClient("acme.localhost", None)
    response = client.get("/api/schema/", format="json")

    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/orders/" in schema["paths"]
    assert "/api/v1/orders/{id}/" in schema["paths"]
    post = schema["paths"]["/api/v1/orders/"]["post"]
    assert any(param["name"] == "Idempotency-Key" for param in post["parameters"])
    assert {"201", "200", "400", "409", "422"} <= set(post["responses"])
    assert client.get("/api/docs/").status_code == 200


def test_pathological_json_is_a_400_not_a_500(acme_api):
    deep = acme_api.post(ORDERS, None, raw="[" * 100_000)
    assert deep.status_code == 400
    assert "nested too deeply" in deep.json()["detail"]


def test_nul_characters_are_a_400_in_fields_and_dropped_elsewhere_never_a_500(acme_api):
    body = order_body(order_number="NUL-1")
    body["lines"][0]["name"] = "Wid\u0000get"
    refused = acme_api.post(ORDERS, body)
    assert refused.status_code == 400
    assert "lines[0].name" in refused.json()["errors"]

    response = acme_api.post(ORDERS, order_body(order_number="NUL-2", extra="a\u0000b"))
    assert response.status_code == 201, response.content
    with schema_context("acme"):
        assert Order.objects.get(order_number="NUL-2").payload["extra"] == "ab"


def test_fractional_quantities_are_refused_because_shipstation_ships_units(acme_api):
    body = order_body()
    body["lines"][0]["quantity"] = "0.5"
    response = acme_api.post(ORDERS, body)
    assert response.status_code == 400
    assert "whole number" in response.json()["errors"]["lines[0].quantity"][0]
