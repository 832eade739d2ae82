"""Api2CartClient reading what real platforms pass through API2Cart (contract §7.13, §7.15-18).

Each test switches one sandbox store to a platform profile (`sandbox/api2cart/profiles.py`) and
reads it through the client over HTTP; the store is clean again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.api2cart import (
    Api2CartClient,
    NewShipment,
    Order,
    ProductUpdate,
    TrackingNumber,
    UnreadableOrder,
    Webhook,
)
from connectors.api2cart.values import flag
from connectors.errors import RetryableError, ValidationError
from sandbox import demo_data

OUTLET = demo_data.store("acme-outlet")
VARIANT_PRODUCT = next(p for p in demo_data.products("acme") if p.variants)
PLAIN_PRODUCT = next(p for p in demo_data.products("acme") if not p.variants)
CENT = Decimal("0.01")


@pytest.fixture
def client(sandbox) -> Iterator[Api2CartClient]:
    with Api2CartClient(
        demo_data.API2CART_API_KEY, OUTLET.store_key, base_url=sandbox.api_url("api2cart")
    ) as c:
        yield c


@pytest.fixture
def platform(sandbox) -> Iterator:
    def switch(name: str) -> None:
        sandbox.control("api2cart", "store-settings", store=OUTLET.name, profile=name)

    yield switch
    switch("clean")


def place(sandbox, *items: tuple[str, int]) -> dict:
    lines = [{"sku": sku, "quantity": quantity} for sku, quantity in items]
    return sandbox.control("api2cart", "place-orders", store=OUTLET.name, items=lines)["orders"][0]


def two_line_order(sandbox) -> dict:
    return place(sandbox, (VARIANT_PRODUCT.variants[0].sku, 2), (PLAIN_PRODUCT.sku, 1))


def clean_view(client: Api2CartClient, platform, order_id: str, profile: str) -> Order:
    """The order as a clean store answers it, then the profile back on."""
    platform("clean")
    order = client.order_info(order_id)
    platform(profile)
    return order


def test_ebay_arrays_plain_dates_empty_id_and_variant_skus(sandbox, client, platform):
    platform("ebay")
    placed = two_line_order(sandbox)
    clean = clean_view(client, platform, placed["order_id"], "ebay")

    order = client.order_info(placed["order_id"])
    assert order.id == "" and order.order_id == placed["order_id"]
    assert order.reference == placed["order_id"]
    assert isinstance(order.raw["customer"], list) and isinstance(order.raw["create_at"], str)
    assert order.customer == clean.customer
    assert order.shipping_address == clean.shipping_address
    assert order.created_at == clean.created_at.replace(microsecond=0)
    assert order.store_id == "1" and order.raw["store_id"] == 1
    assert order.totals == clean.totals
    assert order.totals.tax == (clean.totals.subtotal * Decimal("0.08")).quantize(CENT)

    assert [line.sku for line in order.products] == ["", PLAIN_PRODUCT.sku]
    resolved = client.with_variant_skus(order)
    assert [line.sku for line in resolved.products] == [
        VARIANT_PRODUCT.variants[0].sku,
        PLAIN_PRODUCT.sku,
    ]

    listed = list(
        client.orders(
            order_ids=[placed["order_id"]],
            modified_from=datetime.now(UTC) - timedelta(days=1),
            modified_to=datetime.now(UTC) + timedelta(minutes=1),
        )
    )
    assert [o.reference for o in listed] == [placed["order_id"]]


def test_amazon_null_totals_null_fields_offset_dates_and_null_modified(sandbox, client, platform):
    platform("amazon")
    placed = two_line_order(sandbox)
    clean = clean_view(client, platform, placed["order_id"], "amazon")

    order = client.order_info(placed["order_id"])
    assert order.raw["totals"] is None and order.raw["total"]["total"] == float(clean.totals.total)
    assert order.totals == clean.totals, "read from total.* when totals is null"
    assert order.totals.discount == Decimal("2.00") and order.totals.shipping == Decimal("7.50")
    assert order.raw["billing_address"] is None and order.raw["payment_method"] is None
    assert order.billing_address.address1 == "" and order.payment_method == ""
    assert order.shipping_method == "" and order.shipping_address.state == ""
    assert order.shipping_address.city == clean.shipping_address.city
    assert order.raw["create_at"]["value"].endswith("+0200")
    assert order.created_at == clean.created_at
    assert order.modified_at is None and order.changed_at == order.created_at
    assert order.raw["order_products"][0]["model"] is None
    assert client.with_variant_skus(order).products[0].sku == VARIANT_PRODUCT.variants[0].sku


def test_walmart_wants_both_date_bounds_and_known_carriers(sandbox, client, platform):
    placed = place(sandbox, (PLAIN_PRODUCT.sku, 1))
    platform("walmart")
    since = datetime.now(UTC) - timedelta(hours=1)

    with pytest.raises(ValidationError) as refused:
        list(client.orders(modified_from=since))
    assert refused.value.code == "109" and "modified_to" in str(refused.value)
    found = list(client.orders(modified_from=since, modified_to=datetime.now(UTC)))
    assert placed["order_id"] in {o.order_id for o in found}
    assert all(o.store_id == "1" and o.modified_at is None for o in found)

    shipment = NewShipment(
        order_id=placed["order_id"],
        tracking_numbers=[TrackingNumber("pigeon-post", "TRK1")],
    )
    with pytest.raises(ValidationError) as carrier:
        client.add_shipment(shipment)
    assert "Valid carriers: ups, usps, fedex, dhl" in str(carrier.value)

    shipment_id = client.add_shipment(
        NewShipment(order_id=placed["order_id"], tracking_numbers=[TrackingNumber("ups", "1Z")])
    )
    [listed] = list(client.shipments(placed["order_id"]))
    assert listed.id == shipment_id and listed.raw["is_shipped"] == "1" and listed.is_shipped


def test_ebay_window_and_lookback_limits_answer_109_with_an_empty_list(sandbox, client, platform):
    platform("ebay")
    now = datetime.now(UTC)
    with pytest.raises(ValidationError) as too_wide:
        list(client.orders(modified_from=now - timedelta(days=31), modified_to=now))
    assert too_wide.value.code == "109" and "30 days" in str(too_wide.value)
    with pytest.raises(ValidationError) as too_old:
        list(
            client.orders(
                modified_from=now - timedelta(days=120), modified_to=now - timedelta(days=100)
            )
        )
    assert "90 days" in str(too_old.value)
    assert list(client.orders(modified_from=now - timedelta(days=29), modified_to=now)) is not None


def test_ebay_wraps_stores_info_and_writes_booleans_as_text(sandbox, client, platform):
    platform("ebay")
    cart = client.cart_info()
    assert "store_info" in cart.raw["stores_info"][0]
    [store] = cart.stores
    assert store.store_id == "1" and ("ups", "UPS") in store.carriers
    product = client.find_products(PLAIN_PRODUCT.sku)[0]
    info = client.product_info(product.id)
    assert info.raw["inventory"][0]["in_stock"] in ("True", "False")
    assert info.inventory[0].in_stock == (info.raw["inventory"][0]["in_stock"] == "True")


def test_unfinished_batch_job_reads_pending_and_its_result_is_code_12(sandbox, client, platform):
    platform("amazon")
    sandbox.control("api2cart", "configure", batch_delay_ms=60_000)
    try:
        product = client.find_products(PLAIN_PRODUCT.sku)[0]
        [job_id] = client.update_products_batch([ProductUpdate(id=product.id, price=Decimal(9))])
        [job] = [j for j in client.batch_jobs() if j.id == job_id]
        assert job.status == "pending" and not job.is_processed
        with pytest.raises(RetryableError) as not_ready:
            client.batch_job_result(job_id)
        assert not_ready.value.code == "12"
        sandbox.control("api2cart", "process-jobs")
        assert client.batch_job_result(job_id).items_succeed == 1
    finally:
        sandbox.control("api2cart", "configure", batch_delay_ms=500)


def test_strict_text_booleans() -> None:
    assert [flag(v) for v in ("True", "true", "1", 1, True, "yes")] == [True] * 6
    assert [flag(v) for v in ("False", "false", "0", 0, False, "")] == [False] * 6
    assert flag(None, default=True) is True
    assert flag(["False"]) is False
    with pytest.raises(ValueError):
        flag("perhaps")
    assert Webhook.from_api({"id": 3, "active": "False"}).active is False


def test_an_order_that_cannot_be_read_names_itself() -> None:
    with pytest.raises(UnreadableOrder) as bad:
        Order.from_api({"id": "", "order_id": "77", "totals": {"total": "n/a"}})
    assert bad.value.reference == "77" and "n/a" in str(bad.value)
    with pytest.raises(UnreadableOrder):
        Order.from_api({"id": "1", "customer": [{"email": "a"}, {"email": "b"}]})
