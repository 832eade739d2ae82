"""The ERP step against M3 answers in every shape of contracts/infor-m3.md §3.4.

The pipeline step runs in-process through the work-item core (`advance_orders`) against the
sandbox over HTTP (through the recording tap of tests/support/world.py); the answer shapes are
`m3` faults of the fake. However M3 words its answers, an order reaches *in ERP* only as one ERP
order with all of its lines, or stops in *needs attention* with M3's own words on its timeline.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from connectors.errors import M3TransactionError
from core.models import WorkAttempt
from orders.erp.batch_orders import BATCH_HEAD_REQUESTED
from orders.models import Order, OrderEvent
from orders.pipeline import advance_orders
from sandbox import demo_data
from tests.support.world import Call, World, connect_tenants, make_order, sku_of, start_world

CUSTOMER = demo_data.tenant("acme").default_customer
S = Order.State


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_erp(world: World, db, no_upstream_call_in_a_transaction) -> Iterator[World]:
    world.calm()
    connect_tenants(world)
    with schema_context("acme"):
        yield world
    world.calm()


def advance(order: Order) -> str:
    """One attempt at the order's pipeline steps (it is the only order due)."""
    return advance_orders([order.pk])[order.pk]


def three_line_order(**fields) -> Order:
    lines = [(sku_of("acme", n), "1", "10.00") for n in range(3)]
    fields.setdefault("erp_customer_number", CUSTOMER)
    return make_order(state=S.CUSTOMER_LINKED, lines=lines, **fields)


def confirmed_orders(world: World) -> int:
    return world.status()["m3"]["erp_orders"]


def erp_items(world: World, order: Order) -> list[str]:
    return [
        line.item_number for line in world.direct_m3("acme").order_lines(order.erp_order_number)
    ]


def line_calls(world: World) -> int:
    return world.tap.m3_names().count("OIS100MI/AddBatchLine")


def test_a_bulk_run_stopped_after_the_first_line_still_gives_one_order_with_all_lines(
    acme_erp: World,
):
    acme_erp.sandbox.control("m3", "faults", bulk_stop_after=1)
    order = three_line_order()
    before = confirmed_orders(acme_erp)

    advance(order)

    order.refresh_from_db()
    assert order.state == S.IN_ERP and order.erp_order_number
    assert confirmed_orders(acme_erp) == before + 1
    assert erp_items(acme_erp, order) == [sku_of("acme", n) for n in range(3)]
    # The delivery address goes first in the same bulk call and takes the first run; then the
    # unprocessed lines are sent again, one more processed each run.
    assert line_calls(acme_erp) == 3 + 3 + 2 + 1
    warnings = order.events.filter(step="erp_lines_not_processed").values_list("message", flat=1)
    assert len(warnings) == 3
    assert f"line 2 (SKU {sku_of('acme', 1)})" in warnings[0]


def test_a_bulk_run_that_processed_nothing_is_retried_and_the_batch_rebuilt_whole(
    acme_erp: World,
):
    stopped = []

    def nothing_processed(call: Call) -> dict | None:
        """Once: M3 stopped the lines' run before its first line (the fake stops after N >= 1)."""
        body = call.json if isinstance(call.json, dict) else {}
        sent = [t.get("transaction") for t in body.get("transactions") or []]
        if stopped or body.get("program") != "OIS100MI" or "AddBatchLine" not in sent:
            return None
        stopped.append(call)
        results = [{"transaction": t["transaction"], "notProcessed": "true"}
                   for t in body["transactions"]]  # fmt: skip
        return {"results": results, "wasTerminated": "false", "bulkJobId": "J1",
                "nrOfSuccessfullTransactions": "0", "nrOfFailedTransactions": "0",
                "nrOfNotProcessedTransactions": str(len(results))}  # fmt: skip

    acme_erp.tap.refuse(nothing_processed, status=200)
    order = three_line_order()
    before = confirmed_orders(acme_erp)

    assert advance(order) == WorkAttempt.Outcome.RETRY
    order.refresh_from_db()
    assert order.state == S.CUSTOMER_LINKED and not order.erp_order_number
    stale = order.erp_temporary_order_number
    assert stale and "did not process line 1" in order.last_error
    assert confirmed_orders(acme_erp) == before

    Order.objects.filter(pk=order.pk).update(next_attempt_at=None)  # the backoff has passed
    advance(order)

    order.refresh_from_db()
    assert order.state == S.IN_ERP
    assert erp_items(acme_erp, order) == [sku_of("acme", n) for n in range(3)]
    assert confirmed_orders(acme_erp) == before + 1
    assert "OIS100MI/DelBatchHead" in acme_erp.tap.m3_names()
    assert order.events.filter(step="erp_batch_discarded", upstream_ref=stale).exists()


