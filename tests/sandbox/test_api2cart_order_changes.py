"""Orders a store changes after they were placed: cancel, refund, re-address, line edits.

Each change goes through the fake's order.update path, so it moves `modified_at` and fires
`order.update` webhooks (contract §6.2, §7.23-24); the refusals are control errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest

from sandbox import demo_data
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox
from tests.sandbox.test_api2cart_fake import Client, Receiver, subscribe

OLD_MODIFIED = {"value": "2020-01-01T00:00:00+0000", "format": "Y-m-d\\TH:i:sO"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("order-changes-sandbox"))
    yield handle
    handle.stop()


@pytest.fixture
def fresh(sandbox: SandboxHandle) -> SandboxHandle:
    sandbox.reset()
    return sandbox


@pytest.fixture
def a2c(fresh: SandboxHandle) -> Client:
    return Client(fresh)


@pytest.fixture
def receiver(a2c: Client) -> Iterator[Receiver]:
    """Hears northwind's order.update webhooks."""
    hook = Receiver()
    subscribe(a2c, hook.url, action="update")
    yield hook
    hook.close()


def catalogue_skus(store: str = "northwind") -> list[str]:
    """SKUs a store sells: each product's, or its variants' when it has some."""
    skus = []
    for product in demo_data.store_products(store):
        skus += [variant.sku for variant in product.variants] or [product.sku]
    return skus


def place(sandbox: SandboxHandle, lines: dict[str, int], store: str = "northwind") -> dict:
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()]
    return sandbox.control("api2cart", "place-orders", store=store, items=items)["orders"][0]


def info(a2c: Client, order_id: str) -> dict:
    return a2c.ok("order.info", order_id=order_id, params="force_all")


def age(sandbox: SandboxHandle, order_id: str) -> None:
    """Date the order's last change back, so a new change visibly moves `modified_at`."""
    fields = {"modified_at": OLD_MODIFIED}
    sandbox.control(
        "api2cart", "set-order-fields", store="northwind", order_id=order_id, fields=fields
    )


def hook_body(receiver: Receiver) -> dict:
    headers, body = receiver.next()
    assert (headers["X-Webhook-Entity"], headers["X-Webhook-Action"]) == ("order", "update")
    return json.loads(body)


