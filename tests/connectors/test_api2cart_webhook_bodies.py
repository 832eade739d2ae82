"""The one reader of the ids in API2Cart webhook and poll bodies (`connectors.api2cart.webhooks`).

The hub's webhook view stores `entity_id` from it (and answers 400 with its message), the store
order ingest asks it for the internal id and the order number; both read the same shapes.
"""

from __future__ import annotations

import json

import pytest

from connectors.api2cart import (
    UnreadableWebhook,
    WebhookIds,
    read_webhook_body,
    read_webhook_ids,
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"id": "5001", "order_id": "NW-5001"}, WebhookIds("5001", "5001", "NW-5001")),
        ({"order": {"id": "77", "order_id": "NW-77"}}, WebhookIds("77", "77", "NW-77")),
        ({"data": {"order_id": "NW-78"}}, WebhookIds("NW-78", "", "NW-78")),
        ({"order_id": 79}, WebhookIds("79", "", "79")),
        ({"id": ["80"], "order_id": [" NW-80 "]}, WebhookIds("80", "80", "NW-80")),
        ([{"order": [{"id": 81}]}], WebhookIds("81", "81", "")),
        ({"result": {"id": "82"}, "event": "order.add"}, WebhookIds("82", "82", "")),
        ({"anything": [{"id": "83", "order_id": "NW-83"}]}, WebhookIds("83", "83", "NW-83")),
        (
            {"id": "", "order_id": "NW-84", "status": {"id": "Pending"}},
            WebhookIds("NW-84", "", "NW-84"),
        ),
        ({"id": "   ", "order_id": None}, WebhookIds()),
        ({"id": True, "order_id": False}, WebhookIds()),
        ({"webhook_id": 3, "entity_id": "5001", "time": "2026-07-01"}, WebhookIds()),
        ({"id": "85", "order_id": {"value": "NW-85"}}, WebhookIds("85", "85", "")),
        ([], WebhookIds()),
        ("5001", WebhookIds()),
    ],
)
def test_ids_are_read_at_the_top_level_or_inside_a_wrapper(payload, expected) -> None:
    assert read_webhook_ids(payload) == expected
    assert read_webhook_body(json.dumps(payload)) == expected
    assert read_webhook_body(json.dumps(payload).encode()) == expected


def test_the_top_level_comes_before_a_wrapper_and_id_before_order_id() -> None:
    payload = {"order_id": "NW-1", "order": {"id": "2"}, "data": {"id": "3"}}
    assert read_webhook_ids(payload) == WebhookIds("NW-1", "", "NW-1")
    assert (
        read_webhook_ids({"order": {"order_id": "NW-4"}, "data": {"id": "5"}}).entity_id == "NW-4"
    )


def test_other_entities_are_named_by_their_own_id_field() -> None:
    payload = {"product": {"product_id": "P-1", "order_id": "NW-9"}}
    assert read_webhook_ids(payload, "product") == WebhookIds("P-1", "", "NW-9")
    assert read_webhook_ids({"id": "C-1"}, "customer") == WebhookIds("C-1", "C-1", "")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"id": "x" * 101}, "The id field is not a usable id."),
        ({"id": "a\u0000b"}, "The id field is not a usable id."),
        ({"id": {"nested": 1}, "order_id": "NW-1"}, "The id field is not a string or number."),
        ({"id": [1, 2]}, "The id field is not a string or number."),
        ({"id": 1.5}, "The id field is not a string or number."),
        ({"order": {"order_id": "x" * 101}}, "The order_id field is not a usable id."),
    ],
)
def test_an_unusable_id_is_refused_with_the_field_named(payload, message) -> None:
    with pytest.raises(UnreadableWebhook) as caught:
        read_webhook_ids(payload)
    assert str(caught.value) == message


def test_an_empty_body_names_nothing_and_broken_json_is_refused() -> None:
    assert read_webhook_body(b"") == WebhookIds()
    assert read_webhook_body("  \n") == WebhookIds()
    with pytest.raises(UnreadableWebhook, match="not valid JSON"):
        read_webhook_body(b"{not json")
    with pytest.raises(ValueError):
        read_webhook_body("[" * 100_000)
