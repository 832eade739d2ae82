"""The deploy layout on one machine: the CPU-bound queues in a prefork node, the queues that wait
on an upstream in a threads node (deploy/README.md). One process's threads keep several ERP
batches in flight at once, and nothing is done twice: one ERP customer, ERP order and
ShipStation order per store order, the shared upstream limits kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from core.models import WorkAttempt
from orders.models import Order
from tests.support.demo_world import orders_of, webhook_for
from tests.support.harness import HubProcesses, hub_env, wait_until

pytestmark = pytest.mark.e2e

ORDERS = 40
BATCH = 5  # eight ERP batches, more than one process could run at once
THREADS = 6
IO_QUEUES = ("erp", "shipstation", "store", "catalog")


@pytest.fixture
def deploy_layout(demo_world, tmp_path):
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    env = hub_env(
        connection.settings_dict,
        settings.REDIS_URL,
        HUB_BATCH_SIZE=str(BATCH),
        HUB_ERP_GATHER_SECONDS="0",
    )
    hub = HubProcesses(env, tmp_path)
    hub.start_web()
    hub.start_beat()
    cpu_queues = [queue for queue in settings.HUB_QUEUES if queue not in IO_QUEUES]
    hub.start_worker(concurrency=2, node="cpu", queues=",".join(cpu_queues))
    hub.start_worker(concurrency=THREADS, node="io", pool="threads", queues=",".join(IO_QUEUES))
    for node in ("cpu", "io"):
        wait_until(lambda node=node: b" ready." in (hub.log_dir / f"{node}.log").read_bytes())
    demo_world.sandbox.control("m3", "faults", latency_ms=300)
    yield hub
    hub.stop_all()
    demo_world.sandbox.control("m3", "faults", clear=True)


def most_at_once(spans: set[tuple[datetime, int]]) -> int:
    """The most (start, milliseconds) spans that overlap at one moment."""
    edges = sorted(
        [(start, 1) for start, _ in spans]
        + [(start + timedelta(milliseconds=ms), -1) for start, ms in spans]
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_one_threads_node_overlaps_the_erp_waits_and_does_nothing_twice(
    demo_world, deploy_layout, live_db
):
    hub = deploy_layout
    store = demo_world.stores["acme-outlet"]
    before = demo_world.sandbox.status()
    placed = demo_world.sandbox.control(
        "api2cart", "place-orders", store="acme-outlet", count=ORDERS, new_customers=True,
        quiet=True,
    )["orders"]  # fmt: skip
    url = f"{hub.web_url}/webhooks/api2cart/{store.webhook_token}/"
    with requests.Session() as session:
        for body, headers in [webhook_for(store, order["id"]) for order in placed]:
            assert session.post(url, data=body, headers=headers, timeout=30).status_code == 200

    ids = [order["id"] for order in placed]
    sent = Order.State.SENT_TO_SHIPSTATION
    wait_until(
        lambda: len(orders_of("acme", store_order_id__in=ids, state=sent)) == ORDERS,
        timeout=240,
        interval=1,
    )

    after = demo_world.sandbox.status()
    made = {
        name: after[upstream][name] - before[upstream][name]
        for upstream, name in (
            ("m3", "erp_customers_created"),
            ("m3", "erp_orders"),
            ("shipstation", "shipstation_orders"),
        )
    }
    assert made == {"erp_customers_created": ORDERS, "erp_orders": ORDERS,
                    "shipstation_orders": ORDERS}  # fmt: skip
    orders = orders_of("acme", store_order_id__in=ids)
    assert len({order.erp_order_number for order in orders}) == ORDERS
    assert len({order.erp_customer_number for order in orders}) == ORDERS
    for order in orders:
        assert [e.step for e in order.events.all()].count("erp_batch_head") == 1

    # Every ERP attempt ran in the threads node's one process, several batches at a time.
    with schema_context("acme"):
        attempts = set(
            WorkAttempt.objects.filter(kind="orders.order", item_id__in=[o.pk for o in orders])
            .values_list("worker", "started_at", "duration_ms")
        )  # fmt: skip
    assert {int(worker.rsplit(":", 1)[1]) for worker, _, _ in attempts} == {hub.procs["io"].pid}
    assert most_at_once({(started, ms) for _, started, ms in attempts}) >= 3

    # The limits in Redis held for the threads as for processes.
    for upstream, refusals in (
        ("api2cart", "concurrency_refusals"),
        ("shipstation", "rate_limited"),
    ):
        assert after[upstream][refusals] == before[upstream][refusals]
