"""Two worker nodes on one PostgreSQL and one Redis: work is shared, nothing is done twice, and
the upstream limits kept in Redis hold for both nodes together."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from core.models import WorkAttempt
from inbox.models import InboxItem
from orders.models import Order
from tests.support.demo_world import orders_of, webhook_for
from tests.support.harness import HubProcesses, hub_env, wait_until

pytestmark = pytest.mark.scale

ORDERS = 24
NODES = ("node-a", "node-b")
PROCESSES_PER_NODE = 3  # 6 in all: more than API2Cart's 5 calls in flight per store


def pool_pids(pid: int) -> set[int]:
    """The node's pool processes (children of the node's main process)."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(c) for c in (task / "children").read_text().split()}
    return children


@pytest.fixture
def two_nodes(demo_world, tmp_path):
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    hub = HubProcesses(hub_env(connection.settings_dict, settings.REDIS_URL), tmp_path)
    hub.start_web()
    hub.start_beat()
    for node in NODES:
        hub.start_worker(concurrency=PROCESSES_PER_NODE, node=node)
    for node in NODES:
        wait_until(lambda node=node: len(pool_pids(hub.procs[node].pid)) == PROCESSES_PER_NODE)
        wait_until(lambda node=node: b" ready." in (hub.log_dir / f"{node}.log").read_bytes())
    yield hub
    hub.stop_all()
    demo_world.sandbox.control("api2cart", "faults", clear=True)


def test_two_nodes_share_the_work_do_nothing_twice_and_keep_the_shared_limits(
    demo_world, two_nodes, live_db
):
    hub = two_nodes
    store = demo_world.stores["acme-outlet"]
    before = demo_world.sandbox.status()
    placed = demo_world.sandbox.control(
        "api2cart", "place-orders", store="acme-outlet", count=ORDERS
    )["orders"]
    deliveries = [webhook_for(store, order["id"]) for order in placed]
    # Slow store answers and webhooks spread over time (so each reaches the workers on its
    # own) keep more calls in flight across the six processes than the store allows.
    demo_world.sandbox.control("api2cart", "faults", latency_ms=1000)
    url = f"{hub.web_url}/webhooks/api2cart/{store.webhook_token}/"
    with requests.Session() as session:
        for body, headers in deliveries:
            assert session.post(url, data=body, headers=headers, timeout=30).status_code == 200
            time.sleep(0.12)

    ids = [order["id"] for order in placed]
    sent = Order.State.SENT_TO_SHIPSTATION
    wait_until(
        lambda: len(orders_of("acme", store_order_id__in=ids, state=sent)) == ORDERS,
        timeout=240,
        interval=1,
    )

    after = demo_world.sandbox.status()
    # Nothing twice: one hub order, one ERP order and one ShipStation order per store order.
    assert after["m3"]["erp_orders"] - before["m3"]["erp_orders"] == ORDERS
    assert (
        after["shipstation"]["shipstation_orders"] - before["shipstation"]["shipstation_orders"]
        == ORDERS
    )
    orders = orders_of("acme", store_order_id__in=ids)
    assert len(orders) == ORDERS
    assert len({order.erp_order_number for order in orders}) == ORDERS
    for order in orders:
        assert [e.step for e in order.events.all()].count("erp_batch_head") == 1

    # Shared: both nodes' processes did inbox and order work.
    with schema_context("acme"):
        order_workers = set(
            WorkAttempt.objects.filter(kind="orders.order", item_id__in=[o.pk for o in orders])
            .values_list("worker", flat=True)
        )  # fmt: skip
    items = InboxItem.objects.filter(store=store, entity_id__in=ids).values_list("pk", flat=True)
    inbox_workers = set(
        WorkAttempt.objects.filter(kind="inbox.inboxitem", item_id__in=list(items))
        .values_list("worker", flat=True)
    )  # fmt: skip
    # A worker is named host:pid of the pool process that did the work.
    pids = {int(worker.rsplit(":", 1)[1]) for worker in order_workers | inbox_workers}
    for node in NODES:
        assert pids & pool_pids(hub.procs[node].pid), f"{node} did no work"

    # The limits in Redis held across nodes: no store call refused for too many in flight,
    # no ShipStation call refused for its 40-a-minute limit.
    refusals = "concurrency_refusals"
    assert after["api2cart"][refusals] == before["api2cart"][refusals]
    assert after["shipstation"]["rate_limited"] == before["shipstation"]["rate_limited"]
