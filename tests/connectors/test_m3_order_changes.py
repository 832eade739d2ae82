"""M3Client's changes to confirmed orders (docs/m3-order-changes.md), against the sandbox over
real HTTP: cancelling open lines, re-addressing them, and what is left for a person."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest

from connectors.errors import M3TransactionError
from connectors.ionapi import parse_ionapi
from connectors.m3 import (
    LINE_ADDRESS_TRANSACTION,
    LINE_CANCEL_TRANSACTION,
    LineStage,
    M3Address,
    M3Client,
    NewM3OrderHead,
    NewM3OrderLine,
    transaction_name,
)
from connectors.m3.order_changes import address_key
from sandbox import demo_data

ACME = demo_data.tenant("acme")
SKUS = [sku for product in demo_data.products("acme") for sku in product.sellable_skus][50:53]
NEW_HOME = M3Address(
    address_type="",
    name="Ada Lovelace",
    line1="12 St James's Square",
    postcode="SW1Y 4JH",
    town="London",
    country="GB",
)


@pytest.fixture
def client(sandbox) -> Iterator[M3Client]:
    creds = parse_ionapi(json.dumps(demo_data.ionapi_file("acme", sandbox.url)))
    with M3Client(creds) as c:
        yield c


def confirmed_order(client: M3Client) -> str:
    head = NewM3OrderHead(ACME.default_customer, f"CHG-{uuid.uuid4().hex[:8]}")
    temporary = client.add_batch_head(head)
    results = client.add_batch_lines(temporary, [NewM3OrderLine(sku, Decimal(1)) for sku in SKUS])
    assert all(result.ok for result in results)
    return client.confirm_order(temporary)


def calls(sandbox, transaction: str) -> int:
    return sandbox.status()["m3"]["calls_by_transaction"].get(transaction, 0)


# Values


def test_transaction_settings_are_program_slash_transaction() -> None:
    assert transaction_name(LINE_CANCEL_TRANSACTION) == ("OIS100MI", "DelLine")
    assert transaction_name(" EXT100MI/ChgCOAddr ") == ("EXT100MI", "ChgCOAddr")
    for bad in ("", "DelLine", "OIS100MI/", "ois100mi/DelLine", "OIS100MI/Del Line", "A/B/C"):
        with pytest.raises(ValueError, match="PROGRAM/TRANSACTION"):
            transaction_name(bad)


@pytest.mark.parametrize(
    ("status", "delivered", "stage"),
    [
        ("22", 0, LineStage.OPEN),
        ("23", 0, LineStage.OPEN),
        ("33", 0, LineStage.OPEN),
        ("10", 0, LineStage.OPEN),
        ("24", 0, LineStage.PICKING),
        ("44", 0, LineStage.PICKING),
        ("26", 1, LineStage.DELIVERED),
        ("46", 1, LineStage.DELIVERED),
        ("66", 1, LineStage.DELIVERED),
        ("33", 1, LineStage.DELIVERED),
        ("27", 1, LineStage.INVOICED),
        ("77", 1, LineStage.INVOICED),
        ("99", 0, LineStage.CLOSED),
        ("", 0, LineStage.UNKNOWN),
        ("58", 0, LineStage.UNKNOWN),
    ],
)
def test_a_line_stage_is_read_from_its_furthest_part(
    status: str, delivered: int, stage: LineStage
) -> None:
    assert LineStage.of(status, Decimal(delivered)) is stage


def test_a_derived_address_number_fits_adid_and_follows_the_address() -> None:
    key = address_key(NEW_HOME)
    assert len(key) == 6 and key.isalnum() and key == address_key(replace(NEW_HOME, phone="1"))
    assert key == address_key(replace(NEW_HOME, town="london "))
    assert key != address_key(replace(NEW_HOME, line1="13 St James's Square"))


# Cancelling lines


def test_cancelling_an_open_order_deletes_every_line(client: M3Client) -> None:
    order = confirmed_order(client)
    change = client.cancel_order_lines(order, reason="CAN")
    assert change.complete and change.next_step == ""
    assert [line.label for line in change.changed] == ["line 1", "line 2", "line 3"]
    assert change.summary() == (
        f"M3 order {order}: {LINE_CANCEL_TRANSACTION} done for line 1, line 2, line 3."
    )
    after = client.order_lines(order)
    assert {line.stage for line in after} == {LineStage.CLOSED}
    assert {line.raw["RSCD"] for line in after} == {"CAN"}
    head = client.get_order_head(order)
    assert (head.lowest_status, head.highest_status) == ("99", "99")

    again = client.cancel_order_lines(order)
    assert again.complete and not again.changed and len(again.unchanged) == 3


def test_lines_already_delivered_are_left_for_a_person_without_asking_m3(
    sandbox, client: M3Client
) -> None:
    order = confirmed_order(client)
    sandbox.control("m3", "deliver", order=order)
    before = calls(sandbox, "OIS100MI/DelLine")
    change = client.cancel_order_lines(order)
    assert calls(sandbox, "OIS100MI/DelLine") == before
    assert not change.complete and not change.changed
    assert [(r.line.label, r.reason, r.error) for r in change.refused] == [
        ("line 1", "is invoiced", None),
        ("line 2", "is invoiced", None),
        ("line 3", "is invoiced", None),
    ]
    assert order in change.next_step and "(OIS101)" in change.next_step
    assert f"line 1 ({SKUS[0]}) is invoiced" in change.next_step
    assert "not done for line 1 is invoiced" in change.summary()


def test_a_line_m3_refuses_is_reported_with_m3s_words(client: M3Client) -> None:
    order = confirmed_order(client)
    change = client.cancel_order_lines(order, "OIS100MI/NoSuchLineTrx")
    assert len(change.refused) == 3 and not change.changed
    refusal = change.refused[0]
    assert refusal.error is not None and refusal.error.error_type == "TransactionNotFound"
    assert refusal.reason == f"was refused by M3: {refusal.error.message}"
    assert {line.stage for line in client.order_lines(order)} == {LineStage.OPEN}


def test_one_line_is_cancelled_with_the_configured_transaction(client: M3Client) -> None:
    order = confirmed_order(client)
    client.cancel_order_line(order, "2", transaction="OIS100MI/CloLine")
    client.cancel_order_line(order, "3", reason="DUP")
    stages = {line.line_number: line.stage for line in client.order_lines(order)}
    assert stages == {"1": LineStage.OPEN, "2": LineStage.CLOSED, "3": LineStage.CLOSED}
    with pytest.raises(M3TransactionError) as caught:
        client.cancel_order_line(order, "3")
    assert (caught.value.code, caught.value.field) == ("WPO0906", "PONR")
    assert "OIS100MI/DelLine" in caught.value.hint

    change = client.cancel_order_lines(order)
    assert [line.label for line in change.changed] == ["line 1"]
    assert [line.label for line in change.unchanged] == ["line 2", "line 3"]


def test_an_unknown_order_or_a_malformed_setting_raises(client: M3Client) -> None:
    with pytest.raises(M3TransactionError) as caught:
        client.cancel_order_lines("9999999999")
    assert caught.value.field == "ORNO"
    with pytest.raises(ValueError):
        client.cancel_order_lines("9999999999", "DelLine")
    with pytest.raises(ValueError):
        client.change_delivery_address("9999999999", NEW_HOME, "OIS100MI")


# Re-addressing lines


def test_open_lines_are_sent_to_the_new_address(client: M3Client) -> None:
    order = confirmed_order(client)
    own = client.order_address(order)
    client.cancel_order_line(order, "3")

    change = client.change_delivery_address(order, NEW_HOME)
    assert change.transaction == LINE_ADDRESS_TRANSACTION
    assert [line.label for line in change.changed] == ["line 1", "line 2"]
    assert [line.label for line in change.unchanged] == ["line 3"]
    assert change.complete and change.next_step == ""
    expected = replace(NEW_HOME, address_type="1")
    assert client.line_address(order, "1") == expected
    assert client.line_address(order, "2") == expected
    assert client.line_address(order, "3") == own
    assert client.order_address(order) == own

    again = client.change_delivery_address(order, NEW_HOME)
    assert again.complete and len(again.changed) == 2


def test_a_delivered_order_keeps_its_address_and_says_what_to_do(sandbox, client: M3Client) -> None:
    order = confirmed_order(client)
    sandbox.control("m3", "deliver", order=order)
    change = client.change_delivery_address(order, NEW_HOME)
    assert not change.complete and len(change.refused) == 3
    assert "(OIS102)" in change.next_step and order in change.next_step
    assert "12 St James's Square, SW1Y 4JH, London, GB" in change.next_step
    assert client.line_address(order, "1") == client.order_address(order)


def test_an_address_m3_refuses_stops_before_any_line_changes(client: M3Client) -> None:
    order = confirmed_order(client)
    no_town = replace(NEW_HOME, town="", address_id="NOTOWN")
    with pytest.raises(M3TransactionError) as caught:
        client.change_delivery_address(order, no_town)
    assert (caught.value.program, caught.value.field) == ("CRS610MI", "TOWN")
    assert client.line_address(order, "1") == client.order_address(order)
