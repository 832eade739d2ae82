"""The API2Cart fake's platform profiles, over raw HTTP (no hub code involved)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox import demo_data
from sandbox.core import ControlError
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox

STORE = demo_data.store("acme-outlet")
PLAIN_SKU = next(p for p in demo_data.products("acme") if not p.variants).sku
VARIANT_SKU = next(p for p in demo_data.products("acme") if p.variants).variants[0].sku


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("profiles"))
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def clean_again(sandbox) -> Iterator[None]:
    yield
    sandbox.control("api2cart", "store-settings", store=STORE.name, profile="clean")


def call(sandbox, method: str, http: str = "GET", **params) -> dict:
    response = requests.request(
        http,
        f"{sandbox.api_url('api2cart')}/{method}.json",
        headers={"x-api-key": demo_data.API2CART_API_KEY, "x-store-key": STORE.store_key},
        **({"json": params} if http == "POST" else {"params": params}),
        timeout=30,
    )
    assert response.status_code == 200
    return response.json()


def placed_order(sandbox, profile: str) -> dict:
    sandbox.control("api2cart", "store-settings", store=STORE.name, profile=profile)
    items = [{"sku": VARIANT_SKU, "quantity": 1}, {"sku": PLAIN_SKU, "quantity": 2}]
    placed = sandbox.control("api2cart", "place-orders", store=STORE.name, items=items)
    order_id = placed["orders"][0]["order_id"]
    return call(sandbox, "order.info", order_id=order_id, params="force_all")["result"]


def test_the_profile_is_chosen_per_store_and_defaults_to_clean(sandbox):
    answer = sandbox.control("api2cart", "store-settings", store=STORE.name)
    assert answer["profile"] == "clean"
    assert {s.profile for s in demo_data.STORES} == {"clean"}
    with pytest.raises((ControlError, SandboxError)):
        sandbox.control("api2cart", "store-settings", store=STORE.name, profile="etsy-ish")


def test_clean_orders_keep_their_shape(sandbox):
    order = placed_order(sandbox, "clean")
    assert order["id"] and isinstance(order["customer"], dict)
    assert order["create_at"]["format"] == "Y-m-d\\TH:i:sO"
    assert order["totals"]["tax"] == round(
        sum(line["tax_value_after_discount"] for line in order["order_products"]), 2
    )
    assert order["order_products"][0]["model"] == VARIANT_SKU


def test_ebay_shapes(sandbox):
    order = placed_order(sandbox, "ebay")
    assert order["id"] == "" and order["order_id"] and order["store_id"] == 1
    assert isinstance(order["customer"], list) and len(order["customer"]) == 1
    assert isinstance(order["totals"], list) and isinstance(order["shipping_address"], list)
    assert isinstance(order["create_at"], str) and "T" not in order["create_at"]
    assert order["shipping_address"][0]["default"] == "True"
    lines = [entry["product"][0] for entry in order["order_products"]]  # eBay's line wrapper
    assert lines[0]["model"] == ""
    assert lines[1]["model"] == PLAIN_SKU
    cart = call(sandbox, "cart.info", params="force_all")["result"]
    assert "store_info" in cart["stores_info"][0]


def test_amazon_shapes(sandbox):
    order = placed_order(sandbox, "amazon")
    assert order["totals"] is None and order["total"]["total"] > 0
    assert order["billing_address"] is None and order["payment_method"] is None
    assert order["shipping_method"] is None and order["shipping_address"]["state"] is None
    assert order["modified_at"] is None and order["create_at"]["value"].endswith("+0200")
    assert order["order_products"][0]["model"] is None


def test_platform_rules(sandbox):
    sandbox.control("api2cart", "store-settings", store=STORE.name, profile="walmart")
    refused = call(sandbox, "order.list", modified_from="2026-01-01T00:00:00+0000")
    assert refused["return_code"] == 109 and refused["result"] == []
    order = placed_order(sandbox, "walmart")
    shipment = call(
        sandbox,
        "order.shipment.add",
        "POST",
        order_id=order["order_id"],
        tracking_numbers=[{"carrier_id": "owl", "tracking_number": "X"}],
    )
    assert shipment["return_code"] == 109 and "ups, usps, fedex, dhl" in shipment["return_message"]

    sandbox.control("api2cart", "store-settings", store=STORE.name, profile="ebay")
    wide = call(
        sandbox,
        "order.list",
        modified_from="2026-01-01T00:00:00+0000",
        modified_to="2026-03-01T00:00:00+0000",
    )
    assert wide["return_code"] == 109 and wide["result"] == []


def test_pending_jobs_answer_code_12(sandbox):
    sandbox.control("api2cart", "configure", batch_delay_ms=60_000)
    try:
        sandbox.control("api2cart", "store-settings", store=STORE.name, profile="amazon")
        product = call(sandbox, "product.find", find_value=PLAIN_SKU, find_where="model")
        product_id = product["result"]["product"][0]["id"]
        job = call(
            sandbox, "product.update.batch", "POST", payload=[{"id": product_id, "price": 5}]
        )["result"]["job_id"]
        jobs = call(sandbox, "batch.job.list", ids=job)["result"]["jobs"]
        assert jobs[0]["status"] == "pending"
        assert call(sandbox, "batch.job.result", id=job)["return_code"] == 12
    finally:
        sandbox.control("api2cart", "configure", batch_delay_ms=500)
