"""The fakes made to disagree with the hub on purpose, from the command line (issue 30): an
order the hub never heard of, a ShipStation order deleted or its total changed, an ERP order
duplicated under the same CUOR."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.api2cart import Api2CartClient
from connectors.ionapi import parse_ionapi
from connectors.m3 import M3Client
from connectors.shipstation import ShipStationClient
from sandbox import demo_data
from sandbox.cli import main
from sandbox.testing import SandboxHandle


def cli(sandbox: SandboxHandle, capsys, *args: str) -> tuple[int, dict | str]:
    status = main(["--url", sandbox.url, *args])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if status == 0 else err)


def shipstation(sandbox: SandboxHandle) -> ShipStationClient:
    tenant = demo_data.tenant("acme")
    return ShipStationClient(
        tenant.shipstation_key, tenant.shipstation_secret, base_url=sandbox.api_url("shipstation")
    )


def test_an_order_placed_quietly_days_ago_fires_no_webhook(sandbox, capsys):
    status, answer = cli(
        sandbox, capsys, "place-orders", "--store", "acme-outlet", "--quiet", "--days-ago", "5"
    )

    assert status == 0
    [placed] = answer["orders"]
    assert placed["webhooks"] == 0
    store = demo_data.store("acme-outlet")
    a2c = Api2CartClient(
        demo_data.API2CART_API_KEY, store.store_key, base_url=sandbox.api_url("api2cart")
    )
    created = a2c.order_info(id=placed["id"]).created_at
    assert abs(created - (datetime.now(UTC) - timedelta(days=5))) < timedelta(minutes=5)
    order = sandbox.control("api2cart", "place-orders", store="acme-outlet", quiet=True,
                            days_ago=5)["orders"][0]  # fmt: skip
    assert order["webhooks"] == 0
    with pytest.raises(SystemExit):  # argparse refuses a days-ago that is not a number
        main(["--url", sandbox.url, "place-orders", "--store", "acme-outlet", "--days-ago", "x"])


def test_a_shipstation_order_is_deleted_or_its_total_changed(sandbox, capsys):
    from connectors.shipstation.records import Address, OrderItem, OrderRequest

    client = shipstation(sandbox)
    address = Address(name="Ada", street1="1 High St", city="Leeds", postal_code="LS1",
                      country="GB")  # fmt: skip
    created = client.create_order(
        OrderRequest(
            order_number="R-1", order_key="hub-acme-order41", order_date=datetime.now(UTC),
            order_status="awaiting_shipment", bill_to=address, ship_to=address,
            items=[OrderItem(sku="W-1", name="Widget", quantity=1, unit_price=Decimal("9.99"))],
        )
    )  # fmt: skip

    assert cli(sandbox, capsys, "set-shipstation-total", "hub-acme-order41", "1.23")[0] == 0
    assert client.get_order(created.order_id).order_total == Decimal("1.23")
    assert cli(sandbox, capsys, "delete-shipstation-order", "hub-acme-order41")[0] == 0
    keys = [o.order_key for o in client.list_orders(order_number="R-1")]
    assert keys == []
    status, said = cli(sandbox, capsys, "delete-shipstation-order", "hub-acme-order41")
    assert status == 1 and "No ShipStation order matches 'hub-acme-order41'" in said


def test_an_erp_order_is_duplicated_under_its_cuor(sandbox, capsys):
    tenant = demo_data.tenant("acme")
    [number] = sandbox.control(
        "m3",
        "seed-orders",
        tenant="acme",
        orders=[{"CUOR": "HUB77", "CUNO": tenant.default_customer}],
    )["orders"]

    status, answer = cli(sandbox, capsys, "duplicate-erp-order", "HUB77", "--tenant", "acme")

    assert status == 0 and answer["original"] == number and answer["cuor"] == "HUB77"
    erp = M3Client(
        parse_ionapi(json.dumps(demo_data.ionapi_file("acme", sandbox.url))),
        company=tenant.company,
        division=tenant.division,
    )
    heads = erp.orders_of_customers([tenant.default_customer])[tenant.default_customer]
    assert sorted(h.order_number for h in heads if h.customer_order_ref == "HUB77") == sorted(
        [number, answer["duplicate"]]
    )
    assert erp.order_heads([number, "9999999"]) == {
        number: erp.order_heads([number])[number],
        "9999999": None,
    }
