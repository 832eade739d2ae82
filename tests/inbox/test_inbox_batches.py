"""Inbox items worked in batches: many store orders accepted together, each exactly once.

The batch runs in-process (`process_items`) against the sandbox's API2Cart over HTTP; no
worker runs in this module, so nothing else touches the items.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest
from django_tenants.utils import schema_context

from inbox.models import InboxItem
from inbox.polling import poll_store
from inbox.processing import process_items
from orders.intake import store_orders
from orders.models import Order, OrderEvent
from sandbox import demo_data
from tests.support.demo_world import orders_of, webhook_for
from tests.support.world import make_order

State = InboxItem.State


def stored(store, source: str, order_id: str, body: bytes) -> InboxItem:
    return InboxItem.objects.create(
        source=source,
        store=store,
        entity="order",
        action="add",
        entity_id=order_id,
        body=body.decode(),
        dedupe_key=f"batch-{source}-{order_id}",
    )


def api2cart_calls(world) -> int:
    return world.sandbox.status()["api2cart"]["calls"]


def test_a_batch_accepts_each_store_order_once_and_fails_only_the_broken_item(demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    placed = demo_world.sandbox.control("api2cart", "place-orders", store="acme-outlet", count=3)
    ids = [order["id"] for order in placed["orders"]]
    bodies = [webhook_for(store, order_id)[0] for order_id in ids]
    items = [stored(store, "webhook", i, body) for i, body in zip(ids, bodies, strict=True)]
    # A poll of the first order holds it as order.list answered it: not fetched again.
    items.append(stored(store, "poll", ids[0], bodies[0]))
    missing = json.dumps({"id": "no-such-order"}).encode()
    unknown = stored(store, "webhook", "no-such-order", missing)
    calls_before = api2cart_calls(demo_world)

    outcomes = process_items([items[0].pk])  # the other pending items fill the batch

    assert outcomes == {**{item.pk: State.DONE for item in items}, unknown.pk: "failed"}
    # One order.list for the batch's webhooks by their ids; order.info for the one it did not
    # return, whose "not found" fails only that item.
    assert api2cart_calls(demo_world) - calls_before == 2
    with schema_context("acme"):
        orders = Order.objects.filter(store_id=store.pk, store_order_id__in=ids)
        assert sorted(orders.values_list("store_order_id", flat=True)) == sorted(ids)
        assert {order.state for order in orders} == {Order.State.ROUTED}
        assert all(order.next_attempt_at is not None for order in orders)  # due for the ERP
        again = OrderEvent.objects.filter(order__in=orders, step="store_update")
        assert [event.order.store_order_id for event in again] == [ids[0]]
        assert "Polling saw the order again" in again[0].message
    unknown.refresh_from_db()
    assert "does not know this order" in unknown.last_error


def test_a_second_batch_of_the_same_orders_creates_nothing(demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    placed = demo_world.sandbox.control("api2cart", "place-orders", store="acme-outlet", count=2)
    ids = [order["id"] for order in placed["orders"]]
    first = [stored(store, "webhook", i, webhook_for(store, i)[0]) for i in ids]
    process_items([item.pk for item in first])
    replayed = [stored(store, "failed_webhook", i, webhook_for(store, i)[0]) for i in ids]

    assert process_items([item.pk for item in replayed]) == {
        item.pk: State.DONE for item in replayed
    }
    with schema_context("acme"):
        orders = Order.objects.filter(store_id=store.pk, store_order_id__in=ids)
        assert orders.count() == 2
        assert OrderEvent.objects.filter(order__in=orders, step="store_update").count() == 2


def test_an_order_first_keyed_by_its_number_stays_one_order_when_its_id_arrives(
    demo_world, live_db
):
    store = demo_world.stores["acme-outlet"]
    placed, other = demo_world.sandbox.control(
        "api2cart", "place-orders", store="acme-outlet", count=2
    )["orders"]
    number = str(placed["order_id"])
    with schema_context("acme"):  # seen before on a platform answer without `id`
        first = make_order(
            store=store, source=Order.Source.POLL, store_order_id=number, order_number=number
        )
    items = [
        stored(store, "webhook", o["id"], webhook_for(store, o["id"])[0]) for o in (placed, other)
    ]

    assert process_items([item.pk for item in items]) == {item.pk: State.DONE for item in items}
    with schema_context("acme"):
        same = Order.objects.filter(store_id=store.pk, order_number=number)
        assert list(same.values_list("pk", flat=True)) == [first.pk]
        assert first.events.filter(step="store_update").count() == 1
        assert Order.objects.filter(store_id=store.pk, store_order_id=other["id"]).exists()


def test_an_order_the_database_refuses_fails_only_its_own_item(demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    placed = demo_world.sandbox.control("api2cart", "place-orders", store="acme-outlet", count=3)
    ids = [order["id"] for order in placed["orders"]]
    raw = json.loads(webhook_for(store, ids[0])[0])
    raw["order_products"][0]["model"] = "S" * 200  # longer than any SKU the hub keeps
    broken = stored(store, "poll", ids[0], json.dumps(raw).encode())
    fine = [stored(store, "webhook", i, webhook_for(store, i)[0]) for i in ids[1:]]

    outcomes = process_items([broken.pk, *(item.pk for item in fine)])

    assert outcomes == {broken.pk: "retry", **{item.pk: State.DONE for item in fine}}
    with schema_context("acme"):
        accepted = Order.objects.filter(store_id=store.pk, store_order_id__in=ids)
        assert sorted(accepted.values_list("store_order_id", flat=True)) == sorted(ids[1:])


def test_an_answer_without_id_and_one_with_it_in_one_batch_make_one_order(demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    [placed] = demo_world.sandbox.control("api2cart", "place-orders", store="acme-outlet", count=1)[
        "orders"
    ]
    body = webhook_for(store, placed["id"])[0]
    without_id = {**json.loads(body), "id": ""}  # a platform that leaves `id` empty
    polled = stored(store, "poll", str(placed["order_id"]), json.dumps(without_id).encode())
    webhook = stored(store, "webhook", placed["id"], body)

    assert process_items([polled.pk, webhook.pk]) == {
        polled.pk: State.DONE,
        webhook.pk: State.DONE,
    }
    with schema_context("acme"):
        same = Order.objects.filter(store_id=store.pk, order_number=str(placed["order_id"]))
        assert list(same.values_list("store_order_id", flat=True)) == [str(placed["order_id"])]


def test_a_poll_hit_holding_an_unreadable_order_needs_attention_alone(demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    placed = demo_world.sandbox.control("api2cart", "place-orders", store="acme-outlet", count=2)
    ids = [order["id"] for order in placed["orders"]]
    raw = json.loads(webhook_for(store, ids[0])[0])
    raw["order_products"][0]["quantity"] = "lots"
    unreadable = stored(store, "poll", ids[0], json.dumps(raw).encode())
    fine = stored(store, "webhook", ids[1], webhook_for(store, ids[1])[0])

    outcomes = process_items([unreadable.pk, fine.pk])

    assert outcomes == {unreadable.pk: "needs_attention", fine.pk: State.DONE}
    unreadable.refresh_from_db()
    assert "cannot be read" in unreadable.last_error


def test_a_poll_of_versions_received_by_webhook_makes_no_work_but_a_change_does(
    demo_world, live_db
):
    own, shared = demo_world.stores["acme-outlet"], demo_world.stores["northwind"]
    acme_sku = demo_data.products("acme")[0].sellable_skus[0]
    globex_sku = demo_data.products("globex")[0].sellable_skus[0]
    placed = place(demo_world, "acme-outlet", 2)
    whole = place(demo_world, "northwind", 1, items=[{"sku": globex_sku, "quantity": 1}])
    split = place(
        demo_world,
        "northwind",
        1,
        items=[{"sku": acme_sku, "quantity": 1}, {"sku": globex_sku, "quantity": 1}],
    )
    arrived = [(own, o) for o in placed] + [(shared, o) for o in whole + split]
    items = [stored(s, "webhook", o["id"], webhook_for(s, o["id"])[0]) for s, o in arrived]
    assert outcomes_of(items) == {item.pk: State.DONE for item in items}
    last = InboxItem.objects.order_by("-pk").values_list("pk", flat=True).first()
    try:
        [waiting] = place(demo_world, "acme-outlet", 1)  # its webhook is not worked yet
        stored(own, "webhook", waiting["id"], webhook_for(own, waiting["id"])[0])
        poll_store(own)
        poll_store(shared)
        polled = InboxItem.objects.filter(pk__gt=last, source=InboxItem.Source.POLL)
        # A version an order keeps whole is known, and so is one a webhook item will fetch;
        # a part of a split order is not the order.
        ours = [o["id"] for _, o in arrived] + [waiting["id"]]
        assert list(polled.filter(entity_id__in=ours)) == [polled.get(entity_id=split[0]["id"])]

        time.sleep(1.1)  # API2Cart dates have whole seconds: make the change visibly newer
        demo_world.sandbox.cancel_store_order(placed[0]["id"], "acme-outlet")
        poll_store(own)
        changed = polled.filter(entity_id=placed[0]["id"])
        assert changed.count() == 1 and changed.get().state == State.PENDING
        assert not polled.filter(entity_id=placed[1]["id"]).exists()
    finally:
        InboxItem.objects.filter(pk__gt=last).delete()


def place(world, store: str, count: int, **payload) -> list[dict]:
    return world.sandbox.control("api2cart", "place-orders", store=store, count=count, **payload)[
        "orders"
    ]


def test_a_batchs_store_calls_overlap(demo_world, live_db, monkeypatch):
    own, shared = demo_world.stores["acme-outlet"], demo_world.stores["northwind"]
    globex_sku = demo_data.products("globex")[0].sellable_skus[0]
    listed = place(demo_world, "acme-outlet", 2)
    [alone] = place(demo_world, "northwind", 1, items=[{"sku": globex_sku, "quantity": 1}])
    arrived = [(own, o) for o in listed] + [(shared, alone)]
    items = [stored(s, "webhook", o["id"], webhook_for(s, o["id"])[0]) for s, o in arrived]
    # The list of one store and the order.info of the other each wait until both are asked:
    # called one after the other, the first would wait in vain and fail its items.
    both_asked = threading.Barrier(2, timeout=10)
    for name in ("_listed_orders", "_order_info"):
        call = getattr(store_orders, name)
        monkeypatch.setattr(store_orders, name, waiting_for(both_asked, call))

    assert outcomes_of(items) == {item.pk: State.DONE for item in items}
    assert orders_of("acme", store_order_id__in=[o["id"] for o in listed], store_id=own.pk)
    assert orders_of("globex", store_order_id=alone["id"], store_id=shared.pk)


def waiting_for(barrier: threading.Barrier, call):
    def wait_then_call(*args):
        barrier.wait()
        return call(*args)

    return wait_then_call


def outcomes_of(items: list[InboxItem]) -> dict[int, str]:
    """The items' outcomes in one batch (which an earlier test's item due again may join)."""
    outcomes = process_items([item.pk for item in items])
    return {item.pk: outcomes.get(item.pk) for item in items}


@pytest.fixture
def batches_of_10(monkeypatch) -> None:
    """Inbox attempts of 10 items, whatever `HUB_INBOX_BATCH_SIZE` says."""
    from core import work

    kind = dataclasses.replace(work.kind_of(InboxItem), batch_size=10)
    monkeypatch.setitem(work._kinds, InboxItem, kind)


def probe_backlog(store, count: int, **fields) -> list[InboxItem]:
    """`count` pending items of a test entity, and no other pending item (earlier tests leave
    retries behind, which a batch would take first)."""
    InboxItem.objects.filter(state=State.PENDING).update(state=State.IGNORED)
    return [
        InboxItem.objects.create(source="webhook", store=store, entity="drain_probe",
                                 action="add", entity_id=str(n), body="{}",
                                 dedupe_key=f"drain-{time.time_ns()}-{n}", **fields)
        for n in range(count)
    ]  # fmt: skip


def test_one_message_works_a_backlog_through_in_full_batches(
    demo_world, live_db, monkeypatch, batches_of_10
):
    """A worker keeps taking full batches while they come full, instead of idling until the
    web's next message: 23 pending items are 10, 10 and 3 in one call."""
    from inbox import processing

    batches: list[int] = []

    def count_batch(items):
        batches.append(len(items))
        return dict.fromkeys((item.pk for item in items), True)

    monkeypatch.setitem(processing._handlers, "drain_probe", count_batch)
    items = probe_backlog(demo_world.stores["acme-outlet"], 23)

    outcomes = process_items([items[0].pk])

    assert batches == [10, 10, 3]
    assert outcomes == {item.pk: State.DONE for item in items}


