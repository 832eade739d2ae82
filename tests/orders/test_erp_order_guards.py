"""The guards that make one hub order exactly one M3 order, however often the step runs.

`create_erp_orders` runs in-process against the sandbox's M3 over HTTP. Earlier attempts are
reproduced either by running the step and "crashing" before the hub recorded its result, or by
arranging the M3 side directly; the tap in front of the sandbox shows what M3 received.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.errors import M3TransactionError, UpstreamError
from connectors.m3 import NewM3OrderHead, NewM3OrderLine
from core.models import WorkAttempt
from orders.erp.batch_orders import (
    BATCH_HEAD_REQUESTED,
    ErpOrderRef,
    ErpRejected,
    abandoned_batches,
    create_erp_orders,
    customer_order_ref,
    discard_abandoned_batch,
)
from orders.models import Order, OrderEvent, OrderLine
from orders.pipeline import advance_orders
from sandbox import demo_data
from tenant_settings.connection_clients import erp_client
from tenant_settings.models import ConnectionSettings
from tests.support.world import World, connect_tenants, make_order, sku_of, start_world

CUSTOMER = demo_data.tenant("acme").default_customer
BUILD = [
    "OIS100MI/AddBatchHead",
    "OIS100MI/AddBatchAddress",
    "OIS100MI/AddBatchLine",
    "OIS100MI/Confirm",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_erp(world: World, db, no_upstream_call_in_a_transaction) -> Iterator[World]:
    """Both tenants point at the tap; the test body runs in acme's schema; an M3 call inside
    an open transaction fails the test."""
    world.calm()
    connect_tenants(world)
    with schema_context("acme"):
        yield world


def linked_order(**fields) -> Order:
    """An order whose customer is linked: the ERP step is next."""
    return make_order(state=Order.State.CUSTOMER_LINKED, erp_customer_number=CUSTOMER, **fields)


def create(order: Order) -> ErpOrderRef:
    """The ERP step for this one order, raising what it failed with."""
    settings = ConnectionSettings.load()
    result = create_erp_orders([order], erp_client(settings), settings)[order.pk]
    if isinstance(result, Exception):
        raise result
    return result


def m3_counts(world: World) -> tuple[int, int]:
    """(confirmed orders, open batch orders) in every M3 of the sandbox."""
    m3 = world.status()["m3"]
    return m3["erp_orders"], m3["erp_batch_orders_open"]


def test_an_order_whose_erp_number_is_recorded_makes_no_call(acme_erp: World):
    order = linked_order(erp_order_number="4711")

    assert create(order) == ErpOrderRef("4711", "already recorded")
    assert acme_erp.tap.calls("m3") == []


def test_a_first_attempt_makes_three_m3_calls_and_no_search(acme_erp: World):
    order = linked_order()

    ref = create(order)

    assert ref.how == "created"
    m3_api_calls = [c for c in acme_erp.tap.calls("m3") if "/M3/m3api-rest/" in c.path]
    assert len(m3_api_calls) == 3  # the OAuth token is ION's, not an M3 call
    assert acme_erp.tap.m3_names() == BUILD
    steps = [e.step for e in order.events.all()]
    assert steps.index(BATCH_HEAD_REQUESTED) < steps.index("erp_batch_head")


def lost_on_the_way_back(call) -> dict | None:
    """`AddBatchHead` reaches nobody the hub hears from: the worker sees only an error."""
    if call.upstream == "m3" and any(t.name.endswith("/AddBatchHead") for t in call.transactions):
        return {"error": "connection reset"}
    return None


def test_a_retry_after_a_crash_at_add_batch_head_finds_the_order_by_cuor(acme_erp: World):
    order = linked_order()
    ref = customer_order_ref(order)
    acme_erp.tap.refuse(lost_on_the_way_back, status=503)
    with pytest.raises(UpstreamError):
        create(order)
    assert Order.objects.get(pk=order.pk).erp_temporary_order_number == ""
    # What the lost attempt may have left in M3: an order under the hub order's CUOR.
    direct = acme_erp.direct_m3("acme")
    temporary = direct.add_batch_head(NewM3OrderHead(CUSTOMER, customer_order_ref=ref))
    direct.add_batch_lines(temporary, [NewM3OrderLine(sku_of("acme"), Decimal(1))])
    existing = direct.confirm_order(temporary)
    acme_erp.calm()
    acme_erp.tap.clear()
    counts_before = m3_counts(acme_erp)

    adopted = create(Order.objects.get(pk=order.pk))

    assert adopted == ErpOrderRef(existing, f"found by CUOR {ref}")
    [listed] = acme_erp.tap.m3()  # the customer's orders, a table read (search lags)
    assert (listed.name, listed.inputs["CUNO"]) == ("OIS100MI/LstHead", CUSTOMER)
    assert m3_counts(acme_erp) == counts_before  # no AddBatchHead, nothing confirmed


def test_a_batch_confirmed_before_a_restart_is_adopted(acme_erp: World):
    order = linked_order()
    first = create(order)
    assert first.how == "created"
    assert acme_erp.tap.m3_names() == BUILD
    # The worker died before the pipeline recorded the ERP order number.
    restarted = Order.objects.get(pk=order.pk)
    temporary = restarted.erp_temporary_order_number
    assert temporary and restarted.erp_order_number == ""
    acme_erp.tap.clear()
    counts_before = m3_counts(acme_erp)

    again = create(restarted)

    assert again == ErpOrderRef(first.order_number, "confirmed before a restart")
    [lookup] = acme_erp.tap.m3()
    assert (lookup.name, lookup.inputs["ORNO"]) == ("OIS100MI/GetOrderNo", temporary)
    assert m3_counts(acme_erp) == counts_before


def test_an_unconfirmed_batch_from_an_earlier_attempt_is_deleted_and_rebuilt(acme_erp: World):
    confirmed_at_start, open_at_start = m3_counts(acme_erp)
    order = linked_order(lines=[("NO-SUCH-ITEM", "1", "5.00")])
    with pytest.raises(ErpRejected, match="NO-SUCH-ITEM"):
        create(order)
    stale = Order.objects.get(pk=order.pk).erp_temporary_order_number
    assert stale
    assert m3_counts(acme_erp) == (confirmed_at_start, open_at_start + 1)
    # Somebody binds the SKU to a real item, then the order is retried.
    OrderLine.objects.filter(order=order).update(sku=sku_of("acme"))
    retried = Order.objects.get(pk=order.pk)
    acme_erp.tap.clear()

    ref = create(retried)

    assert ref.how == "created"
    calls = acme_erp.tap.m3()
    rebuild = ["OIS100MI/LstHead", *BUILD]  # the CUOR guard, then the build
    assert [c.name for c in calls] == ["OIS100MI/GetOrderNo", "OIS100MI/DelBatchHead", *rebuild]
    assert calls[0].inputs["ORNO"] == calls[1].inputs["ORNO"] == stale
    assert calls[2].inputs["CUNO"] == CUSTOMER
    rebuilt = Order.objects.get(pk=order.pk).erp_temporary_order_number
    assert rebuilt and rebuilt != stale
    assert m3_counts(acme_erp) == (confirmed_at_start + 1, open_at_start)
    with pytest.raises(M3TransactionError, match="does not exist"):
        acme_erp.direct_m3("acme").final_order_number(stale)
    steps = list(order.events.values_list("step", "outcome", "upstream_ref"))
    discarded = ("erp_batch_discarded", OrderEvent.Outcome.WARNING, stale)
    assert discarded in steps
    assert steps.index(discarded) < steps.index(("erp_batch_head", "info", rebuilt))


def test_a_temporary_number_whose_batch_is_gone_is_rebuilt(acme_erp: World):
    order = linked_order(lines=[("NO-SUCH-ITEM", "1", "5.00")])
    with pytest.raises(ErpRejected):
        create(order)
    stale = Order.objects.get(pk=order.pk).erp_temporary_order_number
    # The retry's DelBatchHead reached M3, then the worker died before forgetting the number.
    acme_erp.direct_m3("acme").execute("OIS100MI", "DelBatchHead", {"ORNO": stale})
    OrderLine.objects.filter(order=order).update(sku=sku_of("acme"))

    ref = create(Order.objects.get(pk=order.pk))

    assert ref.how == "created"
    assert Order.objects.get(pk=order.pk).erp_temporary_order_number not in ("", stale)


def search_index_lags(call) -> dict | None:
    """M3's search index has not caught up: SearchHead finds nothing yet."""
    if (
        call.upstream == "m3"
        and call.transactions
        and call.transactions[0].name.endswith("/SearchHead")
    ):
        return {"results": [{"transaction": "SearchHead", "records": []}]}
    return None


