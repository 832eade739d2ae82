"""The incident, replayed: PostgreSQL is cut off from the web for a while, the store's webhooks
get 503s and the store (the sandbox, as API2Cart does) disables `order.add`. Within one check
after the outage the hub has them back on, the dashboards show the store degraded meanwhile, and
orders arrive by webhook again."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.urls import set_urlconf
from django_tenants.utils import schema_context

from inbox.models import InboxItem
from portal.flow_lag import tenant_health
from tenants.models import ActivityEvent, Store
from tenants.store_connection import register_webhooks
from tests.support.harness import HubProcesses, free_port, hub_env, wait_until

DEGRADED = "degraded: orders only by polling"


class DatabaseLine:
    """A TCP line from the web to PostgreSQL that the test can cut and mend: an outage of the
    database as the web sees it, with the workers' own connections untouched."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            doomed = [self.listener, *self.sockets] if self.listener else list(self.sockets)
            self.sockets.clear()
            self.listener = None
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def database_line() -> Iterator[DatabaseLine]:
    db = connection.settings_dict
    line = DatabaseLine(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    line.mend()
    yield line
    line.cut()


@pytest.fixture
def hub_behind_the_line(
    demo_world, live_db, database_line, tmp_path, settings
) -> Iterator[HubProcesses]:
    """Web through the line; worker and beat straight to PostgreSQL. The interval check is an
    hour away, so only the period of 5xx answers can bring the check forward."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    web_port = free_port()
    settings.HUB_PUBLIC_URL = f"http://127.0.0.1:{web_port}"
    extra = {"HUB_PUBLIC_URL": settings.HUB_PUBLIC_URL, "HUB_WEBHOOK_CHECK_MINUTES": "60"}
    direct = hub_env(connection.settings_dict, settings.REDIS_URL, **extra)
    through_line = hub_env(
        {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": str(database_line.port)},
        settings.REDIS_URL,
        **extra,
    )
    web = HubProcesses(through_line, tmp_path, web_port=web_port)
    background = HubProcesses(direct, tmp_path)
    web.start_web()
    for store in demo_world.stores.values():
        register_webhooks(store)  # before the workers' first check, which then finds them on
    background.start_worker(concurrency=2)
    background.start_beat()
    # The workers' first (interval) check has found every store's webhooks on.
    checked = Store.objects.filter(webhooks_checked_at__isnull=False, webhooks_degraded_since=None)
    wait_until(lambda: checked.count() == len(demo_world.stores), timeout=120, interval=1)
    yield web
    background.stop_all()
    web.stop_all()


def fake_webhooks(world, store: Store) -> dict[str, bool]:
    answer = world.sandbox.control("api2cart", "webhooks", store=store.store_key)
    return {hook["event"]: hook["active"] for hook in answer["webhooks"]}


def place(world, store: Store, count: int = 1) -> list[str]:
    answer = world.sandbox.control("api2cart", "place-orders", store=store.store_key, count=count)
    return [order["id"] for order in answer["orders"]]


def arrived_by_webhook(store: Store, order_id: str) -> bool:
    return InboxItem.objects.filter(
        store=store, entity_id=order_id, source=InboxItem.Source.WEBHOOK
    ).exists()


def platform_dashboard() -> str:
    """The platform front page's tenant health panel, rendered as the base domain does."""
    set_urlconf(settings.PUBLIC_SCHEMA_URLCONF)
    try:
        with schema_context("public"):
            return render_to_string("admin/portal/tenant_health.html", {"rows": tenant_health()})
    finally:
        set_urlconf(None)


def health_events(store: Store) -> list[str]:
    return list(
        ActivityEvent.objects.filter(
            object_type="tenants.Store",
            object_id=str(store.pk),
            action__startswith="store.webhooks_",
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_webhooks_disabled_by_an_outage_are_back_within_one_check(
    hub_behind_the_line, demo_world, database_line, live_db
):
    store = demo_world.stores["acme-outlet"]
    [before] = place(demo_world, store)
    wait_until(lambda: arrived_by_webhook(store, before), timeout=60)
    assert fake_webhooks(demo_world, store) == {"order.add": True, "order.update": True}

    database_line.cut()  # the outage: every webhook to the web now gets a 503
    place(demo_world, store, count=5)
    wait_until(lambda: fake_webhooks(demo_world, store)["order.add"] is False, timeout=60)
    database_line.mend()

    # One check, at the first sweep after the 5xx answers stopped (not the hourly interval).
    wait_until(lambda: len(health_events(store)) >= 2, timeout=90)
    assert health_events(store) == ["store.webhooks_degraded", "store.webhooks_restored"]
    assert fake_webhooks(demo_world, store) == {"order.add": True, "order.update": True}
    store.refresh_from_db()
    assert store.polling_only, "degraded until a later check finds the webhooks still on"
    assert DEGRADED in platform_dashboard()

    [after] = place(demo_world, store)
    wait_until(lambda: arrived_by_webhook(store, after), timeout=60)

    # The confirming check, a minute after the repair, finds them on: healthy again.
    wait_until(lambda: not Store.objects.get(pk=store.pk).polling_only, timeout=150, interval=1)
    assert health_events(store)[-1] == "store.webhooks_working"
    assert DEGRADED not in platform_dashboard()
    assert fake_webhooks(demo_world, store) == {"order.add": True, "order.update": True}
