"""M3Client against every answer shape of contracts/infor-m3.md §3.4, served by the sandbox.

The shapes are chosen with the `m3` faults of the fake (`sandbox/m3/answers.py`); the autouse
fixture of this package clears them around each test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest

from connectors.errors import M3TransactionError, RetryableError
from connectors.ionapi import IonApiCredentials, parse_ionapi
from connectors.m3 import (
    BulkTransaction,
    M3Client,
    NewM3OrderHead,
    NewM3OrderLine,
)
from connectors.m3.values import m3_count, m3_flag
from sandbox import demo_data

ACME = demo_data.tenant("acme")
SKUS = [sku for product in demo_data.products("acme") for sku in product.sellable_skus]


def credentials(sandbox) -> IonApiCredentials:
    return parse_ionapi(json.dumps(demo_data.ionapi_file("acme", sandbox.url)))


@pytest.fixture
def client(sandbox) -> Iterator[M3Client]:
    with M3Client(credentials(sandbox)) as c:
        yield c


def answer_in(sandbox, **faults: float) -> None:
    sandbox.control("m3", "faults", **faults)


def batch_order(client: M3Client) -> str:
    head = NewM3OrderHead(ACME.default_customer, customer_order_ref=f"S-{uuid.uuid4().hex[:8]}")
    return client.add_batch_head(head)


def three_lines() -> list[NewM3OrderLine]:
    return [NewM3OrderLine(sku, Decimal(1)) for sku in SKUS[:3]]


# Flags and counters, read strictly


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), (" TRUE ", True),
     ("1", True), ("0", False), (1, True), (0, False), (None, False), ("", False)],
)  # fmt: skip
def test_flags_are_read_strictly(value, expected) -> None:
    assert m3_flag(value) is expected


@pytest.mark.parametrize("value", ["yes", "no", "False-ish", 2, 1.5, [], {}])
def test_anything_else_is_not_a_flag(value) -> None:
    with pytest.raises(ValueError, match="not an M3 flag"):
        m3_flag(value)


def test_counters_may_be_strings() -> None:
    assert [m3_count(v) for v in (0, 3, "2", " 4 ", "", None)] == [0, 3, 2, 4, 0, 0]
    with pytest.raises(ValueError):
        m3_count("many")


# Errors keep M3's words


@pytest.mark.parametrize(
    "faults",
    [
        {},
        {"error_top_level": 1},
        {"error_in_200": 1},
        {"error_top_level": 1, "error_in_200": 1},
        {"error_top_level": 1, "string_flags": 1},
        {"error_in_200": 1, "string_flags": 1},
    ],
    ids=[
        "default",
        "top-level-400",
        "in-a-200",
        "top-level-200",
        "top-level-strings",
        "200-strings",
    ],
)
def test_a_refusal_keeps_message_code_and_field_in_every_shape(sandbox, client, faults) -> None:
    answer_in(sandbox, **faults)
    with pytest.raises(M3TransactionError) as caught:
        client.execute("CRS610MI", "Add", {"CUNM": "No template"})
    error = caught.value
    assert (error.program, error.transaction, error.field) == ("CRS610MI", "Add", "CUTM")
    assert error.code and error.code.startswith("WCU")
    assert error.message and error.message != "transaction failed"
    assert error.status == (200 if faults.get("error_in_200") else 400)
    assert "CUTM" in error.hint and error.message in error.hint


@pytest.mark.parametrize("faults", [{}, {"error_top_level": 1}, {"error_in_200": 1}])
def test_get_customer_tells_no_such_customer_from_a_real_failure(sandbox, faults) -> None:
    answer_in(sandbox, **faults)
    with M3Client(credentials(sandbox)) as c:
        assert c.get_customer("NOSUCHCUST") is None
        assert c.get_customer(ACME.default_customer).number == ACME.default_customer
    with (
        M3Client(credentials(sandbox), company="999") as wrong_company,
        pytest.raises(M3TransactionError) as caught,
    ):
        wrong_company.get_customer(ACME.default_customer)
    assert caught.value.field == "CONO" and caught.value.message


# Bulk runs stopped partway


def test_a_bulk_run_stopped_partway_reports_the_rest_as_not_processed(sandbox, client) -> None:
    temporary = batch_order(client)
    answer_in(sandbox, bulk_stop_after=1)

    results = client.add_batch_lines(temporary, three_lines())

    assert [(r.processed, r.ok, r.refused) for r in results] == [
        (True, True, False),
        (False, False, False),
        (False, False, False),
    ]
    assert results[0].records and results[1].records == []
    with pytest.raises(RetryableError, match="not processed"):
        results[1].raise_for_error()
    results[0].raise_for_error()


def test_unprocessed_lines_can_be_sent_again_until_all_are_in(sandbox, client) -> None:
    temporary = batch_order(client)
    answer_in(sandbox, bulk_stop_after=1, string_flags=1)
    pending = three_lines()
    rounds = 0
    while pending:
        results = client.add_batch_lines(temporary, pending)
        assert not any(r.refused for r in results)
        pending = [line for line, r in zip(pending, results, strict=True) if not r.processed]
        rounds += 1
    answer_in(sandbox, bulk_stop_after=0, string_flags=0)
    order_number = client.confirm_order(temporary)
    assert rounds == 3
    assert [line.item_number for line in client.order_lines(order_number)] == SKUS[:3]


def test_a_refused_line_in_a_stopped_run_is_refused_not_unprocessed(sandbox, client) -> None:
    temporary = batch_order(client)
    answer_in(sandbox, bulk_stop_after=2)
    lines = [NewM3OrderLine(SKUS[0], Decimal(1)), NewM3OrderLine("NO-SUCH-ITEM", Decimal(1)),
             NewM3OrderLine(SKUS[1], Decimal(1))]  # fmt: skip

    results = client.add_batch_lines(temporary, lines)

    assert [(r.ok, r.refused, r.processed) for r in results] == [
        (True, False, True),
        (False, True, True),
        (False, False, False),
    ]
    refusal = results[1].error
    assert refusal is not None and refusal.field == "ITNO" and refusal.code
    assert "NO-SUCH-ITEM" in refusal.message
    with pytest.raises(M3TransactionError):
        results[1].raise_for_error()


def test_a_terminated_run_marks_what_it_never_ran_as_not_processed(client) -> None:
    results = client.execute_bulk("NOSUCHMI", [BulkTransaction("A", {}), BulkTransaction("B", {})])
    assert [(r.processed, r.ok) for r in results] == [(False, False), (False, False)]
    assert all(r.error is not None and "NOSUCHMI" in r.error.message for r in results)


# String flags


def test_string_flags_are_not_failures(sandbox, client) -> None:
    answer_in(sandbox, string_flags=1)
    customer = client.get_customer(ACME.default_customer)
    assert customer is not None and customer.number == ACME.default_customer
    results = client.execute_bulk(
        "CRS610MI",
        [
            BulkTransaction("GetBasicData", {"CUNO": ACME.default_customer}),
            BulkTransaction("GetBasicData", {"CUNO": "NOSUCHCUST"}),
        ],
    )
    assert [(r.ok, r.refused) for r in results] == [(True, False), (False, True)]


# "No rows" on list transactions


def test_no_rows_errors_are_empty_lists_where_a_list_was_asked_for(sandbox, client) -> None:
    answer_in(sandbox, no_rows_error=1)
    assert client.customers_by_search_key("NOSUCHKEY") == []
    assert client.search_customers("MAIL:nobody@nowhere.example") == []
    assert client.execute("CRS610MI", "LstBySearchKey", {"ALCU": "ZZZZZZZZZZ"}) == []
    assert client.batch_order_errors(batch_order(client)) == []
    assert client.execute("CRS610MI", "LstByNumber", max_records=2)  # rows still come back
    with pytest.raises(M3TransactionError) as caught:
        client.execute("CRS610MI", "LstBySearchKey", {"ALCU": "ZZZZZZZZZZ"}, as_list=False)
    assert caught.value.code == "XRE0103" and caught.value.message == "Record does not exist"


def test_no_rows_in_a_top_level_200_answer_is_still_an_empty_list(sandbox, client) -> None:
    answer_in(sandbox, no_rows_error=1, error_top_level=1, error_in_200=1, string_flags=1)
    assert client.customers_by_search_key("NOSUCHKEY") == []
    assert client.get_customer("NOSUCHCUST") is None
