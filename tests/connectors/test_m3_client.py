"""M3Client against the sandbox's ION API + M3 fake, over real HTTP."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.errors import (
    AuthenticationError,
    M3TransactionError,
    RateLimitedError,
    RetryableError,
)
from connectors.ionapi import IonApiCredentials, parse_ionapi
from connectors.m3 import (
    BulkTransaction,
    M3Client,
    NewM3Customer,
    NewM3OrderHead,
    NewM3OrderLine,
    m3_inputs,
    parse_m3_date,
    parse_m3_decimal,
)
from connectors.m3.customers import SEARCH_KEY_ROWS
from sandbox import demo_data

ACME = demo_data.tenant("acme")
SKUS = [sku for product in demo_data.products("acme") for sku in product.sellable_skus]
KNOWN_SHOPPER = demo_data.erp_known_customers("acme")[0]


def credentials(sandbox, slug: str = "acme") -> IonApiCredentials:
    return parse_ionapi(json.dumps(demo_data.ionapi_file(slug, sandbox.url)))


def token_requests(sandbox) -> int:
    return sandbox.status()["m3"]["token_requests"]


@pytest.fixture
def client(sandbox) -> Iterator[M3Client]:
    with M3Client(credentials(sandbox)) as c:
        yield c


@pytest.fixture
def short_tokens(sandbox) -> Iterator[None]:
    sandbox.control("m3", "set-token-lifetime", seconds=2)
    yield
    sandbox.control("m3", "set-token-lifetime", seconds=7200)


def known_customer_number(client: M3Client) -> str:
    return client.search_customers(f"MAIL:{KNOWN_SHOPPER.email}")[0].number


# Values on the wire


def test_inputs_are_strings_dates_and_decimals_with_blanks_dropped() -> None:
    fields = {"ORQT": Decimal("2.50"), "RLDT": date(2026, 7, 1), "CUOR": "", "SAPR": None, "N": 3}
    assert m3_inputs(fields) == {"ORQT": "2.50", "RLDT": "20260701", "N": "3"}
    assert parse_m3_date("20260701") == date(2026, 7, 1)
    assert parse_m3_date("0") is None and parse_m3_date("        ") is None
    assert parse_m3_decimal(" 12.5 ") == Decimal("12.5") and parse_m3_decimal("") == 0


# Tokens


def test_token_is_fetched_once_and_reused(sandbox, client: M3Client) -> None:
    before = token_requests(sandbox)
    for _ in range(3):
        assert client.get_customer(known_customer_number(client))
    assert token_requests(sandbox) == before + 1


def test_client_credentials_grant_when_the_file_has_no_service_account(sandbox) -> None:
    creds = dataclasses.replace(
        credentials(sandbox), service_account_key="", service_account_secret=""
    )
    assert not creds.uses_password_grant
    with M3Client(creds) as c:
        assert c.execute("CRS610MI", "LstByNumber", max_records=1)


def test_refused_credentials_raise_authentication_error_with_hint(sandbox) -> None:
    creds = dataclasses.replace(credentials(sandbox), service_account_secret="wrong")
    with M3Client(creds) as c, pytest.raises(AuthenticationError) as caught:
        c.execute("CRS610MI", "LstByNumber")
    assert caught.value.code == "invalid_grant"
    assert ".ionapi" in caught.value.hint


def test_token_is_refreshed_before_it_expires(sandbox, short_tokens) -> None:
    with M3Client(credentials(sandbox), refresh_margin=1.5) as c:
        first = c.access_token()
        time.sleep(0.7)
        before = token_requests(sandbox)
        assert c.execute("CRS610MI", "LstByNumber", max_records=1)
        assert c.access_token() != first
        assert token_requests(sandbox) == before + 1


def test_expired_token_gets_exactly_one_reauth_and_retry(sandbox, short_tokens) -> None:
    with M3Client(credentials(sandbox), refresh_margin=0) as c:
        c.execute("CRS610MI", "LstByNumber", max_records=1)
        time.sleep(2.2)
        before = token_requests(sandbox)
        assert c.execute("CRS610MI", "LstByNumber", max_records=1)
        assert token_requests(sandbox) == before + 1


def test_a_second_401_is_an_authentication_error(sandbox) -> None:
    """A token valid for ACME's gateway but used on GLOBEX's: every call answers 401."""
    acme = credentials(sandbox, "acme")
    wrong_tenant = dataclasses.replace(acme, tenant=demo_data.tenant("globex").erp_tenant)
    with M3Client(wrong_tenant) as c:
        before = token_requests(sandbox)
        with pytest.raises(AuthenticationError) as caught:
            c.execute("CRS610MI", "LstByNumber")
    assert caught.value.status == 401
    assert token_requests(sandbox) == before + 2


def test_revoked_token_is_replaced(sandbox, client: M3Client) -> None:
    client.execute("CRS610MI", "LstByNumber", max_records=1)
    client.revoke()
    before = token_requests(sandbox)
    assert client.execute("CRS610MI", "LstByNumber", max_records=1)
    assert token_requests(sandbox) == before + 1


# Generic execute


def test_matrix_options_limit_and_shape_records(client: M3Client) -> None:
    records = client.execute(
        "CRS610MI", "LstByNumber", max_records=3, return_columns=["CUNO", "CUNM", "PHNO"]
    )
    assert len(records) == 3
    assert all(set(r) <= {"CUNO", "CUNM", "PHNO"} for r in records)
    all_rows = client.execute("CRS610MI", "LstByNumber", max_records=0)
    assert len(all_rows) > 40
    compact = client.execute("CRS610MI", "LstByNumber", max_records=5, exclude_empty=True)
    assert all(value != "" for record in compact for value in record.values())


def test_nok_answer_names_program_transaction_field_and_message(client: M3Client) -> None:
    with pytest.raises(M3TransactionError) as caught:
        client.execute("CRS610MI", "Add", {"CUNM": "No template"})
    error = caught.value
    assert (error.program, error.transaction, error.field) == ("CRS610MI", "Add", "CUTM")
    assert error.message and error.code and error.status == 400
    assert "CRS610MI/Add" in error.hint and "CUTM" in error.hint


def test_unknown_transaction_is_reported_as_such(client: M3Client) -> None:
    with pytest.raises(M3TransactionError) as caught:
        client.execute("CRS610MI", "NoSuchThing")
    assert caught.value.error_type == "TransactionNotFound"


def test_company_matrix_option_is_checked(sandbox) -> None:
    with (
        M3Client(credentials(sandbox), company="999") as c,
        pytest.raises(M3TransactionError) as caught,
    ):
        c.execute("CRS610MI", "LstByNumber")
    assert caught.value.field == "CONO"
    with M3Client(credentials(sandbox), company=ACME.company) as c:
        assert c.execute("CRS610MI", "LstByNumber", max_records=1)


def test_bulk_results_succeed_or_fail_one_by_one(client: M3Client) -> None:
    cuno = known_customer_number(client)
    results = client.execute_bulk(
        "CRS610MI",
        [
            BulkTransaction("GetBasicData", {"CUNO": cuno}, return_columns=["CUNO", "MAIL"]),
            BulkTransaction("GetBasicData", {"CUNO": "NOSUCHCUST"}),
            BulkTransaction("LstByNumber", {}),
        ],
        max_records=2,
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].records == [{"CUNO": cuno, "MAIL": KNOWN_SHOPPER.email}]
    assert results[1].error is not None and results[1].error.field == "CUNO"
    assert len(results[2].records) == 2
    with pytest.raises(M3TransactionError):
        results[1].raise_for_error()


def test_bulk_for_an_unknown_program_fails_every_transaction(client: M3Client) -> None:
    results = client.execute_bulk("NOSUCHMI", [BulkTransaction("A", {}), BulkTransaction("B", {})])
    assert [r.transaction for r in results] == ["A", "B"]
    assert all(r.error is not None and r.error.program == "NOSUCHMI" for r in results)


# The hub's flows through the typed helpers


def test_customer_lookup_and_creation(client: M3Client) -> None:
    known = client.search_customers(f"MAIL:{KNOWN_SHOPPER.email}")
    assert [c.email for c in known] == [KNOWN_SHOPPER.email]
    assert client.get_customer(known[0].number).name
    assert client.get_customer("NOSUCHCUST") is None
    key = f"T{uuid.uuid4().hex[:9].upper()}"
    number = client.add_customer(
        NewM3Customer(
            template=f"{ACME.sku_prefix}TEMPLATE",
            name="Grace Hopper",
            line1="1 Navy Way",
            email=f"{key.lower()}@example.com",
            search_key=key,
            postcode="LS1 4AP",
            town="Leeds",
            country="GB",
        )
    )
    assert [c.number for c in client.customers_by_search_key(key)] == [number]
    assert client.get_customer(number).currency


def test_a_batch_of_search_key_lookups_caps_the_rows_of_each(client: M3Client) -> None:
    """A list positioned at a key runs on through the table: uncapped, one lookup per new
    shopper would answer every customer after the key, on the real M3 as in the sandbox."""
    prefix = f"Q{uuid.uuid4().hex[:5].upper()}"
    keys = [f"{prefix}{n:04d}" for n in range(60)]
    numbers = client.add_customers(
        [
            NewM3Customer(
                template=f"{ACME.sku_prefix}TEMPLATE", name=f"Shopper {key}", line1="1 Road",
                email=f"{key.lower()}@example.com", search_key=key, postcode="LS1 4AP",
                town="Leeds", country="GB",
            )
            for key in keys
        ]
    )  # fmt: skip
    asked: list[dict] = []
    send = client.send

    def recording(method: str, url: str, **kwargs):
        asked.append(kwargs.get("params") or {})
        return send(method, url, **kwargs)

    client.send = recording
    found = client.customers_by_search_keys([keys[0], keys[1], f"{prefix}ZZZZ"])

    assert [asked_once["maxrecs"] for asked_once in asked] == [SEARCH_KEY_ROWS]
    assert [c.number for c in found[keys[0]]] == [numbers[0]]
    assert [c.number for c in found[keys[1]]] == [numbers[1]]
    assert found[f"{prefix}ZZZZ"] == []


def test_order_to_delivery_to_paid_invoice(sandbox, client: M3Client) -> None:
    cuno = known_customer_number(client)
    reference = f"NW-{uuid.uuid4().hex[:8]}"
    temporary = client.add_batch_head(
        NewM3OrderHead(customer_number=cuno, customer_order_ref=reference)
    )
    lines = client.add_batch_lines(
        temporary,
        [
            NewM3OrderLine(SKUS[0], Decimal(2)),
            NewM3OrderLine(SKUS[1], Decimal(1), price=Decimal("9.50")),
        ],
    )
    assert all(result.ok for result in lines)
    order_number = client.confirm_order(temporary)
    assert order_number and client.final_order_number(temporary) == order_number
    assert reference in {h.customer_order_ref for h in client.orders_for_customer(cuno)}
    head = client.get_order_head(order_number)
    assert head.customer_order_ref == reference and head.total > 0
    order_lines = client.order_lines(order_number)
    assert [line.item_number for line in order_lines] == SKUS[:2]
    assert order_lines[1].price == Decimal("9.5")

    sandbox.control("m3", "deliver", order=order_number, tracking="1Z-TEST-1")
    delivery_lines = client.delivery_lines(order_number, order_lines[0].line_number)
    delivery = client.get_delivery(delivery_lines[0].delivery_number)
    assert delivery.tracking_number == "1Z-TEST-1"
    invoices = client.order_invoices(order_number)
    assert len(invoices) == 1 and not invoices[0].is_paid
    sandbox.control("m3", "pay", order=order_number)
    assert client.order_invoices(order_number)[0].is_paid


def test_batch_line_errors_are_reported_per_line(client: M3Client) -> None:
    temporary = client.add_batch_head(
        NewM3OrderHead(customer_number=known_customer_number(client), customer_order_ref="X-1")
    )
    results = client.add_batch_lines(
        temporary, [NewM3OrderLine(SKUS[0], Decimal(1)), NewM3OrderLine("NO-SUCH-ITEM", 1)]
    )
    assert results[0].ok
    assert results[1].error is not None and results[1].error.field == "ITNO"


def test_price_and_stock_change_feeds(sandbox, client: M3Client) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    time.sleep(0.05)
    sandbox.control("m3", "set-price", sku=SKUS[5], amount="42.5")
    sandbox.control("m3", "set-stock", sku=SKUS[6], qty=17)
    prices = {p.item_number: p.price for p in client.new_prices(since)}
    assert prices[SKUS[5]] == Decimal("42.5")
    balances = {(b.item_number, b.warehouse): b for b in client.new_balances(since)}
    assert balances[(SKUS[6], ACME.warehouse)].available == 17
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert SKUS[5] not in {p.item_number for p in client.new_prices(later)}


# Transport errors


def test_server_errors_and_timeouts_are_retryable(sandbox, client: M3Client) -> None:
    client.access_token()
    sandbox.control("m3", "faults", fail_next=1)
    with pytest.raises(RetryableError) as caught:
        client.execute("CRS610MI", "LstByNumber")
    assert caught.value.status == 503
    sandbox.control("m3", "faults", timeout_rate=1, timeout_seconds=2)
    with (
        M3Client(credentials(sandbox), timeout=(2.0, 0.5)) as impatient,
        pytest.raises(RetryableError),
    ):
        impatient.execute("CRS610MI", "LstByNumber")


def test_429_then_success_after_retry_after(sandbox, client: M3Client) -> None:
    client.access_token()
    sandbox.control("m3", "faults", rate_429=1)
    with pytest.raises(RateLimitedError) as caught:
        client.execute("CRS610MI", "LstByNumber", max_records=1)
    assert caught.value.retry_after == 1
    sandbox.control("m3", "faults", clear=True)
    time.sleep(caught.value.retry_after)
    assert client.execute("CRS610MI", "LstByNumber", max_records=1)
