"""A batch whose worker died in the middle of building its ERP orders is recovered in bulk.

However many orders it held, the recovery reads M3 with at most three bulk calls (`GetOrderNo`,
`DelBatchHead`, one `LstHead` per customer), then the batch is built with the usual three. An
`AddBatchHead` whose answer was lost may have left batch orders the hub cannot see: those orders
are flagged for a person. The worker's death is real: M3 runs the call, the process never reads
the answer and nothing after it happens (the client raises what `except Exception` cannot catch).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from connectors.errors import UpstreamError
from connectors.m3 import BulkResult, BulkTransaction, M3Client
from orders.erp.batch_orders import (
    BATCH_HEAD_NOT_OPENED,
    BATCH_UNKNOWN,
    ErpOrderRef,
    create_erp_orders,
    customer_order_ref,
)
from orders.models import Order
from orders.pipeline import advance_orders
from sandbox import demo_data
from tenant_settings.connection_clients import erp_client
from tenant_settings.models import ConnectionSettings
from tests.support.world import World, connect_tenants, make_order, start_world

CUSTOMER = demo_data.tenant("acme").default_customer


class WorkerKilled(BaseException):
    """The worker process died: nothing of the step runs after it."""


class DiesDuring:
    """The M3 client of a worker killed while `transaction`'s bulk call was on its way back:
    M3 ran the first `reached` transactions (all by default), the worker read no answer."""

    def __init__(self, erp: M3Client, transaction: str, reached: int | None = None) -> None:
        self._erp, self._transaction, self._reached = erp, transaction, reached

    def __getattr__(self, name: str) -> Any:
        return getattr(self._erp, name)

    def execute_bulk(
        self, program: str, transactions: Iterable[BulkTransaction], **kwargs: Any
    ) -> list[BulkResult]:
        sent = list(transactions)
        if sent and sent[0].transaction == self._transaction:
            self._erp.execute_bulk(program, sent[: self._reached], **kwargs)
            raise WorkerKilled
        return self._erp.execute_bulk(program, sent, **kwargs)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_erp(world: World, db, no_upstream_call_in_a_transaction) -> Iterator[World]:
    world.calm()
    connect_tenants(world)
    with schema_context("acme"):
        yield world


def linked_orders(count: int, customers: tuple[str, ...] = (CUSTOMER,)) -> list[Order]:
    """Orders whose customers are linked (taken in turn): the ERP step is next."""
    return [
        make_order(
            state=Order.State.CUSTOMER_LINKED, erp_customer_number=customers[n % len(customers)]
        )
        for n in range(count)
    ]


def killed_during(world: World, orders: list[Order], transaction: str, reached: int | None = None):
    """An attempt at the orders' ERP step whose worker dies during `transaction`'s bulk call."""
    settings = ConnectionSettings.load()
    with pytest.raises(WorkerKilled):
        create_erp_orders(orders, DiesDuring(erp_client(settings), transaction, reached), settings)
    world.tap.clear()


def m3_counts(world: World) -> tuple[int, int]:
    """(confirmed orders, open batch orders) in every M3 of the sandbox."""
    m3 = world.status()["m3"]
    return m3["erp_orders"], m3["erp_batch_orders_open"]


def m3_calls(world: World) -> list[list[str]]:
    """Each M3 HTTP call (the ION token is not one) as the transactions it carried."""
    return [
        [t.name.removeprefix("OIS100MI/") for t in call.transactions]
        for call in world.tap.calls("m3")
        if "/M3/m3api-rest/" in call.path
    ]


def other_customers(world: World, count: int) -> tuple[str, ...]:
    """Customers acme's M3 already has, besides the web shop's default one."""
    direct = world.direct_m3("acme")
    people = demo_data.erp_known_customers("acme")[:count]
    return tuple(direct.search_customers(f"MAIL:{p.email}")[0].number for p in people)


def flagged(orders: list[Order]) -> set[int]:
    pks = [order.pk for order in orders]
    return set(
        Order.objects.filter(pk__in=pks, erp_batch_check_since__isnull=False).values_list(
            "pk", flat=True
        )
    )


def test_a_batch_killed_during_add_batch_head_is_recovered_with_one_bulk_read(acme_erp: World):
    customers = (CUSTOMER, *other_customers(acme_erp, 2))
    orders = linked_orders(20, customers)
    confirmed_before, open_before = m3_counts(acme_erp)
    killed_during(acme_erp, orders, "AddBatchHead")
    assert m3_counts(acme_erp) == (confirmed_before, open_before + 20)  # numbers the hub never saw

    outcomes = advance_orders([order.pk for order in orders])

    assert outcomes == {order.pk: Order.State.IN_ERP for order in orders}
    calls = m3_calls(acme_erp)
    recovery, build = calls[:-3], calls[-3:]
    assert recovery == [["LstHead"] * 3]  # one read per customer, all in one bulk call: ≤ 3
    assert [sorted(set(call)) for call in build] == [
        ["AddBatchHead"],
        ["AddBatchAddress", "AddBatchLine"],
        ["Confirm"],
    ]
    assert [len(call) for call in build] == [20, 20 * 2, 20]
    listed = [t.inputs["CUNO"] for t in acme_erp.tap.m3() if t.name == "OIS100MI/LstHead"]
    assert sorted(listed) == sorted(customers)
    # Nothing in the contract lists batch orders: the lost ones stay, for a person to delete.
    assert m3_counts(acme_erp) == (confirmed_before + 20, open_before + 20)
    assert flagged(orders) == {order.pk for order in orders}
    for order in orders:
        [unknown] = order.events.filter(step=BATCH_UNKNOWN)
        assert unknown.outcome == "warning" and unknown.upstream_ref == customer_order_ref(order)
        assert f"customer order no. {customer_order_ref(order)}" in unknown.message
        assert "OIS100" in unknown.message


def test_a_batch_killed_during_confirm_is_recovered_with_three_bulk_calls(acme_erp: World):
    orders = linked_orders(10)
    confirmed_before, open_before = m3_counts(acme_erp)
    killed_during(acme_erp, orders, "Confirm", reached=4)
    assert m3_counts(acme_erp) == (confirmed_before + 4, open_before + 6)

    results = erp_step(orders)

    calls = m3_calls(acme_erp)
    assert calls == [
        ["GetOrderNo"] * 10,
        ["DelBatchHead"] * 6,
        ["LstHead"],
        ["AddBatchHead"] * 6,
        ["AddBatchAddress", "AddBatchLine"] * 6,
        ["Confirm"] * 6,
    ]
    hows = sorted(result.how for result in results.values() if isinstance(result, ErpOrderRef))
    assert hows == ["confirmed before a restart"] * 4 + ["created"] * 6
    assert m3_counts(acme_erp) == (confirmed_before + 10, open_before)  # every number was known
    assert flagged(orders) == set()


def erp_step(orders: list[Order]) -> dict[int, object]:
    """One attempt at the orders' ERP step, as a worker runs it (the orders read afresh)."""
    settings = ConnectionSettings.load()
    fresh = list(Order.objects.filter(pk__in=[order.pk for order in orders]).order_by("pk"))
    return create_erp_orders(fresh, erp_client(settings), settings)


