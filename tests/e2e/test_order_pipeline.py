"""Flows 1 and 2 end to end: sandbox webhooks → hub web → inbox → workers → ERP → ShipStation."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from inbox.models import InboxItem
from inbox.polling import poll_store
from orders.admin_actions import cancel_order
from orders.models import Order
from sandbox import demo_data
from tenant_settings.models import ApiToken
from tenants.models import SkuOwnership
from tests.support.demo_world import orders_of, webhook_for
from tests.support.harness import wait_until


def place(world, store: str, **payload) -> dict:
    return world.sandbox.control("api2cart", "place-orders", store=store, count=1, **payload)[
        "orders"
    ][0]


def deliver(hub, store, body: bytes, headers: dict) -> requests.Response:
    url = f"{hub.web_url}/webhooks/api2cart/{store.webhook_token}/"
    return requests.post(url, data=body, headers=headers, timeout=30)


def place_and_notify(hub, world, store_name: str, **payload) -> dict:
    """Place one order in the sandbox store and deliver its order.add webhook to the hub."""
    placed = place(world, store_name, **payload)
    store = world.stores[store_name]
    body, headers = webhook_for(store, placed["id"])
    assert deliver(hub, store, body, headers).status_code == 200
    return placed


def counts(world) -> tuple[int, int]:
    status = world.sandbox.status()
    return status["m3"]["erp_orders"], status["shipstation"]["shipstation_orders"]


def sent(schema: str, store_order_id: str) -> list[Order]:
    return orders_of(schema, store_order_id=store_order_id, state=Order.State.SENT_TO_SHIPSTATION)


def test_ten_concurrent_deliveries_make_one_order_everywhere(hub, demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    erp_before, ss_before = counts(demo_world)
    placed = place(demo_world, "acme-outlet")
    body, headers = webhook_for(store, placed["id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: deliver(hub, store, body, headers), range(10)))
    assert [a.status_code for a in answers] == [200] * 10

    [order] = wait_until(lambda: sent("acme", placed["id"]))
    assert len(orders_of("acme", store_order_id=placed["id"])) == 1
    assert orders_of("globex", store_order_id=placed["id"]) == []
    item = wait_until(
        lambda: InboxItem.objects.filter(
            store=store, entity_id=placed["id"], source="webhook", state=InboxItem.State.DONE
        ).first()
    )
    assert item.duplicates == 9
    assert counts(demo_world) == (erp_before + 1, ss_before + 1)
    # The beat's first poll may see the order too ("store_update", no change): not a step.
    steps = [e.step for e in order.events.all() if e.step != "store_update"]
    assert steps[:2] == ["received", "customer_linked"]
    assert {"in_erp", "sent_to_shipstation"} <= set(steps)
    assert order.erp_order_number.startswith("1") and order.shipstation_order_id


def test_update_before_add_and_a_poll_of_the_same_order_make_one_order(hub, demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    erp_before, ss_before = counts(demo_world)
    placed = place(demo_world, "acme-outlet")
    body, headers = webhook_for(store, placed["id"])

    assert deliver(hub, store, body, {**headers, "X-Webhook-Action": "update"}).status_code == 200
    assert deliver(hub, store, body, headers).status_code == 200
    [order] = wait_until(lambda: sent("acme", placed["id"]))

    poll_store(store)
    wait_until(
        lambda: not InboxItem.objects.filter(store=store, state=InboxItem.State.PENDING).exists()
    )
    assert len(orders_of("acme", store_order_id=placed["id"])) == 1
    assert counts(demo_world) == (erp_before + 1, ss_before + 1)
    with schema_context("acme"):
        assert order.events.filter(step="store_update").exists()


def test_a_shared_store_order_becomes_one_part_per_tenant(hub, demo_world, live_db):
    acme_sku = demo_data.products("acme")[0].sellable_skus[0]
    globex_sku = demo_data.products("globex")[0].sellable_skus[0]
    erp_before, ss_before = counts(demo_world)
    items = [{"sku": acme_sku, "quantity": 2}, {"sku": globex_sku, "quantity": 1}]
    placed = place_and_notify(hub, demo_world, "northwind", items=items)

    [acme_part] = wait_until(lambda: sent("acme", placed["id"]))
    [globex_part] = wait_until(lambda: sent("globex", placed["id"]))
    with schema_context("acme"):
        assert [line.sku for line in acme_part.lines.all()] == [acme_sku]
    with schema_context("globex"):
        assert [line.sku for line in globex_part.lines.all()] == [globex_sku]
    assert acme_part.erp_order_number.startswith("1")
    assert globex_part.erp_order_number.startswith("2")
    assert counts(demo_world) == (erp_before + 2, ss_before + 2)


def test_an_unowned_sku_needs_attention_until_it_is_mapped(hub, demo_world, live_db):
    store = demo_world.stores["northwind"]
    sku = demo_data.products("globex")[1].sellable_skus[0]
    SkuOwnership.objects.filter(store=store, sku=sku).delete()
    placed = place_and_notify(hub, demo_world, "northwind", items=[{"sku": sku, "quantity": 1}])

    item = wait_until(
        lambda: InboxItem.objects.filter(
            store=store, entity_id=placed["id"], state=InboxItem.State.NEEDS_ATTENTION
        ).first()
    )
    assert sku in item.last_error
    assert orders_of("acme", store_order_id=placed["id"]) == []
    assert orders_of("globex", store_order_id=placed["id"]) == []

    SkuOwnership.objects.create(store=store, sku=sku, tenant_id=_tenant_id("globex"))
    InboxItem.objects.filter(pk=item.pk).update(state=InboxItem.State.PENDING, next_attempt_at=None)
    wait_until(lambda: sent("globex", placed["id"]))


def test_erp_outage_is_retried_with_backoff_until_it_recovers(hub, demo_world, live_db):
    erp_before, _ = counts(demo_world)
    demo_world.sandbox.control("m3", "faults", error_rate=1.0)
    try:
        placed = place_and_notify(hub, demo_world, "acme-outlet")
        order = wait_until(lambda: orders_of("acme", store_order_id=placed["id"]))[0]
        wait_until(lambda: retries(order.pk) >= 2, timeout=60)
        waiting = orders_of("acme", pk=order.pk)[0]
        assert waiting.state in (Order.State.ROUTED, Order.State.CUSTOMER_LINKED)
        assert waiting.next_attempt_at is not None
    finally:
        demo_world.sandbox.control("m3", "faults", clear=True)
    [done] = wait_until(lambda: sent("acme", placed["id"]), timeout=90)
    assert counts(demo_world)[0] == erp_before + 1
    assert done.attempts == 0


def test_a_worker_killed_mid_order_completes_it_once_after_restart(hub, demo_world, live_db):
    erp_before, ss_before = counts(demo_world)
    demo_world.sandbox.control("m3", "faults", latency_ms=1500)
    try:
        placed = place_and_notify(hub, demo_world, "acme-outlet")
        wait_until(
            lambda: any(o.lease_until for o in orders_of("acme", store_order_id=placed["id"]))
        )
        # The batch order is open and its number recorded; the worker dies while M3 is still
        # working on the lines or the confirmation, so M3 finishes what the hub never hears of.
        wait_until(
            lambda: any(
                o.erp_temporary_order_number for o in orders_of("acme", store_order_id=placed["id"])
            )
        )
        time.sleep(2)
        hub.kill_worker_hard()
        killed_at = time.monotonic()
    finally:
        demo_world.sandbox.control("m3", "faults", clear=True)
    hub.start_worker()
    [order] = wait_until(lambda: sent("acme", placed["id"]), timeout=120)
    assert time.monotonic() - killed_at < 60, "recovery took longer than a lease and a sweep"
    assert counts(demo_world) == (erp_before + 1, ss_before + 1)
    assert demo_world.sandbox.status()["m3"]["erp_batch_orders_open"] == 0
    assert order.erp_order_number


def steps_of(order_pk: int) -> list[str]:
    [order] = orders_of("acme", pk=order_pk)
    return [event.step for event in order.events.all()]


def retries(order_pk: int) -> int:
    [order] = orders_of("acme", pk=order_pk)
    return sum(1 for event in order.events.all() if event.step == "retry_scheduled")


def _tenant_id(slug: str) -> int:
    from tenants.models import Tenant

    return Tenant.objects.get(slug=slug).pk


def test_a_webhook_for_an_order_already_fetched_by_polling_adds_nothing(hub, demo_world, live_db):
    store = demo_world.stores["acme-outlet"]
    erp_before, ss_before = counts(demo_world)
    placed = place(demo_world, "acme-outlet")
    poll_store(store)
    [order] = wait_until(lambda: sent("acme", placed["id"]))
    assert order.source == Order.Source.POLL

    body, headers = webhook_for(store, placed["id"])
    assert deliver(hub, store, body, headers).status_code == 200
    wait_until(
        lambda: InboxItem.objects.filter(
            store=store, entity_id=placed["id"], source="webhook", state=InboxItem.State.DONE
        ).exists()
    )
    assert len(orders_of("acme", store_order_id=placed["id"])) == 1
    assert counts(demo_world) == (erp_before + 1, ss_before + 1)


def test_an_item_the_erp_does_not_know_needs_attention_with_the_sku_named(hub, demo_world, live_db):
    with schema_context("acme"):
        token = ApiToken(name="e2e", user=get_user_model().objects.get(username="ops@acme.test"))
        raw = token.issue()
        token.save()
    order = {
        "order_number": "E2E-UNKNOWN-ITEM",
        "email": "buyer@example.com",
        "ship_to": {"name": "Ada Buyer", "street1": "1 High St", "city": "Leeds",
                    "postal_code": "LS1 4AP", "country": "GB"},
        "lines": [{"sku": "NOT-IN-ERP-1", "name": "Mystery", "quantity": 1, "unit_price": 5}],
    }  # fmt: skip
    try:
        answer = requests.post(
            f"{hub.web_url}/api/v1/orders/",
            json=order,
            headers={"Host": "acme.localhost", "Authorization": f"Bearer {raw}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        [parked] = wait_until(
            lambda: orders_of(
                "acme", order_number="E2E-UNKNOWN-ITEM", state=Order.State.NEEDS_ATTENTION
            )
        )
    finally:
        with schema_context("acme"):
            token.delete()
    assert "NOT-IN-ERP-1" in parked.state_message
    assert not parked.erp_order_number and not parked.shipstation_order_id


def test_cancelling_an_order_while_a_worker_runs_it_stops_it_there(hub, demo_world, live_db):
    erp_before, ss_before = counts(demo_world)
    demo_world.sandbox.control("m3", "faults", latency_ms=1500)
    try:
        placed = place_and_notify(hub, demo_world, "acme-outlet")
        [order] = wait_until(
            lambda: [o for o in orders_of("acme", store_order_id=placed["id"]) if o.lease_until]
        )
        with schema_context("acme"):
            assert cancel_order(order, "ops@acme.test").ok
        wait_until(lambda: "late_result" in steps_of(order.pk), timeout=60)
    finally:
        demo_world.sandbox.control("m3", "faults", clear=True)
    [after] = orders_of("acme", pk=order.pk)
    assert after.state == Order.State.CANCELLED
    assert counts(demo_world) == (erp_before, ss_before)