def test_a_rebuild_finds_an_order_the_search_index_does_not_show_yet(acme_erp: World):
    order = linked_order()
    ref = customer_order_ref(order)
    direct = acme_erp.direct_m3("acme")
    gone = direct.add_batch_head(NewM3OrderHead(CUSTOMER, customer_order_ref="HUB-OTHER"))
    direct.execute("OIS100MI", "DelBatchHead", {"ORNO": gone})
    temporary = direct.add_batch_head(NewM3OrderHead(CUSTOMER, customer_order_ref=ref))
    direct.add_batch_lines(temporary, [NewM3OrderLine(sku_of("acme"), Decimal(1))])
    existing = direct.confirm_order(temporary)
    # The hub lost track: its stored batch number is one M3 no longer has.
    Order.objects.filter(pk=order.pk).update(erp_temporary_order_number=gone)
    acme_erp.tap.refuse(search_index_lags, status=200)
    counts_before = m3_counts(acme_erp)

    adopted = create(Order.objects.get(pk=order.pk))

    assert adopted == ErpOrderRef(existing, f"found by CUOR {ref}")
    assert "OIS100MI/LstHead" in acme_erp.tap.m3_names()
    assert "OIS100MI/AddBatchHead" not in acme_erp.tap.m3_names()
    assert m3_counts(acme_erp) == counts_before