def test_a_refused_line_sends_the_order_to_needs_attention_naming_it(acme_erp: World):
    acme_erp.sandbox.control("m3", "faults", bulk_stop_after=2)
    lines = [(sku_of("acme", 0), "1", "10.00"), ("NO-SUCH-ITEM", "1", "10.00"),
             (sku_of("acme", 1), "1", "10.00")]  # fmt: skip
    order = make_order(state=S.CUSTOMER_LINKED, erp_customer_number=CUSTOMER, lines=lines)
    before = confirmed_orders(acme_erp)

    advance(order)

    order.refresh_from_db()
    assert order.state == S.NEEDS_ATTENTION and not order.erp_order_number
    assert confirmed_orders(acme_erp) == before
    assert "OIS100MI/Confirm" not in acme_erp.tap.m3_names()
    assert "line 2 (SKU NO-SUCH-ITEM)" in order.state_message
    event = order.events.get(step=S.NEEDS_ATTENTION)
    assert event.outcome == OrderEvent.Outcome.ERROR
    assert "NO-SUCH-ITEM" in event.message and "field ITNO" in event.message


@pytest.mark.parametrize("faults", [{"error_top_level": 1}, {"error_in_200": 1}])
def test_an_erp_refusal_keeps_the_erps_words_on_the_timeline(acme_erp: World, faults):
    acme_erp.sandbox.control("m3", "faults", **faults)
    order = three_line_order(erp_customer_number="NOSUCHCUST")

    advance(order)

    order.refresh_from_db()
    assert order.state == S.NEEDS_ATTENTION
    words = acme_erp.direct_m3("acme")
    acme_erp.sandbox.control("m3", "faults", clear=True)
    with pytest.raises(M3TransactionError) as caught:
        words.execute("OIS100MI", "AddBatchHead", {"CUNO": "NOSUCHCUST"})
    m3_message = caught.value.message
    assert m3_message in order.state_message and "transaction failed" not in order.state_message
    event = order.events.get(step=S.NEEDS_ATTENTION)
    assert m3_message in event.message and "CUNO" in event.message


def test_string_flags_and_no_rows_errors_still_create_the_order(acme_erp: World):
    direct = acme_erp.direct_m3("acme")
    person = demo_data.erp_known_customers("acme")[1]
    [customer] = direct.search_customers(f"MAIL:{person.email}")  # a customer without orders
    acme_erp.sandbox.control("m3", "faults", string_flags=1, no_rows_error=1)
    with pytest.raises(M3TransactionError, match="Record does not exist"):
        direct.execute("OIS100MI", "LstHead", {"CUNO": customer.number}, as_list=False)
    order = three_line_order(erp_customer_number=customer.number)
    # An earlier attempt asked for a batch order and died: this one reads the customer's orders.
    OrderEvent.objects.create(order=order, step=BATCH_HEAD_REQUESTED, message="Opening.")

    advance(order)

    order.refresh_from_db()
    assert order.state == S.IN_ERP, order.state_message
    [listed] = [t for t in acme_erp.tap.m3() if t.name == "OIS100MI/LstHead"]
    assert listed.inputs["CUNO"] == customer.number  # answered XRE0103: none with our CUOR
    assert erp_items(acme_erp, order) == [sku_of("acme", n) for n in range(3)]
