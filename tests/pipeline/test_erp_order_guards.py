"""The guards that make one hub order exactly one M3 order, however often the step runs.

`create_erp_order` runs in-process against the sandbox's M3 over HTTP. Earlier attempts are
reproduced either by running the step and "crashing" before the hub recorded its result, or by
arranging the M3 side directly; the tap in front of the sandbox shows what M3 received.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from integration_hub.connectors.errors import M3TransactionError
from integration_hub.connectors.m3 import NewM3OrderHead, NewM3OrderLine
from orders.erp_orders import ErpOrderRef, ErpRejected, create_erp_order, customer_order_ref
from orders.models import Order, OrderEvent, OrderLine
from sandbox import demo_data
from tenant_settings.connection_clients import erp_client
from tenant_settings.models import ConnectionSettings
from tests.pipeline.world import World, connect_tenants, make_order, sku_of, start_world

CUSTOMER = demo_data.tenant("acme").default_customer
BUILD = [
    "OIS100MI/SearchHead",
    "OIS100MI/AddBatchHead",
    "OIS100MI/AddBatchAddress",
    "OIS100MI/AddBatchLine",
    "OIS100MI/Confirm",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_erp(world: World, db) -> Iterator[World]:
    """Both tenants point at the tap; the test body runs in acme's schema."""
    world.calm()
    connect_tenants(world)
    with schema_context("acme"):
        yield world


def linked_order(**fields) -> Order:
    """An order whose customer is linked: the ERP step is next."""
    return make_order(state=Order.State.CUSTOMER_LINKED, erp_customer_number=CUSTOMER, **fields)


def create(order: Order) -> ErpOrderRef:
    settings = ConnectionSettings.load()
    return create_erp_order(order, erp_client(settings), settings)


def m3_counts(world: World) -> tuple[int, int]:
    """(confirmed orders, open batch orders) in every M3 of the sandbox."""
    m3 = world.status()["m3"]
    return m3["erp_orders"], m3["erp_batch_orders_open"]


def test_an_order_whose_erp_number_is_recorded_makes_no_call(acme_erp: World):
    order = linked_order(erp_order_number="4711")

    assert create(order) == ErpOrderRef("4711", "already recorded")
    assert acme_erp.tap.calls("m3") == []


def test_an_order_already_in_the_erp_under_its_cuor_is_adopted(acme_erp: World):
    order = linked_order()
    ref = customer_order_ref(order)
    direct = acme_erp.direct_m3("acme")
    temporary = direct.add_batch_head(NewM3OrderHead(CUSTOMER, customer_order_ref=ref))
    direct.add_batch_lines(temporary, [NewM3OrderLine(sku_of("acme"), Decimal(1))])
    existing = direct.confirm_order(temporary)
    counts_before = m3_counts(acme_erp)

    adopted = create(order)

    assert adopted == ErpOrderRef(existing, f"found by CUOR {ref}")
    assert ref == f"HUB{order.pk}"
    [search] = acme_erp.tap.m3()
    assert search.name == "OIS100MI/SearchHead"
    assert search.inputs["SQRY"] == f'CUOR:"{ref}" AND CUNO:{CUSTOMER}'
    assert m3_counts(acme_erp) == counts_before  # no AddBatchHead, nothing confirmed
    assert Order.objects.get(pk=order.pk).erp_temporary_order_number == ""


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
    assert [c.name for c in calls] == ["OIS100MI/GetOrderNo", "OIS100MI/DelBatchHead", *BUILD]
    assert calls[0].inputs["ORNO"] == calls[1].inputs["ORNO"] == stale
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