def test_the_backlog_is_left_to_other_messages_past_the_drain_time(
    demo_world, live_db, monkeypatch, batches_of_10
):
    from inbox import processing

    monkeypatch.setattr(processing, "DRAIN_SECONDS", 0.0)
    monkeypatch.setitem(
        processing._handlers, "drain_probe",
        lambda items: dict.fromkeys((item.pk for item in items), True),
    )  # fmt: skip
    items = probe_backlog(demo_world.stores["acme-outlet"], 15)

    assert len(process_items([items[0].pk])) == 10
    assert InboxItem.objects.filter(entity="drain_probe", state=State.PENDING).count() == 5


def test_a_batch_held_for_a_paused_upstream_ends_the_drain(
    demo_world, live_db, monkeypatch, batches_of_10
):
    """Held items are released until the pause ends; taking batch after batch of them would only
    claim and release rows (and send their messages) for the whole drain time."""
    from datetime import timedelta

    from django.utils import timezone

    from core import breaker, work
    from inbox import processing

    until = timezone.now() + timedelta(minutes=5)
    monkeypatch.setattr(
        work.breaker, "admit",
        lambda schema, upstreams: breaker.Gate(dict.fromkeys(upstreams, until), frozenset()),
    )  # fmt: skip
    monkeypatch.setitem(processing._handlers, "drain_probe", lambda items: {})
    items = probe_backlog(demo_world.stores["acme-outlet"], 25, failing_upstream="api2cart")

    outcomes = process_items([items[0].pk])

    assert list(outcomes.values()) == [work.PAUSED] * 10
    assert InboxItem.objects.filter(entity="drain_probe", next_attempt_at=until).count() == 10
