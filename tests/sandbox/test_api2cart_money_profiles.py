"""The API2Cart fake's money: orders priced to the cent, and the platform profiles that report
that money the way eBay, Walmart, Etsy and Bol do (contract §3.5, §7.19-22), over raw HTTP.

The stored order stays clean; a profile only reshapes answers, so every test compares what a
platform answers with what the clean store answers for the same order.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from sandbox import demo_data
from sandbox.testing import SandboxHandle, start_sandbox

STORE = demo_data.store("acme-outlet")
PLAIN_SKU = next(p for p in demo_data.products("acme") if not p.variants).sku
VARIANT_SKU = next(p for p in demo_data.products("acme") if p.variants).variants[0].sku
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("money-profiles"))
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def clean_again(sandbox) -> Iterator[None]:
    yield
    use(sandbox, "clean")


def use(sandbox, profile: str) -> None:
    sandbox.control("api2cart", "store-settings", store=STORE.name, profile=profile)


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


def place(sandbox, *items: tuple[str, int]) -> str:
    lines = [{"sku": sku, "quantity": quantity} for sku, quantity in items]
    placed = sandbox.control("api2cart", "place-orders", store=STORE.name, items=lines)
    return placed["orders"][0]["order_id"]


def info(sandbox, order_id: str, params: str = "force_all") -> dict:
    answer = call(sandbox, "order.info", order_id=order_id, params=params)
    assert answer["return_code"] == 0, answer
    return answer["result"]


def d(value) -> Decimal:
    return Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def assert_adds_up(order: dict) -> None:
    """subtotal (net lines) − discount + shipping + tax = total, to the cent, line by line."""
    lines, totals = order["order_products"], order["totals"]
    assert d(totals["subtotal"]) == sum(d(line["total_price"]) for line in lines)
    assert d(totals["discount"]) >= sum(d(line["discount_amount"]) for line in lines)
    assert d(totals["tax"]) == sum(d(line["tax_value_after_discount"]) for line in lines)
    assert d(totals["total"]) == (
        d(totals["subtotal"]) - d(totals["discount"]) + d(totals["shipping"]) + d(totals["tax"])
    )
    long = order["total"]
    assert (d(long["subtotal_ex_tax"]), d(long["total_tax"]), d(long["total"])) == (
        d(totals["subtotal"]),
        d(totals["tax"]),
        d(totals["total"]),
    )


def test_placed_orders_carry_line_tax_and_add_up_to_the_cent(sandbox):
    sandbox.control("api2cart", "place-orders", store=STORE.name, count=25)
    orders = call(sandbox, "order.list", params="force_all", count=25)["result"]["order"]
    assert len(orders) == 25
    for order in orders:
        assert_adds_up(order)
        for line in order["order_products"]:
            net = d(line["price"]) * line["quantity"]
            assert d(line["total_price"]) == net and line["tax_percent"] == 8.25
            assert d(line["tax_value"]) == cents(net * Decimal("0.0825"))
            assert d(line["price_inc_tax"]) == cents(d(line["price"]) * Decimal("1.0825"))
            bulk = cents(net / 10) if line["quantity"] >= 3 else Decimal(0)
            assert d(line["discount_amount"]) == bulk
            taxed = cents((net - bulk) * Decimal("0.0825"))
            assert d(line["tax_value_after_discount"]) == taxed


def test_a_line_of_three_gets_the_bulk_discount_before_tax(sandbox):
    order = info(sandbox, place(sandbox, (VARIANT_SKU, 3), (PLAIN_SKU, 1)))
    bulk, single = order["order_products"]
    assert d(bulk["discount_amount"]) == cents(d(bulk["total_price"]) / 10) > 0
    assert d(bulk["tax_value_after_discount"]) < d(bulk["tax_value"])
    assert single["discount_amount"] == 0 and single["tax_value_after_discount"] > 0
    assert d(order["totals"]["discount"]) == d(bulk["discount_amount"])
    assert order["discounts"] == [{"code": "BULK10", "value": 10.0, "type": "percent"}]
    assert_adds_up(order)


def test_marketplace_orders_share_the_order_tax_among_the_lines(sandbox):
    use(sandbox, "walmart")
    order_id = place(sandbox, (VARIANT_SKU, 2), (PLAIN_SKU, 1), (PLAIN_SKU, 2))
    use(sandbox, "clean")
    order = info(sandbox, order_id)

    subtotal = d(order["totals"]["subtotal"])
    assert d(order["totals"]["tax"]) == cents(subtotal * Decimal("0.08"))
    assert (order["totals"]["shipping"], order["totals"]["discount"]) == (7.5, 2.0)
    assert {line["tax_percent"] for line in order["order_products"]} == {8.0}
    assert order["discounts"] == [{"code": "MULTIBUY", "value": 2.0, "type": "fixed"}]
    assert_adds_up(order)


def test_ebay_wraps_each_line_when_asked_for_star(sandbox):
    order_id = place(sandbox, (VARIANT_SKU, 1), (PLAIN_SKU, 2))
    clean = info(sandbox, order_id)
    use(sandbox, "ebay")

    for params in ("*", "{*}", "force_all"):
        starred = info(sandbox, order_id, params)
        assert [set(entry) for entry in starred["order_products"]] == [{"product"}] * 2
        first, second = (entry["product"][0] for entry in starred["order_products"])
        assert first["order_product_id"] == clean["order_products"][0]["order_product_id"]
        assert first["model"] == "" and second["model"] == PLAIN_SKU
        assert second["tax_value"] == clean["order_products"][1]["tax_value"]
    listed = call(sandbox, "order.list", params="*", order_ids=order_id, count=5)
    assert set(listed["result"]["order"][0]["order_products"][0]) == {"product"}
    full = info(sandbox, order_id)  # the hub asks with force_all: wrapped as well
    assert set(full["order_products"][0]) == {"product"}

    use(sandbox, "clean")
    assert info(sandbox, order_id) == clean, "the stored order stays clean"


def test_walmart_line_totals_include_the_line_tax(sandbox):
    order_id = place(sandbox, (VARIANT_SKU, 3), (PLAIN_SKU, 1))
    clean = info(sandbox, order_id)
    use(sandbox, "walmart")

    order = info(sandbox, order_id)
    for line, net in zip(order["order_products"], clean["order_products"], strict=True):
        assert line["price"] == net["price"], "the unit price stays net"
        assert d(line["total_price"]) == d(net["total_price"]) + d(net["tax_value_after_discount"])
    totals = order["totals"]
    assert totals == clean["totals"]
    lines = sum(d(line["total_price"]) for line in order["order_products"])
    assert lines == d(totals["subtotal"]) + d(totals["tax"])


def test_etsy_reports_the_subtotal_after_the_discount(sandbox):
    use(sandbox, "etsy")
    order_id = place(sandbox, (VARIANT_SKU, 1), (PLAIN_SKU, 1))
    use(sandbox, "clean")
    clean = info(sandbox, order_id)
    use(sandbox, "etsy")

    order = info(sandbox, order_id)
    totals, net = order["totals"], clean["totals"]
    assert d(totals["discount"]) == d(net["discount"]) == Decimal("2.00")
    assert d(totals["subtotal"]) == d(net["subtotal"]) - Decimal("2.00")
    assert d(order["total"]["subtotal_ex_tax"]) == d(totals["subtotal"])
    assert d(totals["subtotal"]) + d(totals["shipping"]) + d(totals["tax"]) == d(totals["total"])
    assert order["order_products"] == clean["order_products"]


def test_bol_answers_a_sentence_for_the_shipment_id_and_lists_the_shipment(sandbox):
    use(sandbox, "bol")
    order_id = place(sandbox, (PLAIN_SKU, 2))
    line = info(sandbox, order_id)["order_products"][0]
    request = {
        "order_id": order_id,
        "items": [{"order_product_id": line["order_product_id"], "quantity": 2}],
        "tracking_numbers": [{"carrier_id": "dhl", "tracking_number": "3SBOL000001"}],
    }

    added = call(sandbox, "order.shipment.add", "POST", **request)
    assert (added["return_code"], added["result"]) == (0, {"shipment_id": "shipment created"})
    listed = call(sandbox, "order.shipment.list", order_id=order_id)["result"]["shipment"]
    [shipment] = listed
    assert shipment["id"].isdigit()
    assert shipment["tracking_numbers"] == request["tracking_numbers"]
    refused = call(sandbox, "order.list", modified_from="2026-01-01T00:00:00+0000")
    assert refused["return_code"] == 109, "Bol wants both date bounds (§7.16)"
