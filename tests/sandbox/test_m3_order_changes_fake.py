"""The M3 fake's changes to confirmed orders over real HTTP (docs/m3-order-changes.md):
deleting, closing and re-addressing lines, and what M3 then shows.

Runs without Django: `pytest tests/sandbox/test_m3_order_changes_fake.py -p no:django`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from sandbox import demo_data
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox
from tests.sandbox.test_m3_fake import M3, new_order, sellable_skus

ACME = demo_data.tenant("acme")
SKUS = sellable_skus("acme")[40:43]
NEW_HOME = {"CUNM": "Ada Lovelace", "CUA1": "12 St James's Square", "PONO": "SW1Y 4JH",
            "TOWN": "London", "CSCD": "GB"}  # fmt: skip


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox(tmp_path_factory.mktemp("m3-changes")) as handle:
        for sku in SKUS:
            handle.control("m3", "set-stock", sku=sku, qty=50)
        yield handle


@pytest.fixture(scope="module")
def m3(sandbox: SandboxHandle) -> M3:
    return M3(sandbox)


def confirmed(m3: M3) -> str:
    return new_order(m3, ACME.default_customer, SKUS)[1]


def lines(m3: M3, orno: str) -> dict[str, dict[str, str]]:
    return {line["PONR"]: line for line in m3.records("OIS100MI", "LstLine", ORNO=orno)}


def allocated(m3: M3, sku: str) -> Decimal:
    record = m3.one("MMS200MI", "GetItmWhsBal", WHLO=ACME.warehouse, ITNO=sku)
    return Decimal(record["ALQT"])


# --- deleting and closing lines ----------------------------------------------------------------


def test_deleting_an_open_line_sets_99_and_frees_its_allocation(m3: M3) -> None:
    orno = confirmed(m3)
    before = lines(m3, orno)
    assert before["1"]["ORST"] == "33" and before["1"]["ALQT"] == "1"
    held = allocated(m3, SKUS[0])
    head_before = m3.one("OIS100MI", "GetHead", ORNO=orno)

    assert m3.records("OIS100MI", "DelLine", ORNO=orno, PONR="1", RSCD="CAN", OT65="1") == []

    after = lines(m3, orno)
    assert (after["1"]["ORST"], after["1"]["ALQT"], after["1"]["RSCD"]) == ("99", "0", "CAN")
    assert after["2"] == before["2"]
    assert allocated(m3, SKUS[0]) == held - 1
    head = m3.one("OIS100MI", "GetHead", ORNO=orno)
    assert (head["ORSL"], head["ORST"]) == ("33", "33")
    removed = Decimal(before["1"]["NLAM"])
    assert Decimal(head["NTAM"]) == Decimal(head_before["NTAM"]) - removed


def test_an_order_with_every_line_deleted_reads_99_and_has_nothing_to_deliver(
    m3: M3, sandbox: SandboxHandle
) -> None:
    orno = confirmed(m3)
    for ponr in lines(m3, orno):
        m3.records("OIS100MI", "DelLine", ORNO=orno, PONR=ponr)
    head = m3.one("OIS100MI", "GetHead", ORNO=orno)
    assert (head["ORSL"], head["ORST"], head["NTAM"]) == ("99", "99", "0")
    with pytest.raises(SandboxError, match="nothing left to deliver"):
        sandbox.control("m3", "deliver", order=orno)


def test_a_deleted_line_is_never_delivered(m3: M3, sandbox: SandboxHandle) -> None:
    orno = confirmed(m3)
    m3.records("OIS100MI", "DelLine", ORNO=orno, PONR="2")
    sandbox.control("m3", "deliver", order=orno)
    after = lines(m3, orno)
    assert [after[p]["ORST"] for p in ("1", "2", "3")] == ["77", "99", "77"]
    assert after["2"]["DLQT"] == "0"
    assert m3.records("OIS100MI", "LstDelLineByCO", ORNO=orno, PONR="2") == []


def test_closing_a_line_completes_it_without_delivery(m3: M3) -> None:
    orno = confirmed(m3)
    assert m3.records("OIS100MI", "CloLine", ORNO=orno, PONR="3", POSX="0") == []
    assert lines(m3, orno)["3"]["ORST"] == "99"


@pytest.mark.parametrize("trx", ["DelLine", "CloLine", "DelLineBatchEnt", "ChgLineBatchEnt"])
def test_a_delivered_and_invoiced_line_is_refused(m3: M3, sandbox: SandboxHandle, trx: str) -> None:
    orno = confirmed(m3)
    sandbox.control("m3", "deliver", order=orno)
    error = m3.error("OIS100MI", trx, ORNO=orno, PONR="1")
    assert (error["errorCode"], error["errorField"]) == ("WPO0905", "PONR")
    assert error["errorMessage"].startswith("Order line 1 is invoiced (status 77) and cannot be")
    assert lines(m3, orno)["1"]["ORST"] == "77"


def test_a_line_already_at_99_is_refused(m3: M3) -> None:
    orno = confirmed(m3)
    m3.records("OIS100MI", "DelLine", ORNO=orno, PONR="1")
    error = m3.error("OIS100MI", "DelLine", ORNO=orno, PONR="1")
    assert error["errorCode"] == "WPO0906"
    assert error["errorMessage"] == "Order line 1 is already deleted or closed (status 99)"


def test_unknown_orders_lines_and_bad_inputs_are_m3_errors(m3: M3) -> None:
    orno = confirmed(m3)
    temporary = m3.one("OIS100MI", "AddBatchHead", CUNO=ACME.default_customer)["ORNO"]
    cases = [
        ({"ORNO": "9999999999", "PONR": "1"}, "WOR0203", "ORNO"),
        ({"ORNO": temporary, "PONR": "1"}, "WOR0203", "ORNO"),
        ({"ORNO": orno, "PONR": "7"}, "WPO0203", "PONR"),
        ({"ORNO": orno, "PONR": "1", "POSX": "1"}, "WPO0203", "PONR"),
        ({"ORNO": orno}, "WPO0102", "PONR"),
        ({"ORNO": orno, "PONR": "x"}, "WPO0401", "PONR"),
        ({"ORNO": orno, "PONR": "1", "OT65": "5"}, "WOT0401", "OT65"),
        ({"ORNO": orno, "PONR": "1", "RSCD": "TOOLONG"}, "XRE0104", "RSCD"),
    ]
    for fields, code, field in cases:
        error = m3.error("OIS100MI", "DelLine", **fields)
        assert (error["errorCode"], error["errorField"]) == (code, field), fields
    assert m3.error("OIS100MI", "DelLine", ORNO=orno, PONR="7")["errorMessage"] == (
        "Order line number 7 does not exist"
    )
    assert {line["ORST"] for line in lines(m3, orno).values()} == {"33"}


def test_the_same_changes_arrive_in_a_bulk_call(m3: M3) -> None:
    orno = confirmed(m3)
    body = {"program": "OIS100MI", "transactions": [
        {"transaction": "DelLine", "record": {"ORNO": orno, "PONR": "1"}},
        {"transaction": "DelLine", "record": {"ORNO": orno, "PONR": "1"}},
    ]}  # fmt: skip
    answer = m3.bulk(body).json()
    assert (answer["nrOfSuccessfullTransactions"], answer["nrOfFailedTransactions"]) == (1, 1)
    assert answer["results"][1]["errorCode"] == "WPO0906"


# --- re-addressing lines -------------------------------------------------------------------------


def test_a_line_follows_a_new_delivery_address_of_the_customer(m3: M3) -> None:
    orno = confirmed(m3)
    order_address = m3.one("OIS100MI", "GetAddress", ORNO=orno, ADRT="1")
    unknown = m3.error("OIS100MI", "ChgLineBatchEnt", ORNO=orno, PONR="1", ADID="NOPE")
    assert (unknown["errorCode"], unknown["errorField"]) == ("WAD0203", "ADID")

    m3.one("CRS610MI", "AddAddress", CUNO=ACME.default_customer, ADRT="1", ADID="ADA1",
           **NEW_HOME)  # fmt: skip
    assert m3.records("OIS100MI", "ChgLineBatchEnt", ORNO=orno, PONR="1", ADID="ADA1") == []

    moved = m3.one("OIS100MI", "GetLineAddress", ORNO=orno, PONR="1")
    assert {key: moved[key] for key in NEW_HOME} == NEW_HOME
    stayed = m3.one("OIS100MI", "GetLineAddress", ORNO=orno, PONR="2")
    assert stayed == order_address
    assert m3.one("OIS100MI", "GetAddress", ORNO=orno, ADRT="01") == order_address


def test_a_batch_order_address_is_the_orders_own(m3: M3) -> None:
    temporary = m3.one("OIS100MI", "AddBatchHead", CUNO=ACME.default_customer)["ORNO"]
    m3.records("OIS100MI", "AddBatchAddress", ORNO=temporary, ADRT="1", **NEW_HOME)
    m3.one("OIS100MI", "AddBatchLine", ORNO=temporary, ITNO=SKUS[0], ORQT="1")
    orno = m3.one("OIS100MI", "Confirm", ORNO=temporary)["ORNO"]
    address = m3.one("OIS100MI", "GetAddress", ORNO=orno, ADRT="1")
    assert {key: address[key] for key in NEW_HOME} == NEW_HOME
    assert m3.one("OIS100MI", "GetLineAddress", ORNO=orno, PONR="1") == address
