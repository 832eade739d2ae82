"""Minimised on the way in: once a store order is accepted, the public inbox body keeps only its
ids and a digest (the tenant's order holds the tenant's copy), the version is still recognised,
and no log line written while the order is processed carries the shopper's e-mail or street."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from connectors import api2cart
from core.redaction import RedactSecrets
from inbox.models import InboxItem
from inbox.polling import insert_new
from inbox.processing import process_items
from orders.intake import store_orders
from orders.models import Order
from tenants.models import Store, StoreMembership

EMAIL = "ann.lee@example.test"
STREET = "9 Elm Row"


def polled_order(order_id: str = "9001") -> dict:
    address = {
        "first_name": "Ann", "last_name": "Lee", "address1": STREET, "city": "York",
        "postcode": "YO1 7HH", "country": "GB", "phone": "07700 900123",
    }  # fmt: skip
    return {
        "id": order_id, "order_id": f"#{order_id}", "currency": {"iso3": "GBP"},
        "customer": {"id": "C-ANN", "email": EMAIL, "first_name": "Ann", "last_name": "Lee"},
        "create_at": "2026-12-01T10:00:00+0000", "modified_at": "2026-12-01T10:00:00+0000",
        "status": {"id": "Pending", "name": "Pending"},
        "totals": {"total": 20, "subtotal": 20, "shipping": 0, "tax": 0, "discount": 0},
        "shipping_address": address, "billing_address": address,
        "comment": f"Ring twice at {STREET}",
        "order_products": [{"order_product_id": "1", "product_id": "P1", "model": "SKU-1",
                            "name": "Widget", "price": 10, "quantity": 2, "total_price": 20}],
    }  # fmt: skip


@pytest.fixture
def own_store(store: Store, acme) -> Store:
    StoreMembership.objects.create(store=store, tenant=acme)
    return store


def poll_item(store: Store, body: dict, key: str = "poll-9001") -> InboxItem:
    return InboxItem.objects.create(
        source=InboxItem.Source.POLL, store=store, entity="order", action="poll",
        entity_id=body["id"], dedupe_key=key, body=json.dumps(body),
    )  # fmt: skip


@pytest.fixture
def hub_log() -> Iterator[io.StringIO]:
    """What the hub's configured console handler writes (the filter settings put on it)."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecrets) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.mark.django_db
def test_an_accepted_store_order_leaves_only_ids_and_a_digest_in_the_inbox(own_store):
    body = polled_order()
    item = poll_item(own_store, body)

    assert process_items([item.pk]) == {item.pk: InboxItem.State.DONE}

    item.refresh_from_db()
    assert item.personal_data_removed_at is not None
    assert json.loads(item.body) == {
        "id": "9001",
        "order_id": "#9001",
        "sha256": hashlib.sha256(json.dumps(body).encode()).hexdigest(),
    }
    assert EMAIL not in item.body and STREET not in item.body
    # A replay reads the ids and fetches the order from the store (the body is not the order).
    assert not store_orders._is_poll_hit(item)
    assert api2cart.read_webhook_body(item.body).internal_id == "9001"
    # The same version polled again is still recognised: the dedupe key was never touched.
    again = InboxItem(
        source="poll", store=own_store, dedupe_key="poll-9001", entity="order", action="poll",
        body=json.dumps(body),
    )  # fmt: skip
    assert insert_new([again]) == 0
    with schema_context("acme"):
        order = Order.objects.get(store=own_store, store_order_id="9001")
        assert order.customer_email == EMAIL and order.ship_to["street1"] == STREET
        assert order.payload["customer"]["email"] == EMAIL


@pytest.mark.django_db
def test_an_item_that_created_nothing_keeps_its_body_until_retention(own_store, settings):
    item = InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK, store=own_store, entity="order", action="add",
        entity_id="9002", dedupe_key="webhook-9002", body=json.dumps(polled_order("9002")),
        state=InboxItem.State.IGNORED,
    )  # fmt: skip
    parked = InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK, store=own_store, entity="order", action="add",
        entity_id="9003", dedupe_key="webhook-9003", body=json.dumps(polled_order("9003")),
        state=InboxItem.State.NEEDS_ATTENTION,
    )  # fmt: skip
    InboxItem.objects.update(received_at="2020-01-01T00:00:00Z")
    from privacy.retention import cut_old_inbox_bodies

    assert cut_old_inbox_bodies() == 1
    item.refresh_from_db()
    parked.refresh_from_db()
    assert EMAIL not in item.body and item.personal_data_removed_at is not None
    assert EMAIL in parked.body and parked.personal_data_removed_at is None
    assert cut_old_inbox_bodies() == 0


@pytest.mark.django_db
def test_no_log_line_written_while_processing_an_order_carries_an_email_or_street(
    own_store, hub_log, monkeypatch
):
    logger = logging.getLogger("hub.orders")
    accept = store_orders.accept_orders

    def careless_accept(incoming, **kwargs):
        """A developer logging what the intake holds, the way it is easy to do."""
        for order in incoming:
            logger.info("accepting %s", order)
            logger.warning("ship to %s for %s", order.ship_to, order.email)
            logger.info("payload %s", json.dumps(order.payload), extra={"customer": order.email})
        return accept(incoming, **kwargs)

    monkeypatch.setattr(store_orders, "accept_orders", careless_accept)
    item = poll_item(own_store, polled_order())

    assert process_items([item.pk]) == {item.pk: InboxItem.State.DONE}

    text = hub_log.getvalue()
    assert "accepting IncomingOrder(" in text and "[redacted]" in text
    assert "SKU-1" in text and "9001" in text  # what is not personal stays readable
    for personal in (EMAIL, STREET, "Ann", "Lee", "07700 900123", "YO1 7HH"):
        assert personal not in text, personal
