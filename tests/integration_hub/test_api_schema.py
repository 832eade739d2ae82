"""The published schema documents every answer each operation gives, with the one error body
and examples that are true to it; states the query-parameter rules; links a placed order to
reading it and to its invoice; and the docs page serves it."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from django.test import Client

from orders.models import Order

EVERY_OPERATION = {"400", "401", "405", "406", "429", "503"}
WITH_A_BODY = {"413", "415"}
EXPECTED = {
    ("get", "/api/v1/me/"): {"200"},
    ("get", "/api/v1/orders/"): {"200", "403", "404"},
    ("post", "/api/v1/orders/"): {"200", "201", "403", "409", "422"} | WITH_A_BODY,
    ("get", "/api/v1/orders/{id}/"): {"200", "403", "404"},
    ("post", "/api/v1/orders/{id}/invoice"): {"200", "403", "404", "409"},
}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/?format=json", HTTP_HOST="acme.localhost")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def validator(schema: dict[str, Any], part: dict[str, Any]) -> jsonschema.Draft4Validator:
    """A validator of one schema object whose `$ref`s resolve in the whole document."""
    return jsonschema.Draft4Validator({**part, "components": schema["components"]})


def test_every_operation_documents_every_answer_it_gives(schema):
    found = {(method, path): set(op["responses"]) for method, path, op in operations(schema)}
    assert set(found) == set(EXPECTED)
    for key, codes in EXPECTED.items():
        assert found[key] == codes | EVERY_OPERATION, key


def test_every_refusal_is_the_error_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "errors"]
    for method, path, operation in operations(schema):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                body = response["content"]["application/json"]["schema"]
                resolved = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
                assert {"detail", "errors"} <= set(resolved["required"]), (method, path, code)


def test_every_example_is_valid_against_its_schema(schema):
    checked = 0
    for method, path, operation in operations(schema):
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        bodies = [("request", content)] if content else []
        bodies += [
            (code, response["content"]["application/json"])
            for code, response in operation["responses"].items()
            if "content" in response
        ]
        for where, media in bodies:
            for name, example in media.get("examples", {}).items():
                errors = list(validator(schema, media["schema"]).iter_errors(example["value"]))
                assert not errors, (method, path, where, name, errors[0].message)
                checked += 1
    assert checked >= 30


def test_every_refusal_has_an_example(schema):
    for method, path, operation in operations(schema):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                examples = response["content"]["application/json"].get("examples", {})
                assert examples, (method, path, code)


def test_the_query_parameter_rules_are_in_the_schema(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/orders/"]["get"]["parameters"]}
    assert set(parameters) == {"state", "order_number", "page", "page_size"}
    assert parameters["state"]["schema"]["enum"] == Order.State.values
    number = parameters["order_number"]["schema"]
    assert number["maxLength"] == 100
    allowed = re.compile(number["pattern"])
    assert allowed.search(" B2B-1 ")
    assert not allowed.search("B2B\u00001") and not allowed.search("\t\x1f ")
    assert parameters["page"]["schema"]["minimum"] == 1
    size = parameters["page_size"]["schema"]
    assert (size["minimum"], size["maximum"]) == (1, 200)


def test_the_order_body_says_its_strict_types(schema):
    order = schema["components"]["schemas"]["OrderInputRequest"]
    assert order["properties"]["order_number"]["type"] == "string"
    lines = order["properties"]["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 500)
    line = schema["components"]["schemas"]["OrderLineInputRequest"]["properties"]
    assert [branch["type"] for branch in line["quantity"]["oneOf"]] == ["string", "integer"]
    ship_to = schema["components"]["schemas"]["ShipToRequest"]["properties"]
    assert ship_to["country"]["allOf"] == [{"$ref": "#/components/schemas/CountryEnum"}]
    assert "US" in schema["components"]["schemas"]["CountryEnum"]["enum"]


def test_a_placed_order_links_to_reading_it_and_to_its_invoice(schema):
    ids = {op["operationId"] for _, _, op in operations(schema)}
    created = schema["paths"]["/api/v1/orders/"]["post"]["responses"]["201"]["links"]
    assert set(created) == {"ShowOrder", "GenerateInvoice"}
    shown = schema["paths"]["/api/v1/orders/{id}/"]["get"]["responses"]["200"]["links"]
    for link in [*created.values(), *shown.values()]:
        assert link["operationId"] in ids
        assert link["parameters"] == {"id": "$response.body#/id"}


def test_the_docs_page_serves_the_schema_with_its_assets(acme):
    page = Client().get("/api/docs/", HTTP_HOST="acme.localhost")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/schema/" in html
    assert "swagger-ui-dist" in html
