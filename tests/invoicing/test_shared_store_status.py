"""A store order split between tenants gets its store status once, when every part is invoiced.

Each tenant's part is invoiced on its own; the first one's status update waits, the last one's
writes the store status (through the sandbox's API2Cart), and the waiting ones end as sent by
another part. Two parts invoiced at the same moment still make one `order.update`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from core.models import WorkAttempt
from demo.seed import connect_store
from invoicing import services
from invoicing.models import Invoice, StoreStatusMapping, StoreStatusUpdate
from orders import state
from orders.models import Order
from sandbox import demo_data
from tenants.models import Api2CartAccount, Store, StoreOrderPart, Tenant
from tenants.store_clients import api2cart_for_store
from tenants.store_order_parts import other_parts_summary, record_parts
from tests.support.world import World, make_order, start_world

S = Order.State
U = StoreStatusUpdate.State
SLUGS = ("acme", "globex")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@dataclass
class SharedOrder:
    """One store order on the shared store, as its two tenants' parts."""

    store: Store
    reference: str
    """The store's id of the order (`store_order_id`)."""
    number: str
    """The store-facing order number, which `order.update` names."""
    parts: dict[str, Order]


def shared_store(world: World) -> Store:
    account, _ = Api2CartAccount.objects.update_or_create(
        name="sandbox",
        defaults={
            "base_url": world.sandbox.api_url("api2cart"),
            "api_key": demo_data.API2CART_API_KEY,
        },
    )
    store = connect_store(demo_data.store("northwind"), account)
    for slug in SLUGS:
        with schema_context(slug):
            StoreStatusMapping.objects.get_or_create(
                store_id=store.pk, defaults={"invoiced_status": "Completed"}
            )
    return store


def split_order(world: World, store: Store, *, states: dict[str, str]) -> SharedOrder:
    """A store order placed in the sandbox, routed as one part per tenant, parts recorded."""
    [placed] = world.sandbox.control("api2cart", "place-orders", store="northwind", count=1)[
        "orders"
    ]
    parts = {}
    for slug, order_state in states.items():
        with schema_context(slug):
            parts[slug] = make_order(
                slug=slug, store=store, source=Order.Source.WEBHOOK,
                store_order_id=str(placed["id"]), order_number=str(placed["order_id"]),
                state=order_state,
            )  # fmt: skip
    tenants = Tenant.objects.filter(slug__in=states).values_list("pk", flat=True)
    record_parts(store.pk, str(placed["id"]), list(tenants))
    return SharedOrder(store, str(placed["id"]), str(placed["order_id"]), parts)


@pytest.fixture
def store(world: World, db) -> Store:
    world.calm()
    return shared_store(world)


def status_updates(world: World) -> int:
    return world.status()["api2cart"]["order_status_updates"]


def invoice(shared: SharedOrder, slug: str) -> StoreStatusUpdate:
    """The tenant's part is paid: Invoiced, with its store status update (not yet run)."""
    order = shared.parts[slug]
    with schema_context(slug):
        Invoice.objects.create(
            order=order, erp_invoice_number=f"8{order.pk}", year=2026, amount=Decimal("10"),
            remaining_amount=Decimal("0"),
        )  # fmt: skip
        assert services.settle(order)
        return StoreStatusUpdate.objects.get(order=order)


def push(slug: str, update: StoreStatusUpdate) -> StoreStatusUpdate:
    """The worker's run of the update, in its tenant's schema."""
    with schema_context(slug):
        services.push_store_status(update.pk)
        return StoreStatusUpdate.objects.get(pk=update.pk)


def store_status(shared: SharedOrder) -> str:
    return api2cart_for_store(shared.store).order_status(shared.number).id


def test_the_first_part_waits_and_the_last_writes_the_store_status_once(world, store):
    shared = split_order(world, store, states={"acme": S.SHIPPED, "globex": S.SHIPPED})
    before = status_updates(world)

    first = push("acme", invoice(shared, "acme"))

    assert status_updates(world) == before
    assert first.state == U.WAITING
    assert first.comment == (
        "1 of 2 parts invoiced; the store status is written when every part is."
    )
    assert store_status(shared) != "Completed"
    assert push("acme", first).state == U.WAITING  # not work: nothing to claim, nothing sent

    last = push("globex", invoice(shared, "globex"))

    assert status_updates(world) == before + 1
    assert (last.state, last.order_status) == (U.SENT, "Completed"), last.last_error
    assert store_status(shared) == "Completed"
    with schema_context("acme"):
        first.refresh_from_db()
        assert first.state == U.SENT_BY_OTHER_PART
        assert first.order.events.filter(step="store_status").count() == 2
        assert other_parts_summary(first.order) == "1 of 1 other part shipped (1 invoiced)"


