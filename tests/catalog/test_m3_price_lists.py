"""The M3 price and balance lists read as streams, with every answer shape of contract §3.4."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.errors import M3TransactionError
from connectors.ionapi import parse_ionapi
from connectors.m3 import M3Client
from sandbox import demo_data


@pytest.fixture
def m3(world) -> M3Client:
    tenant = demo_data.tenant("globex")
    ionapi = json.dumps(demo_data.ionapi_file("globex", world.sandbox.url))
    return M3Client(parse_ionapi(ionapi), company=tenant.company, division=tenant.division)


@pytest.fixture
def faults(world):
    def apply(**values):
        world.sandbox.control("m3", "faults", **values)

    yield apply
    world.sandbox.control("m3", "faults", clear=True)


def test_the_whole_price_list_and_every_balance_are_read(m3):
    items = {sku for p in demo_data.products("globex") for sku in p.sellable_skus}
    prices = list(m3.list_prices("WEBSHOP", "EUR"))
    assert {p.item_number for p in prices} == items
    assert all(p.price > 0 and p.valid_from is not None for p in prices)
    balances = list(m3.all_balances())
    assert len(balances) == len(items) * demo_data.WAREHOUSES_PER_TENANT


@pytest.mark.parametrize("shape", [{}, {"no_rows_error": 1}])
def test_a_change_feed_with_nothing_new_is_empty_in_either_shape(m3, faults, shape):
    if shape:
        faults(**shape)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert list(m3.changed_prices(later)) == []
    assert list(m3.changed_balances(later)) == []


@pytest.mark.parametrize("shape", [{}, {"error_in_200": 1}, {"error_top_level": 1}])
def test_an_error_answer_raises_with_m3s_words(m3, faults, shape):
    if shape:
        faults(**shape)
    with pytest.raises(M3TransactionError, match="LstNoSuchList"):
        list(m3.stream("OIS320MI", "LstNoSuchList"))
