"""Parts of a store order split between tenants: progress kept in public, states only, and each
tenant seeing the other parts as counts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from orders import state
from orders.models import Order
from tenants.models import Store, StoreMembership, StoreOrderPart, Tenant
from tenants.store_order_parts import other_parts_summary, record_parts, record_progress
from tests.support.world import make_order

S = Order.State
PART_TABLE = StoreOrderPart._meta.db_table


@pytest.fixture
def shared_store(store: Store, acme: Tenant, globex: Tenant) -> Store:
    for tenant in (acme, globex):
        StoreMembership.objects.create(store=store, tenant=tenant)
    return store


def part_order(slug: str, store: Store, store_order_id: str, order_state: str) -> Order:
    with schema_context(slug):
        return make_order(
            slug=slug, store=store, source=Order.Source.WEBHOOK, store_order_id=store_order_id,
            order_number=f"#{store_order_id}", state=order_state,
        )  # fmt: skip


def parts_of(store: Store, store_order_id: str) -> dict[str, str]:
    rows = StoreOrderPart.objects.filter(store=store, store_order_id=store_order_id)
    return dict(rows.values_list("tenant__slug", "state"))


def test_parts_are_recorded_once_and_follow_their_orders_moves(shared_store, acme, globex):
    record_parts(shared_store.pk, "SO-1", [acme.pk, globex.pk])
    acme_order = part_order("acme", shared_store, "SO-1", S.SENT_TO_SHIPSTATION)
    globex_order = part_order("globex", shared_store, "SO-1", S.SENT_TO_SHIPSTATION)

    with schema_context("acme"):
        state.move(acme_order, S.PARTIALLY_SHIPPED, message="first parcel")
    with schema_context("globex"):
        state.move_many([globex_order], S.SHIPPED, message="shipped")
    record_parts(shared_store.pk, "SO-1", [acme.pk, globex.pk])  # a replayed webhook

    assert parts_of(shared_store, "SO-1") == {"acme": "partially_shipped", "globex": "shipped"}


def test_a_store_order_of_one_part_is_not_recorded(shared_store, acme):
    record_parts(shared_store.pk, "SO-2", [acme.pk, acme.pk])
    assert parts_of(shared_store, "SO-2") == {}


def test_a_finished_part_stays_finished(shared_store, acme, globex):
    record_parts(shared_store.pk, "SO-3", [acme.pk, globex.pk])
    with schema_context("acme"):
        assert record_progress([(shared_store.pk, "SO-3")], S.INVOICED) == 1
        assert record_progress([(shared_store.pk, "SO-3")], S.SHIPPED) == 0
    assert parts_of(shared_store, "SO-3") == {"acme": "invoiced", "globex": "routed"}


def test_each_tenant_sees_the_other_parts_as_counts_only(shared_store, acme, globex):
    record_parts(shared_store.pk, "SO-4", [acme.pk, globex.pk])
    acme_order = part_order("acme", shared_store, "SO-4", S.SENT_TO_SHIPSTATION)
    globex_order = part_order("globex", shared_store, "SO-4", S.SENT_TO_SHIPSTATION)

    with schema_context("acme"):
        assert other_parts_summary(acme_order) == "0 of 1 other part shipped"
        state.move(acme_order, S.SHIPPED, message="shipped")
        state.move(acme_order, S.INVOICED, message="paid")
    with schema_context("globex"):
        seen_by_globex = other_parts_summary(globex_order)
        state.move(globex_order, S.PARTIALLY_SHIPPED, message="first parcel")
    with schema_context("acme"):
        seen_by_acme = other_parts_summary(acme_order)

    assert seen_by_globex == "1 of 1 other part shipped (1 invoiced)"
    assert seen_by_acme == "0 of 1 other part shipped (1 partially shipped)"
    for words in (seen_by_globex, seen_by_acme):
        assert "acme" not in words.lower() and "globex" not in words.lower()


def test_no_summary_without_a_part_of_ones_own(shared_store, globex):
    """A tenant learns nothing of a store order it holds no part of, nor does public."""
    StoreOrderPart.objects.create(store=shared_store, store_order_id="SO-5", tenant=globex)

    @dataclass
    class Guess:
        store_id: int | None
        store_order_id: str

    with schema_context("acme"):
        assert other_parts_summary(Guess(shared_store.pk, "SO-5")) == ""
        assert other_parts_summary(Guess(None, "SO-5")) == ""
    assert other_parts_summary(Guess(shared_store.pk, "SO-5")) == ""  # public schema


def test_the_parts_are_not_offered_in_a_tenants_admin(acme_admin, shared_store, globex):
    StoreOrderPart.objects.create(store=shared_store, store_order_id="SO-6", tenant=globex)
    assert acme_admin.get("/admin/tenants/storeorderpart/").status_code == 404


def test_a_single_tenant_store_order_costs_one_statement_and_a_storeless_one_none(store, acme):
    StoreMembership.objects.create(store=store, tenant=acme)
    on_store = part_order("acme", store, "SO-7", S.SENT_TO_SHIPSTATION)
    with schema_context("acme"):
        storeless = make_order(state=S.SENT_TO_SHIPSTATION)
        with CaptureQueriesContext(connection) as on_store_queries:
            state.move(on_store, S.SHIPPED, message="shipped")
        with CaptureQueriesContext(connection) as storeless_queries:
            state.move(storeless, S.SHIPPED, message="shipped")

    def touching_parts(queries: CaptureQueriesContext) -> list[str]:
        return [q["sql"] for q in queries.captured_queries if PART_TABLE in q["sql"]]

    assert len(touching_parts(on_store_queries)) == 1
    assert touching_parts(on_store_queries)[0].startswith("UPDATE")
    assert touching_parts(storeless_queries) == []