def test_only_a_request_that_got_no_answer_is_flagged_though_both_are_searched(acme_erp: World):
    first, skipped = linked_orders(2)
    acme_erp.sandbox.control("m3", "faults", bulk_stop_after=1)  # M3 answers: not processed
    assert "AddBatchHead was not processed" in str(erp_step([first, skipped])[skipped.pk])
    acme_erp.calm()
    [lost] = linked_orders(1)
    killed_during(acme_erp, [lost], "AddBatchHead")

    results = erp_step([skipped, lost])

    assert {pk: getattr(r, "how", r) for pk, r in results.items()} == {
        skipped.pk: "created",
        lost.pk: "created",
    }
    assert m3_calls(acme_erp)[0] == ["LstHead"]  # both searched, one customer: one read
    assert flagged([first, skipped, lost]) == {lost.pk}
    assert skipped.events.filter(step=BATCH_HEAD_NOT_OPENED).exists()
    assert not skipped.events.filter(step=BATCH_UNKNOWN).exists()


def lists_refused(call) -> dict | None:
    if call.upstream == "m3" and any(t.name.endswith("/LstHead") for t in call.transactions):
        return {"error": "gateway timeout"}
    return None


def test_a_recovery_read_that_fails_keeps_one_flag_and_retries(acme_erp: World):
    [order] = linked_orders(1)
    killed_during(acme_erp, [order], "AddBatchHead")
    settings = ConnectionSettings.load()
    acme_erp.tap.refuse(lists_refused, status=503)

    [failed] = create_erp_orders([order], erp_client(settings), settings).values()

    assert isinstance(failed, UpstreamError)
    assert "OIS100MI/AddBatchHead" not in acme_erp.tap.m3_names()
    assert flagged([order]) == {order.pk}
    acme_erp.calm()
    [created] = create_erp_orders([order], erp_client(settings), settings).values()
    assert isinstance(created, ErpOrderRef) and created.how == "created"
    assert order.events.filter(step=BATCH_UNKNOWN).count() == 1


def recovery_statements(world: World, size: int) -> int:
    orders = linked_orders(size)
    killed_during(world, orders, "AddBatchHead")
    settings = ConnectionSettings.load()
    erp = erp_client(settings)
    held = list(Order.objects.filter(pk__in=[o.pk for o in orders]))
    with CaptureQueriesContext(connection) as statements:
        create_erp_orders(held, erp, settings)
    return len(statements)


def test_the_recovery_s_sql_statements_do_not_grow_with_the_batch(acme_erp: World):
    assert recovery_statements(acme_erp, 2) == recovery_statements(acme_erp, 12)
