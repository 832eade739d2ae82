"""ShipStationClient against the sandbox's ShipStation V1 fake, over real HTTP."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    ValidationError,
)
from connectors.shipstation import (
    Address,
    OrderItem,
    OrderRequest,
    ShipStationClient,
    format_pacific,
    parse_pacific,
)
from sandbox import demo_data

from .conftest import wait_for

ACME = demo_data.tenant("acme")


def make_client(sandbox, **kwargs) -> ShipStationClient:
    return ShipStationClient(
        ACME.shipstation_key,
        ACME.shipstation_secret,
        base_url=sandbox.api_url("shipstation"),
        **kwargs,
    )


def make_order(number: str, *, key: str | None = None, quantity: int = 2) -> OrderRequest:
    return OrderRequest(
        order_number=number,
        order_key=key or f"northwind:{number}",
        order_date=datetime(2026, 7, 1, 18, 30, tzinfo=UTC),
        order_status="awaiting_shipment",
        customer_email="ada.lovelace@example.com",
        bill_to=Address(name="Ada Lovelace"),
        ship_to=Address(
            name="Ada Lovelace",
            street1="12 High St",
            city="Leeds",
            postal_code="LS1 4AP",
            country="GB",
        ),
        items=[
            OrderItem(
                sku="AC-1001",
                name="Classic Anvil 1001",
                quantity=quantity,
                unit_price=Decimal("19.99"),
                line_item_key="line-1",
            )
        ],
        amount_paid=Decimal("39.98"),
        custom_field1="ERP-SO-1",
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(sandbox) -> Iterator[ShipStationClient]:
    with make_client(sandbox) as c:
        yield c


# Pacific time both ways


def test_pacific_timestamps_become_utc_with_daylight_saving() -> None:
    summer = parse_pacific("2015-06-29T08:46:27.0000000")
    winter = parse_pacific("2015-12-29T08:46:27.1234567")
    assert summer == datetime(2015, 6, 29, 15, 46, 27, tzinfo=UTC)
    assert winter == datetime(2015, 12, 29, 16, 46, 27, 123456, tzinfo=UTC)
    assert format_pacific(datetime(2015, 6, 29, 15, 46, 27, tzinfo=UTC)) == "2015-06-29 08:46:27"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        format_pacific(datetime(2026, 1, 1, 12, 0))


# Happy paths


def test_stores_include_the_manual_store(client: ShipStationClient) -> None:
    stores = client.list_stores()
    assert any(store.is_manual for store in stores)
    assert all(store.store_id > 0 for store in stores)


def test_create_order_round_trips_fields_and_dates(client: ShipStationClient) -> None:
    number = unique("SO")
    created = client.create_order(make_order(number))
    assert created.order_id > 0
    assert created.order_key == f"northwind:{number}"
    assert created.order_date == datetime(2026, 7, 1, 18, 30, tzinfo=UTC)
    assert created.create_date is not None and created.create_date.tzinfo is not None
    fetched = client.get_order(created.order_id)
    assert fetched.order_number == number
    assert fetched.items[0].sku == "AC-1001"
    assert fetched.items[0].quantity == 2
    assert fetched.items[0].unit_price == Decimal("19.99")
    assert fetched.custom_field1 == "ERP-SO-1"
    assert fetched.ship_to.postal_code == "LS1 4AP"


def test_create_order_with_the_same_key_updates_instead_of_duplicating(
    client: ShipStationClient,
) -> None:
    number = unique("SO")
    first = client.create_order(make_order(number, quantity=1))
    second = client.create_order(make_order(number, quantity=5))
    assert second.order_id == first.order_id
    assert client.get_order(first.order_id).items[0].quantity == 5


def test_create_orders_chunks_by_100_and_reports_each_order(client: ShipStationClient) -> None:
    prefix = unique("BULK")
    orders = [make_order(f"{prefix}-{n:03d}") for n in range(205)]
    orders[150] = dataclasses.replace(orders[150], order_status="no_such_status")
    results = client.create_orders(orders)
    assert len(results) == 205
    assert [r.order_key for r in results] == [o.order_key for o in orders]
    failed = [r for r in results if not r.success]
    assert len(failed) == 1 and failed[0].order_key == orders[150].order_key
    assert "orderStatus" in (failed[0].error_message or "")
    assert failed[0].order_id is None


def test_list_orders_pages_through_every_page(sandbox) -> None:
    prefix = unique("PAGE")
    with make_client(sandbox, page_size=7) as small_pages:
        small_pages.create_orders([make_order(f"{prefix}-{n:02d}") for n in range(23)])
        listed = list(small_pages.list_orders(order_number=prefix))
    assert len(listed) == 23
    assert len({o.order_id for o in listed}) == 23


def test_shipments_with_items_and_ship_notify_resource(
    sandbox, client: ShipStationClient, webhook_receiver
) -> None:
    target_url, received = webhook_receiver
    hook_id = client.subscribe_webhook(target_url, "SHIP_NOTIFY", friendly_name="test ship")
    try:
        order = client.create_order(make_order(unique("SHIP")))
        sandbox.control("shipstation", "ship", order=order.order_key, account="acme")
        shipments = list(client.list_shipments(order_id=order.order_id))
        assert len(shipments) == 1
        shipment = shipments[0]
        assert shipment.tracking_number
        assert shipment.items is not None and shipment.items[0].sku == "AC-1001"
        assert isinstance(shipment.ship_date, date)

        payload = wait_for(received, 1)[0]["body"]
        assert payload["resource_type"] == "SHIP_NOTIFY"
        from_hook = list(client.fetch_resource_shipments(payload["resource_url"]))
        assert [s.shipment_id for s in from_hook] == [shipment.shipment_id]
        assert from_hook[0].items is not None
    finally:
        client.unsubscribe_webhook(hook_id)


def test_mark_as_shipped_shows_under_fulfillments(client: ShipStationClient) -> None:
    order = client.create_order(make_order(unique("FUL")))
    client.mark_as_shipped(
        order.order_id, "usps", ship_date=date(2026, 7, 2), tracking_number="9400TEST"
    )
    fulfillments = list(client.list_fulfillments(order_id=order.order_id))
    assert [f.tracking_number for f in fulfillments] == ["9400TEST"]
    assert list(client.list_shipments(order_id=order.order_id)) == []


def test_webhook_subscribe_list_unsubscribe(client: ShipStationClient) -> None:
    hook_id = client.subscribe_webhook("https://hub.example/hooks/ss/abc", "ORDER_NOTIFY")
    assert hook_id in {w.webhook_id for w in client.list_webhooks()}
    hook = next(w for w in client.list_webhooks() if w.webhook_id == hook_id)
    assert hook.event == "ORDER_NOTIFY"
    client.unsubscribe_webhook(hook_id)
    assert hook_id not in {w.webhook_id for w in client.list_webhooks()}


def test_resource_url_on_another_host_is_refused_before_any_call(sandbox) -> None:
    with make_client(sandbox) as c:
        calls_before = sandbox.status()["shipstation"]["calls"]
        with pytest.raises(PermanentError):
            list(c.fetch_resource_orders("https://evil.example/orders?importBatch=1"))
        assert sandbox.status()["shipstation"]["calls"] == calls_before


def test_production_resource_urls_may_use_numbered_shards() -> None:
    production = ShipStationClient("key", "secret")
    url, params = production._resource(
        "https://ssapi11.shipstation.com/shipments?storeID=1&includeShipmentItems=False"
    )
    assert url == "https://ssapi.shipstation.com/shipments"
    assert params["storeID"] == "1"
    with pytest.raises(PermanentError):
        production._resource("https://ssapi.shipstation.com.evil.example/shipments")


# Error shapes


def test_wrong_credentials_raise_authentication_error(sandbox) -> None:
    wrong = ShipStationClient("nope", "wrong", base_url=sandbox.api_url("shipstation"))
    with wrong, pytest.raises(AuthenticationError) as caught:
        wrong.list_stores()
    assert caught.value.status == 401


def test_plan_without_api_access_is_permanent(sandbox, client: ShipStationClient) -> None:
    sandbox.control("shipstation", "set-api-access", account="acme", enabled=False)
    try:
        with pytest.raises(AuthenticationError) as caught:
            client.list_stores()
        assert caught.value.status == 403
    finally:
        sandbox.control("shipstation", "set-api-access", account="acme", enabled=True)


def test_invalid_order_raises_validation_error_with_model_state_hint(
    client: ShipStationClient,
) -> None:
    bad = dataclasses.replace(make_order(unique("BAD")), order_status="lost")
    with pytest.raises(ValidationError) as caught:
        client.create_order(bad)
    assert caught.value.status == 400
    assert "orderStatus" in caught.value.hint


def test_unknown_order_raises_not_found(client: ShipStationClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_order(999_999_999)


def test_server_errors_are_retryable(sandbox, client: ShipStationClient) -> None:
    sandbox.control("shipstation", "faults", fail_next=1)
    with pytest.raises(RetryableError) as caught:
        client.list_stores()
    assert caught.value.status == 503
    assert client.list_stores()


def test_timeouts_are_retryable(sandbox) -> None:
    sandbox.control("shipstation", "faults", timeout_rate=1, timeout_seconds=2)
    with make_client(sandbox, timeout=(2.0, 0.5)) as c, pytest.raises(RetryableError):
        c.list_stores()


def test_429_then_success_when_the_caller_retries_after_retry_after(
    sandbox, client: ShipStationClient
) -> None:
    sandbox.control("shipstation", "faults", rate_429=1)
    with pytest.raises(RateLimitedError) as caught:
        client.list_stores()
    assert caught.value.retry_after == 1
    sandbox.control("shipstation", "faults", clear=True)
    time.sleep(caught.value.retry_after)
    assert client.list_stores()


def test_real_429_carries_the_window_reset_as_retry_after(sandbox) -> None:
    sandbox.control("shipstation", "set-rate-limit", limit=2)
    with make_client(sandbox) as a, make_client(sandbox) as b:
        a.list_stores()
        a.list_stores()
        rate_limited_before = sandbox.status()["shipstation"]["rate_limited"]
        with pytest.raises(RateLimitedError) as caught:
            b.list_stores()
    assert caught.value.status == 429
    assert 0 < caught.value.retry_after <= 60
    assert sandbox.status()["shipstation"]["rate_limited"] == rate_limited_before + 1


def test_remaining_zero_pauses_before_the_next_call_instead_of_a_429(sandbox) -> None:
    sandbox.control("shipstation", "set-rate-limit", limit=2)
    with make_client(sandbox, max_wait=1.0) as c:
        c.list_stores()
        c.list_stores()
        rate_limited_before = sandbox.status()["shipstation"]["rate_limited"]
        with pytest.raises(RateLimitedError) as caught:
            c.list_stores()
    assert caught.value.status is None, "raised by the client, not by a 429"
    assert caught.value.retry_after > 1.0
    assert sandbox.status()["shipstation"]["rate_limited"] == rate_limited_before