def test_a_cancelled_or_long_parked_order_gives_its_open_batch_order_back(acme_erp: World):
    confirmed_at_start, open_at_start = m3_counts(acme_erp)
    refused = linked_order(lines=[("NO-SUCH-ITEM", "1", "5.00")])
    cancelled = linked_order(lines=[("NO-SUCH-ITEM", "1", "5.00")])
    for order in (refused, cancelled):
        with pytest.raises(ErpRejected):
            create(order)
    assert m3_counts(acme_erp) == (confirmed_at_start, open_at_start + 2)
    Order.objects.filter(pk=refused.pk).update(state=Order.State.NEEDS_ATTENTION)
    Order.objects.filter(pk=cancelled.pk).update(state=Order.State.CANCELLED)

    due = set(abandoned_batches(timedelta(hours=1)).values_list("pk", flat=True))
    assert cancelled.pk in due and refused.pk not in due  # a person may still retry it
    Order.objects.filter(pk=refused.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    assert {refused.pk, cancelled.pk} <= set(
        abandoned_batches(timedelta(hours=1)).values_list("pk", flat=True)
    )

    erp = erp_client(ConnectionSettings.load())
    assert [discard_abandoned_batch(o.pk, erp) for o in (refused, cancelled)] == ["discarded"] * 2
    assert discard_abandoned_batch(cancelled.pk, erp) == "nothing to discard"

    assert m3_counts(acme_erp) == (confirmed_at_start, open_at_start)
    for order in (refused, cancelled):
        order.refresh_from_db()
        assert order.erp_temporary_order_number == ""
        assert order.events.filter(step="erp_batch_discarded").exists()


def m3_api_calls(world: World) -> list:
    return [c for c in world.tap.calls("m3") if "/M3/m3api-rest/" in c.path]


def test_orders_due_together_are_built_with_three_bulk_calls_whatever_their_number(
    acme_erp: World,
):
    orders = [
        linked_order(lines=[(sku_of("acme", n), "1", "10.00"), (sku_of("acme", n + 1), "2", "5")])
        for n in range(5)
    ]
    erp_before, _ = m3_counts(acme_erp)

    outcomes = advance_orders([orders[0].pk])  # the others are due too: the batch takes them

    assert outcomes == {order.pk: Order.State.IN_ERP for order in orders}
    calls = m3_api_calls(acme_erp)
    assert [sorted({t.name for t in call.transactions}) for call in calls] == [
        ["OIS100MI/AddBatchHead"],
        ["OIS100MI/AddBatchAddress", "OIS100MI/AddBatchLine"],
        ["OIS100MI/Confirm"],
    ]
    assert [len(call.transactions) for call in calls] == [5, 5 * 3, 5]
    numbers = set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list(
        "erp_order_number", flat=True))  # fmt: skip
    assert len(numbers) == 5 and "" not in numbers
    assert m3_counts(acme_erp)[0] == erp_before + 5
    direct = acme_erp.direct_m3("acme")
    for n, order in enumerate(orders):
        order.refresh_from_db()
        assert [line.item_number for line in direct.order_lines(order.erp_order_number)] == [
            sku_of("acme", n),
            sku_of("acme", n + 1),
        ]
    attempts = WorkAttempt.objects.filter(kind="orders.order", item_id__in=[o.pk for o in orders])
    assert sorted(attempts.values_list("outcome", flat=True)) == ["succeeded"] * 5


