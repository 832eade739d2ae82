"""A Redis restart with queued work: messages are lost, orders are not (the sweeper resends)."""

from __future__ import annotations

import signal
import subprocess

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from inbox.models import InboxItem
from orders.models import Order
from tests.support.demo_world import orders_of, webhook_for
from tests.support.harness import HubProcesses, free_port, hub_env, wait_until


class PrivateRedis:
    """A Redis server of the test's own, so the machine's Redis is left alone."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, timeout=10)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def queued(self) -> int:
        broker = redis.Redis.from_url(self.url)
        return sum(broker.llen(queue) for queue in settings.HUB_QUEUES)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.kill()


def test_queued_work_survives_a_redis_restart(demo_world, private_redis, live_db, tmp_path):
    store = demo_world.stores["acme-outlet"]
    status = demo_world.sandbox.status()
    erp_before = status["m3"]["erp_orders"]
    ss_before = status["shipstation"]["shipstation_orders"]
    hub = HubProcesses(hub_env(connection.settings_dict, private_redis.url), tmp_path)
    hub.start_web()
    hub.start_beat()
    try:
        url = f"{hub.web_url}/webhooks/api2cart/{store.webhook_token}/"
        placed = demo_world.sandbox.control(
            "api2cart", "place-orders", store="acme-outlet", count=4
        )["orders"]
        for order in placed[:3]:
            body, headers = webhook_for(store, order["id"])
            assert requests.post(url, data=body, headers=headers, timeout=30).status_code == 200
        wait_until(lambda: private_redis.queued() >= 1, timeout=10)  # nobody consumes yet

        private_redis.kill()  # the queued messages are gone
        body, headers = webhook_for(store, placed[3]["id"])
        assert requests.post(url, data=body, headers=headers, timeout=60).status_code == 200
        ids = [o["id"] for o in placed]
        pending = InboxItem.objects.filter(store=store, entity_id__in=ids, source="webhook")
        assert pending.count() == 4

        private_redis.start()  # empty, as after a crash without persistence
        hub.start_worker()
        for order_id in ids:
            wait_until(
                lambda order_id=order_id: orders_of(
                    "acme", store_order_id=order_id, state=Order.State.SENT_TO_SHIPSTATION
                ),
                timeout=120,
            )
    finally:
        hub.stop_all()
    for order_id in ids:
        assert len(orders_of("acme", store_order_id=order_id)) == 1
    status = demo_world.sandbox.status()
    assert status["m3"]["erp_orders"] == erp_before + 4
    assert status["shipstation"]["shipstation_orders"] == ss_before + 4
