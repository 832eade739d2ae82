"""Api2CartClient against the sandbox's API2Cart fake, over real HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.api2cart import (
    Api2CartClient,
    NewShipment,
    ProductUpdate,
    ShipmentLine,
    TrackingNumber,
    VariantUpdate,
    format_a2c_datetime,
    parse_a2c_datetime,
    return_code_error,
)
from connectors.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    ValidationError,
)
from connectors.ratelimit import api2cart_limiter
from sandbox import demo_data

from .conftest import wait_for

NORTHWIND = demo_data.store("northwind")
OUTLET = demo_data.store("acme-outlet")


def make_client(sandbox, store=NORTHWIND, **kwargs) -> Api2CartClient:
    return Api2CartClient(
        demo_data.API2CART_API_KEY,
        store.store_key if store else None,
        base_url=sandbox.api_url("api2cart"),
        **kwargs,
    )


@pytest.fixture
def client(sandbox) -> Iterator[Api2CartClient]:
    with make_client(sandbox) as c:
        yield c


def place_orders(sandbox, count: int = 1, store=NORTHWIND, **extra) -> list[dict]:
    return sandbox.control("api2cart", "place-orders", store=store.name, count=count, **extra)[
        "orders"
    ]


# Dates


def test_a2c_date_objects_become_aware_utc() -> None:
    value = {"value": "2026-08-06T12:13:35+0200", "format": "Y-m-d\\TH:i:sO"}
    assert parse_a2c_datetime(value) == datetime(2026, 8, 6, 10, 13, 35, tzinfo=UTC)
    assert parse_a2c_datetime({"value": None, "format": "Y-m-d\\TH:i:sO"}) is None
    assert parse_a2c_datetime(None) is None
    assert parse_a2c_datetime("2026-01-08 17:41:22") == datetime(2026, 1, 8, 17, 41, 22, tzinfo=UTC)


def test_dates_are_sent_as_iso_with_offset() -> None:
    moment = datetime(2026, 6, 15, 2, 0, tzinfo=UTC) + timedelta(hours=0)
    assert format_a2c_datetime(moment) == "2026-06-15T02:00:00+0000"
    with pytest.raises(ValueError):
        format_a2c_datetime(datetime(2026, 6, 15))


# Return codes map onto the taxonomy (contract §1.4)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (7, RateLimitedError),
        (10, RateLimitedError),
        (110, RateLimitedError),
        (1, RetryableError),
        (9, RetryableError),
        (106, RetryableError),
        (2, AuthenticationError),
        (4, AuthenticationError),
        (6, AuthenticationError),
        (109, ValidationError),
        (114, ValidationError),
        (112, NotFoundError),
        (113, PermanentError),
        (101, PermanentError),
    ],
)
def test_return_codes_are_classified(code: int, expected: type) -> None:
    error = return_code_error("order.list", code, "message")
    assert type(error) is expected
    assert error.code == str(code)
    if isinstance(error, PermanentError):
        assert error.hint


# Happy paths


def test_cart_info_validate_and_supported_platforms(sandbox, client: Api2CartClient) -> None:
    info = client.cart_info()
    assert info.name == NORTHWIND.display_name
    assert info.stores and info.stores[0].carriers
    assert client.validate()
    with make_client(sandbox, store=None) as account:
        platforms = account.supported_platforms()
    shopify = next(p for p in platforms if p.cart_id == "Shopify")
    assert shopify.required and all(shopify.required)


def test_orders_list_with_force_all_and_cursor_paging(sandbox) -> None:
    started = datetime.now(UTC) - timedelta(seconds=2)
    placed = place_orders(sandbox, 12)
    with make_client(sandbox, page_size=5) as c:
        listed = list(c.orders(created_from=started, sort_by="id"))
        count = c.order_count(created_from=started)
    assert {o.id for o in listed} >= {p["id"] for p in placed}
    assert count == len(listed)
    order = next(o for o in listed if o.id == placed[0]["id"])
    assert order.created_at is not None and order.created_at.tzinfo is not None
    assert order.currency and order.customer.email and order.products
    assert all(p.sku and p.order_product_id for p in order.products)


def test_order_info_and_update_status(client: Api2CartClient, sandbox) -> None:
    placed = place_orders(sandbox)[0]
    order = client.order_info(placed["order_id"])
    assert order.id == placed["id"]
    assert client.order_info(id=placed["id"]).order_id == placed["order_id"]
    statuses = {s.id for s in client.order_statuses()}
    assert "Processing" in statuses
    assert client.update_order(placed["order_id"], order_status="Processing") == 1
    assert client.order_info(placed["order_id"]).status_id == "Processing"


def test_shipment_add_is_idempotent_and_listed(client: Api2CartClient, sandbox) -> None:
    order = client.order_info(place_orders(sandbox)[0]["order_id"])
    line = order.products[0]
    shipment = NewShipment(
        order_id=order.order_id,
        items=[ShipmentLine(line.order_product_id, line.quantity)],
        tracking_numbers=[TrackingNumber("ups", "1Z999")],
        idempotency_key=f"ship-{uuid.uuid4().hex}",
    )
    first = client.add_shipment(shipment)
    again = client.add_shipment(shipment)
    assert first and again == first
    shipments = list(client.shipments(order.order_id))
    assert [s.id for s in shipments] == [first]
    assert shipments[0].tracking_numbers == (TrackingNumber("ups", "1Z999"),)
    assert shipments[0].items == ((line.order_product_id, line.quantity),)


def test_customers_paging_info_and_find(sandbox) -> None:
    with make_client(sandbox, page_size=7) as c:
        customers = list(c.customers())
        assert len(customers) >= 40
        assert len({x.id for x in customers}) == len(customers)
        first = customers[0]
        assert c.customer_info(first.id).email == first.email
        assert [x.id for x in c.find_customers(first.email)] == [first.id]
        assert c.find_customers("nobody@nowhere.example") == []


def test_products_children_and_finds(sandbox) -> None:
    with make_client(sandbox, page_size=50) as c:
        products = list(c.products())
        assert len(products) == len({p.id for p in products}) >= 100
        product = products[0]
        assert product.sku and product.inventory
        assert c.product_info(product.id).name == product.name
        assert [p.id for p in c.find_products(product.sku)] == [product.id]
        assert c.find_products("NO-SUCH-SKU") == []
        children = list(c.child_items())
        assert len(children) > 50
        child = children[0]
        assert [x.id for x in c.find_child_items(child.sku)] == [child.id]
        assert [x.id for x in c.child_items(product_id=child.parent_id)] >= [child.id]


def test_product_and_variant_updates(client: Api2CartClient) -> None:
    product = next(client.products())
    assert client.update_product(ProductUpdate(product.id, price=Decimal("12.34"), quantity=7)) == 1
    updated = client.product_info(product.id)
    assert updated.price == Decimal("12.34") and updated.quantity == 7
    child = next(client.child_items())
    variant = VariantUpdate(child.id, product_id=child.parent_id, increase_quantity=Decimal(3))
    assert client.update_variant(variant) == 1
    with pytest.raises(ValueError):
        ProductUpdate(product.id, quantity=1, increase_quantity=1)


def test_batch_updates_become_jobs_with_per_item_results(sandbox, client: Api2CartClient) -> None:
    products = [p for p, _ in zip(client.products(), range(3), strict=False)]
    updates = [ProductUpdate(p.id, price=Decimal("9.99")) for p in products]
    updates.append(ProductUpdate("999999999", price=Decimal("1")))
    job_ids = client.update_products_batch(updates, idempotency_key=uuid.uuid4().hex)
    assert len(job_ids) == 1
    sandbox.control("api2cart", "process-jobs")
    assert [j.id for j in client.batch_jobs(ids=job_ids)] == job_ids
    result = client.batch_job_result(job_ids[0])
    assert result.items_processed == 4
    assert [i.status for i in result.items[:3]] == ["success"] * 3
    assert result.items[3].status == "failed" and result.items[3].errors


def test_batch_input_is_split_into_jobs_of_250(client: Api2CartClient) -> None:
    children = [c for c, _ in zip(client.child_items(), range(130), strict=False)]
    updates = [VariantUpdate(c.id, product_id=c.parent_id, quantity=5) for c in children * 2]
    assert len(updates) == 260
    assert len(client.update_variants_batch(updates)) == 2


def test_webhooks_create_list_delete_with_offset_paging(sandbox) -> None:
    callback = f"https://hub.example/hooks/a2c/{uuid.uuid4().hex}"
    with make_client(sandbox, store=OUTLET, page_size=2) as c:
        assert any(e.entity == "order" and e.action == "add" for e in c.webhook_events())
        created = [c.create_webhook("order", action, callback) for action in ("add", "update")]
        created.append(c.create_webhook("product", "update", callback, label="stock"))
        listed = [w for w in c.webhooks() if w.callback == callback]
        assert sorted(w.id for w in listed) == sorted(created)
        for hook_id in created:
            c.delete_webhook(hook_id)
        assert not [w for w in c.webhooks() if w.callback == callback]


def test_failed_webhook_deliveries_are_listed(sandbox, webhook_receiver) -> None:
    url, received = webhook_receiver
    with make_client(sandbox, store=OUTLET) as c, make_client(sandbox, store=None) as account:
        good = c.create_webhook("order", "add", url)
        bad = c.create_webhook("order", "add", "http://127.0.0.1:9/unreachable")
        try:
            placed = place_orders(sandbox, store=OUTLET)[0]
            assert wait_for(received, 1)[0]["headers"]["X-Webhook-Entity"] == "order"
            deadline = time.monotonic() + 10
            failed = []
            while not failed and time.monotonic() < deadline:
                failed = [f for f in account.failed_webhooks([bad]) if f.webhook_id == bad]
                time.sleep(0.1)
            assert [f.entity_id for f in failed] == [placed["id"]]
            assert failed[0].time is not None
        finally:
            c.delete_webhook(good)
            c.delete_webhook(bad)


def test_add_store_returns_a_store_key(sandbox) -> None:
    with make_client(sandbox, store=None) as account:
        key = account.add_store(
            "Shopify",
            f"https://{uuid.uuid4().hex[:8]}.myshopify.com",
            {"shopify_access_token": "shpat_test"},
        )
    assert key
    with Api2CartClient(
        demo_data.API2CART_API_KEY, key, base_url=sandbox.api_url("api2cart")
    ) as new_store:
        assert new_store.cart_info().url.endswith(".myshopify.com")


# Error shapes


def test_wrong_api_key_is_an_authentication_error(sandbox) -> None:
    wrong = Api2CartClient("wrong", NORTHWIND.store_key, base_url=sandbox.api_url("api2cart"))
    with wrong, pytest.raises(AuthenticationError) as caught:
        wrong.cart_info()
    assert caught.value.code == "2"
    assert "API key" in caught.value.hint


def test_unknown_store_key_is_permanent(sandbox) -> None:
    with (
        Api2CartClient(
            demo_data.API2CART_API_KEY, "no-such-store", base_url=sandbox.api_url("api2cart")
        ) as c,
        pytest.raises(PermanentError) as caught,
    ):
        c.cart_info()
    assert caught.value.code in ("101", "4")


def test_unknown_order_is_not_found(client: Api2CartClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.order_info("no-such-order")
    assert caught.value.code == "112"


def test_bad_parameter_is_a_validation_error(client: Api2CartClient) -> None:
    with pytest.raises(ValidationError) as caught:
        list(client.orders(sort_by="colour"))
    assert caught.value.code == "109"


def test_missing_required_parameter_is_a_validation_error(client: Api2CartClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.call("customer.find")
    assert caught.value.code == "114"


def test_disconnected_store_is_retryable_until_reconnected(sandbox, client) -> None:
    sandbox.control("api2cart", "disconnect-store", store=NORTHWIND.name)
    try:
        with pytest.raises(RetryableError) as caught:
            client.cart_info()
        assert caught.value.code == "100"
    finally:
        sandbox.control("api2cart", "reconnect-store", store=NORTHWIND.name)
    assert client.cart_info()


def test_http_5xx_and_timeouts_are_retryable(sandbox, client: Api2CartClient) -> None:
    sandbox.control("api2cart", "faults", fail_next=1)
    with pytest.raises(RetryableError) as caught:
        client.cart_info()
    assert caught.value.status == 503
    sandbox.control("api2cart", "faults", timeout_rate=1, timeout_seconds=2)
    with make_client(sandbox, timeout=(2.0, 0.5)) as impatient, pytest.raises(RetryableError):
        impatient.cart_info()


def test_429_then_success_after_retry_after(sandbox, client: Api2CartClient) -> None:
    sandbox.control("api2cart", "faults", rate_429=1)
    with pytest.raises(RateLimitedError) as caught:
        client.cart_info()
    assert caught.value.retry_after == 1
    sandbox.control("api2cart", "faults", clear=True)
    time.sleep(caught.value.retry_after)
    assert client.cart_info().name


@pytest.fixture
def one_call_per_store(sandbox) -> Iterator[None]:
    """The fake accepts one call in flight per store, each taking 300 ms."""
    sandbox.control("api2cart", "configure", store_concurrency=1)
    sandbox.control("api2cart", "store-settings", store=OUTLET.name, latency_ms=300)
    yield
    sandbox.control("api2cart", "configure", store_concurrency=5)
    sandbox.control("api2cart", "store-settings", store=OUTLET.name, latency_ms=0)


def _parallel_cart_info(sandbox, limiter) -> list[Exception | None]:
    def one(_: int) -> Exception | None:
        with make_client(sandbox, store=OUTLET, limiter=limiter) as c:
            try:
                c.cart_info()
            except RetryableError as exc:
                return exc
        return None

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(4)))


def test_store_concurrency_limit_surfaces_as_code_7(sandbox, one_call_per_store) -> None:
    errors = [e for e in _parallel_cart_info(sandbox, None) if e]
    assert errors and all(isinstance(e, RateLimitedError) and e.code == "7" for e in errors)


def test_shared_limiter_keeps_calls_within_the_store_limit(
    sandbox, one_call_per_store, redis_client, redis_prefix
) -> None:
    limiter = api2cart_limiter(
        redis_client,
        demo_data.API2CART_API_KEY,
        OUTLET.store_key,
        per_store=1,
        max_wait=10,
        prefix=redis_prefix,
    )
    assert _parallel_cart_info(sandbox, limiter) == [None] * 4
    assert limiter.in_flight() == [0, 0]