def cli(sandbox: SandboxHandle, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "--url", sandbox.url, *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


# -- cancel ---------------------------------------------------------------------------


def test_cancel_sets_the_status_moves_modified_at_and_fires_order_update(
    fresh: SandboxHandle, a2c: Client, receiver: Receiver
) -> None:
    order_id = place(fresh, {catalogue_skus()[0]: 1})["order_id"]
    age(fresh, order_id)

    answer = fresh.cancel_store_order(order_id, "northwind", reason="Customer changed mind")

    assert answer["status"] == "Canceled" and answer["webhooks"] == 1
    order = info(a2c, order_id)
    assert order["status"]["id"] == order["status"]["name"] == "Canceled"
    entry = order["status"]["history"][-1]
    assert (entry["id"], entry["comment"]) == ("Canceled", "Customer changed mind")
    assert order["modified_at"]["value"] > OLD_MODIFIED["value"]
    assert order["modified_at"] == entry["modified_time"]
    changed = a2c.ok("order.list", modified_from="2021-01-01 00:00:00", params="force_all")
    assert [o["order_id"] for o in changed["order"]] == [order_id]
    assert hook_body(receiver)["status"]["id"] == "Canceled"


def test_cancel_through_the_cli_takes_the_id_place_orders_printed(
    fresh: SandboxHandle, a2c: Client
) -> None:
    placed = json.loads(cli(fresh, "place-orders", "--store", "northwind").stdout)["orders"][0]

    done = cli(fresh, "cancel", placed["id"])

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["order_id"] == placed["order_id"]
    assert info(a2c, placed["order_id"])["status"]["id"] == "Canceled"
    again = cli(fresh, "cancel", placed["order_id"], "--store", "northwind")
    assert again.returncode == 1 and "already Canceled" in again.stderr


def test_orders_are_found_by_number_across_stores_unless_ambiguous(fresh: SandboxHandle) -> None:
    place(fresh, {catalogue_skus()[0]: 1})
    outlet = place(fresh, {catalogue_skus("acme-outlet")[0]: 1}, store="acme-outlet")

    with pytest.raises(SandboxError, match="2 orders match"):
        fresh.cancel_store_order(outlet["order_id"])
    assert fresh.cancel_store_order(outlet["id"])["store"] == "acme-outlet"
    with pytest.raises(SandboxError, match="No order '999999'"):
        fresh.cancel_store_order("999999")


def test_a_profile_without_modified_at_keeps_it_null(fresh: SandboxHandle, a2c: Client) -> None:
    fresh.control("api2cart", "store-settings", store="northwind", profile="amazon")
    order_id = place(fresh, {catalogue_skus()[0]: 1})["order_id"]

    fresh.cancel_store_order(order_id, "northwind")

    order = info(a2c, order_id)
    assert order["status"]["id"] == "Canceled"
    assert order["modified_at"] is None


# -- refund ---------------------------------------------------------------------------


def test_partial_refund_by_line(fresh: SandboxHandle, a2c: Client, receiver: Receiver) -> None:
    first, second = catalogue_skus()[:2]
    order_id = place(fresh, {first: 2, second: 1})["order_id"]
    line = next(ln for ln in info(a2c, order_id)["order_products"] if ln["model"] == first)

    answer = fresh.refund_store_order(order_id, lines={first: 1}, comment="Damaged")

    assert answer["financial_status"] == "partially_refunded"
    order = info(a2c, order_id)
    assert order["status"]["id"] == "Pending", "a partial refund keeps the status"
    [refund] = order["refunds"]
    tax = (Decimal(str(line["tax_value_after_discount"])) / 2).quantize(Decimal("0.01"))
    assert refund["tax"] == float(tax), "half the line: half its tax"
    assert refund["total"] == float(Decimal(str(line["price"])) + tax)
    assert refund["comment"] == "Damaged"
    assert set(refund) == {
        "id",
        "shipping",
        "fee",
        "tax",
        "total",
        "modified_time",
        "comment",
        "items",
    }
    expected_item = {
        "product_id": line["product_id"],
        "variant_id": line["variant_id"],
        "order_product_id": line["order_product_id"],
        "qty": 1,
        "refund": line["price"],
    }
    assert refund["items"] == [expected_item]
    refund_info = order["status"]["refund_info"]
    assert refund_info["total_refunded"] == refund["total"]
    assert refund_info["refunded_items"] == [expected_item]
    assert {"shipping", "fee", "tax", "time", "comment"} <= set(refund_info)
    assert hook_body(receiver)["financial_status"] == "partially_refunded"


def test_full_refund_takes_what_is_left_and_sets_refunded(
    fresh: SandboxHandle, a2c: Client
) -> None:
    sku = catalogue_skus()[0]
    order_id = place(fresh, {sku: 3})["order_id"]
    total = Decimal(str(info(a2c, order_id)["totals"]["total"]))
    fresh.refund_store_order(order_id, amount="5.00")

    answer = fresh.refund_store_order(order_id)

    assert (answer["status"], answer["financial_status"]) == ("Refunded", "refunded")
    assert Decimal(str(answer["refund"]["total"])) == total - Decimal("5.00")
    assert answer["refund"]["items"][0]["qty"] == 3
    order = info(a2c, order_id)
    assert Decimal(str(order["status"]["refund_info"]["total_refunded"])) == total
    assert order["status"]["history"][-1]["id"] == "Refunded"
    assert len(order["refunds"]) == 2
    with pytest.raises(SandboxError, match="already fully refunded"):
        fresh.refund_store_order(order_id)


def test_refund_through_the_cli(fresh: SandboxHandle, a2c: Client) -> None:
    first, second = catalogue_skus()[:2]
    order_id = place(fresh, {first: 2, second: 2})["order_id"]

    done = cli(fresh, "refund", order_id, "--line", f"{first}=1", "--line", f"{second}=2")

    assert done.returncode == 0, done.stderr
    items = info(a2c, order_id)["refunds"][0]["items"]
    assert [item["qty"] for item in items] == [1, 2]
    bad = cli(fresh, "refund", order_id, "--line", f"{first}")
    assert bad.returncode == 1 and "SKU=QTY" in bad.stderr


@pytest.mark.parametrize(
    ("refund", "message"),
    [
        ({"amount": "100000"}, "left to refund"),
        ({"lines": {"NOT-ON-ORDER": 1}}, "is not on order"),
        ({"lines": {"first": 2}}, "Only 1 of"),
        ({"shipping": "50"}, "of shipping is left"),
        ({"amount": "abc"}, "must be a number"),
    ],
)
def test_refunds_beyond_the_order_are_refused(
    fresh: SandboxHandle, refund: dict, message: str
) -> None:
    sku = catalogue_skus()[0]
    order_id = place(fresh, {sku: 1})["order_id"]
    if "lines" in refund:
        refund["lines"] = {sku if key == "first" else key: n for key, n in refund["lines"].items()}

    with pytest.raises(SandboxError, match=message):
        fresh.refund_store_order(order_id, **refund)


# -- readdress ------------------------------------------------------------------------


def test_readdress_defaults_to_a_new_uk_address(
    fresh: SandboxHandle, a2c: Client, receiver: Receiver
) -> None:
    order_id = place(fresh, {catalogue_skus()[0]: 1})["order_id"]
    before = info(a2c, order_id)["shipping_address"]

    first = fresh.readdress_store_order(order_id)["shipping_address"]
    second = fresh.readdress_store_order(order_id)["shipping_address"]

    assert first["country"] == {"code2": "GB", "code3": "GBR", "name": "United Kingdom"}
    assert first["address1"] != before["address1"] and first["postcode"]
    assert second["address1"] != first["address1"], "each default move is a real change"
    assert first["first_name"] == before["first_name"] and first["type"] == "shipping"
    assert info(a2c, order_id)["shipping_address"] == second
    heard = {hook_body(receiver)["shipping_address"]["address1"] for _ in range(2)}
    assert heard == {first["address1"], second["address1"]}, "webhooks arrive in any order"


def test_readdress_through_the_cli_with_given_fields(fresh: SandboxHandle, a2c: Client) -> None:
    order_id = place(fresh, {catalogue_skus()[0]: 1})["order_id"]

    done = cli(
        fresh, "readdress", order_id, "--name", "Grace Hopper", "--address1", "9 Rue Neuve",
        "--city", "Lyon", "--postcode", "69002", "--country", "FR",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    address = info(a2c, order_id)["shipping_address"]
    assert (address["first_name"], address["last_name"]) == ("Grace", "Hopper")
    assert (address["address1"], address["city"], address["postcode"]) == (
        "9 Rue Neuve",
        "Lyon",
        "69002",
    )
    assert address["country"]["code3"] == "FRA"


# -- edit lines -----------------------------------------------------------------------


def test_edit_lines_changes_removes_and_adds_lines_and_reprices(
    fresh: SandboxHandle, a2c: Client, receiver: Receiver
) -> None:
    kept, dropped, added = catalogue_skus()[:3]
    order_id = place(fresh, {kept: 1, dropped: 1})["order_id"]
    before = info(a2c, order_id)

    answer = fresh.edit_store_order_lines(order_id, {kept: 3, dropped: 0, added: 2})

    order = info(a2c, order_id)
    assert [(ln["model"], ln["quantity"]) for ln in order["order_products"]] == [
        (kept, 3),
        (added, 2),
    ]
    for line in order["order_products"]:
        assert line["total_price"] == float(Decimal(str(line["price"])) * line["quantity"])
    subtotal = sum(Decimal(str(ln["total_price"])) for ln in order["order_products"])
    shipping = Decimal("0") if subtotal >= 100 else Decimal("4.95")
    discount = sum(Decimal(str(ln["discount_amount"])) for ln in order["order_products"])
    tax = sum(Decimal(str(ln["tax_value_after_discount"])) for ln in order["order_products"])
    assert Decimal(str(order["totals"]["subtotal"])) == subtotal
    assert Decimal(str(order["totals"]["total"])) == subtotal - discount + shipping + tax
    assert order["total"]["total_paid"] == order["totals"]["total"], "a paid order stays paid"
    new_line = order["order_products"][-1]
    assert new_line["order_product_id"] not in {
        ln["order_product_id"] for ln in before["order_products"]
    }
    assert answer["totals"] == order["totals"]
    assert [ln["quantity"] for ln in hook_body(receiver)["order_products"]] == [3, 2]


def test_edit_lines_through_the_cli(fresh: SandboxHandle, a2c: Client) -> None:
    sku = catalogue_skus()[0]
    order_id = place(fresh, {sku: 1})["order_id"]

    done = cli(fresh, "edit-lines", order_id, "--set", f"{sku}=4")

    assert done.returncode == 0, done.stderr
    assert info(a2c, order_id)["order_products"][0]["quantity"] == 4


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ({"NO-SUCH-SKU": 1}, "Unknown SKU"),
        ({"NO-SUCH-SKU": 0}, "is not on order"),
        ({"first": 0}, "at least one line"),
        ({"first": -1}, "quantity"),
    ],
)
def test_edit_lines_refusals(fresh: SandboxHandle, lines: dict, message: str) -> None:
    sku = catalogue_skus()[0]
    order_id = place(fresh, {sku: 1})["order_id"]
    wanted = {sku if key == "first" else key: n for key, n in lines.items()}

    with pytest.raises(SandboxError, match=message):
        fresh.edit_store_order_lines(order_id, wanted)