def test_parts_invoiced_before_either_update_runs_write_once(world, store):
    shared = split_order(world, store, states={"acme": S.SHIPPED, "globex": S.SHIPPED})
    updates = {slug: invoice(shared, slug) for slug in SLUGS}
    before = status_updates(world)

    done = [push(slug, update) for slug, update in updates.items()]

    assert [u.state for u in done] == [U.SENT, U.SENT_BY_OTHER_PART]
    assert status_updates(world) == before + 1
    assert store_status(shared) == "Completed"
    claimed = StoreOrderPart.objects.filter(
        store=store, store_order_id=shared.reference, status_claimed_at__isnull=False
    )
    assert list(claimed.values_list("tenant__slug", flat=True)) == ["acme"]


def test_a_part_cancelled_last_lets_the_invoiced_part_write(world, store):
    shared = split_order(world, store, states={"acme": S.SHIPPED, "globex": S.ROUTED})
    waiting = push("acme", invoice(shared, "acme"))
    assert waiting.state == U.WAITING
    before = status_updates(world)

    with schema_context("globex"):
        state.move(shared.parts["globex"], S.CANCELLED, message="cancelled in the store")
    with schema_context("acme"):
        waiting.refresh_from_db()
        assert waiting.state == U.PENDING  # woken: it decides again
    sent = push("acme", waiting)

    assert sent.state == U.SENT, sent.last_error
    assert status_updates(world) == before + 1
    assert store_status(shared) == "Completed"


def test_a_waiting_update_is_shown_with_the_other_parts_as_counts(world, store, acme_admin):
    shared = split_order(world, store, states={"acme": S.SHIPPED, "globex": S.SENT_TO_SHIPSTATION})
    with schema_context("globex"):
        state.move(shared.parts["globex"], S.SHIPPED, message="shipped")
    waiting = push("acme", invoice(shared, "acme"))

    page = acme_admin.get(f"/admin/invoicing/storestatusupdate/{waiting.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Waiting for the other parts" in html
    assert "1 of 1 other part shipped" in html
    assert "globex" not in html.lower()


# --- Two parts invoiced at the same moment, in two worker threads (committed rows) ---------


@pytest.fixture
def committed_split(world: World, django_db_setup, django_db_blocker) -> Iterator[SharedOrder]:
    """Both parts invoiced with their updates due, committed so two threads can race; removed
    again after."""
    world.calm()
    with django_db_blocker.unblock():
        store = shared_store(world)
        shared = split_order(world, store, states={"acme": S.INVOICED, "globex": S.INVOICED})
        for slug, order in shared.parts.items():
            with schema_context(slug):
                services.part_progress(S.INVOICED)([order])
                bill = Invoice.objects.create(
                    order=order, erp_invoice_number=f"7{order.pk}", year=2026,
                    amount=Decimal("10"), remaining_amount=Decimal("0"),
                )  # fmt: skip
                StoreStatusUpdate.objects.create(order=order, invoice=bill)
    try:
        yield shared
    finally:
        with django_db_blocker.unblock():
            for slug, order in shared.parts.items():
                with schema_context(slug):
                    updates = StoreStatusUpdate.objects.filter(order=order)
                    WorkAttempt.objects.filter(
                        kind="invoicing.storestatusupdate",
                        item_id__in=list(updates.values_list("pk", flat=True)),
                    ).delete()
                    updates.delete()
                    Invoice.objects.filter(order=order).delete()
                    order.delete()
                    StoreStatusMapping.objects.filter(store_id=store.pk).delete()
            store.delete()  # with its memberships, SKU owners and the parts
            Api2CartAccount.objects.filter(name="sandbox").delete()


def test_two_parts_invoiced_at_the_same_moment_make_one_order_update(
    world, committed_split, django_db_blocker
):
    before = status_updates(world)
    start = threading.Barrier(len(SLUGS))
    outcomes: dict[str, str | Exception] = {}

    def worker(slug: str) -> None:
        try:
            with schema_context(slug):
                pk = StoreStatusUpdate.objects.get().pk
                start.wait(timeout=30)
                outcomes[slug] = services.push_store_status(pk)
        except Exception as exc:  # the assertion below shows it
            outcomes[slug] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(slug,)) for slug in SLUGS]
    with django_db_blocker.unblock():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert sorted(map(str, outcomes.values())) == sorted([U.SENT, U.SENT_BY_OTHER_PART])
    assert status_updates(world) == before + 1
    assert store_status(committed_split) == "Completed"