def test_a_refused_line_stops_only_its_own_order_in_a_batch(acme_erp: World):
    good, bad, other = (
        linked_order(lines=[(sku_of("acme", 0), "1", "10.00")]),
        linked_order(lines=[(sku_of("acme", 0), "1", "10.00"), ("NO-SUCH-ITEM", "1", "1.00")]),
        linked_order(lines=[(sku_of("acme", 1), "1", "10.00")]),
    )

    advance_orders([good.pk, bad.pk, other.pk])

    states = dict(Order.objects.filter(pk__in=[good.pk, bad.pk, other.pk]).values_list(
        "pk", "state"))  # fmt: skip
    assert states == {
        good.pk: Order.State.IN_ERP,
        bad.pk: Order.State.NEEDS_ATTENTION,
        other.pk: Order.State.IN_ERP,
    }
    bad.refresh_from_db()
    assert "line 2 (SKU NO-SUCH-ITEM)" in bad.state_message
    assert not bad.erp_order_number and bad.erp_temporary_order_number
    confirmed = [t.inputs["ORNO"] for t in acme_erp.tap.m3() if t.name == "OIS100MI/Confirm"]
    assert bad.erp_temporary_order_number not in confirmed and len(confirmed) == 2


def test_a_head_m3_did_not_get_to_is_searched_for_then_built_once(acme_erp: World):
    first, second = linked_order(), linked_order()
    erp_before, _ = m3_counts(acme_erp)
    acme_erp.sandbox.control("m3", "faults", bulk_stop_after=1)  # each bulk run stops after one

    advance_orders([first.pk, second.pk])

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == Order.State.IN_ERP
    assert second.state == Order.State.CUSTOMER_LINKED
    assert "AddBatchHead was not processed" in second.last_error
    assert m3_counts(acme_erp)[0] == erp_before + 1

    acme_erp.calm()
    acme_erp.tap.clear()
    Order.objects.filter(pk=second.pk).update(next_attempt_at=None)  # the backoff has passed
    advance_orders([second.pk])

    second.refresh_from_db()
    assert second.state == Order.State.IN_ERP and second.erp_order_number
    names = acme_erp.tap.m3_names()
    assert names[0] == "OIS100MI/LstHead"  # an earlier attempt asked for a batch head
    assert names.count("OIS100MI/Confirm") == 1
    assert m3_counts(acme_erp)[0] == erp_before + 2
    requested = second.events.filter(step=BATCH_HEAD_REQUESTED).count()
    assert requested == 2


def test_confirms_a_run_did_not_get_to_are_sent_again_not_rebuilt(acme_erp: World):
    orders = [linked_order() for _ in range(3)]
    erp_before, open_before = m3_counts(acme_erp)

    def stop_confirm_runs_after_one(call) -> None:
        """From the first `Confirm` run on, M3 stops every bulk run after one transaction."""
        if any(t.name == "OIS100MI/Confirm" for t in call.transactions):
            acme_erp.sandbox.control("m3", "faults", bulk_stop_after=1)
        return None  # relay it

    acme_erp.tap.refuse(stop_confirm_runs_after_one)
    outcomes = advance_orders([order.pk for order in orders])

    assert outcomes == {order.pk: Order.State.IN_ERP for order in orders}
    confirm_runs = [c for c in m3_api_calls(acme_erp) if c.transactions[0].name.endswith("Confirm")]
    assert [len(call.transactions) for call in confirm_runs] == [3, 2, 1]
    assert "OIS100MI/DelBatchHead" not in acme_erp.tap.m3_names()
    assert m3_counts(acme_erp) == (erp_before + 3, open_before)
