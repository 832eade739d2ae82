"""An ERP outage longer than the old retry budget: orders wait it out and all reach the ERP once.

The hub runs as real processes with its retry schedule shortened through settings (the first
wait 0.25 s, growing to 2 s, giving up after 6 minutes) and a quick circuit breaker (5 failed
attempts, 5 s cool-down). The sandbox ERP answers every call with a 500 while 200 orders arrive,
and for 45 s after the first order failed: over four times the waits of the old budget (eight
attempts, then *failed*) at that schedule. The breaker pauses the ERP for the tenant, probes it
every cool-down and resumes every order once it answers.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from django_tenants.utils import schema_context

from core import keys
from core.models import WorkAttempt
from orders.models import Order
from tests.support.demo_world import webhook_for
from tests.support.harness import HubProcesses, hub_env, wait_until

ORDERS = 200
FIRST_WAIT, LONGEST_WAIT = 0.25, 2.0
SHORT_SCHEDULES = {
    "HUB_RETRY_FIRST_SECONDS": str(FIRST_WAIT),
    "HUB_RETRY_CAP_SECONDS": str(LONGEST_WAIT),
    "HUB_RETRY_GIVE_UP_HOURS": "0.1",
    "HUB_MAX_ATTEMPTS": "0",
    "HUB_BREAKER_FAILURES": "5",
    "HUB_BREAKER_WINDOW_SECONDS": "60",
    "HUB_BREAKER_COOL_DOWN_SECONDS": "5",
}
OLD_BUDGET = sum(min(LONGEST_WAIT, FIRST_WAIT * 2 ** (n - 1)) for n in range(1, 8))
"""Seconds of waiting that eight attempts of this schedule allowed: 9.75."""
OUTAGE = 45.0
"""How long the ERP stays down after the first order failed."""
S = Order.State


@pytest.fixture(scope="module")
def hub(demo_world, tmp_path_factory) -> Iterator[HubProcesses]:
    """The shared demo hub, with the short schedules."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    env = hub_env(connection.settings_dict, settings.REDIS_URL, **SHORT_SCHEDULES)
    processes = HubProcesses(env, tmp_path_factory.mktemp("hub-logs"))
    processes.start_web()
    processes.start_worker()
    processes.start_beat()
    yield processes
    processes.stop_all()


def acme_orders(ids: list[str]):
    return Order.objects.filter(store_order_id__in=ids)


def erp_copies(sandbox, refs: list[str]) -> Counter:
    """How many confirmed M3 orders carry each of these CUORs, read from the sandbox's own
    database."""
    db = sqlite3.connect(f"file:{sandbox.state_dir / 'sandbox.sqlite3'}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(refs))
        rows = db.execute(
            f"SELECT cuor FROM m3_orders WHERE orno IS NOT NULL AND cuor IN ({marks})", refs
        ).fetchall()
    finally:
        db.close()
    return Counter(cuor for (cuor,) in rows)


def deliver_all(hub, store, bodies: list[tuple[bytes, dict]]) -> None:
    url = f"{hub.web_url}/webhooks/api2cart/{store.webhook_token}/"
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = pool.map(
            lambda hook: requests.post(url, data=hook[0], headers=hook[1], timeout=60), bodies
        )
        assert {answer.status_code for answer in answers} == {200}


def test_orders_outlast_an_erp_outage_and_reach_the_erp_once(hub, demo_world, live_db):
    sandbox, store = demo_world.sandbox, demo_world.stores["acme-outlet"]
    erp_before = sandbox.status()["m3"]["erp_orders"]
    placed = sandbox.control("api2cart", "place-orders", store="acme-outlet", count=ORDERS)
    ids = [order["id"] for order in placed["orders"]]
    bodies = [webhook_for(store, order_id) for order_id in ids]
    sandbox.control("m3", "faults", error_rate=1.0)
    outage_began = time.monotonic()
    try:
        deliver_all(hub, store, bodies)
        delivered = time.monotonic() - outage_began
        with schema_context("acme"):
            wait_until(
                lambda: acme_orders(ids).filter(failing_since__isnull=False).count() == ORDERS,
                timeout=240,
                interval=1,
            )
            first_failure = acme_orders(ids).aggregate(at=Min("failing_since"))["at"]
            time.sleep(max(0.0, OUTAGE - (timezone.now() - first_failure).total_seconds()))
            assert acme_orders(ids).filter(state__in=[S.FAILED, S.NEEDS_ATTENTION]).count() == 0
            waiting_erp = acme_orders(ids).filter(state__in=[S.ROUTED, S.CUSTOMER_LINKED])
            assert waiting_erp.count() == ORDERS
    finally:
        sandbox.control("m3", "faults", clear=True)
    outage, failing = time.monotonic() - outage_began, timezone.now() - first_failure
    recovery_began = time.monotonic()

    with schema_context("acme"):
        wait_until(
            lambda: acme_orders(ids).filter(state=S.SENT_TO_SHIPSTATION).count() == ORDERS,
            timeout=300,
            interval=1,
        )
        recovery = time.monotonic() - recovery_began
        orders = list(acme_orders(ids))
        pks = [order.pk for order in orders]
        failed = WorkAttempt.objects.filter(
            kind="orders.order", item_id__in=pks, outcome=WorkAttempt.Outcome.RETRY
        )
        per_order = dict(failed.values_list("item_id").annotate(n=Count("id")))

    log = (hub.log_dir / "worker.log").read_text(errors="replace")
    numbers = {
        "orders": ORDERS,
        "webhooks_delivered_s": round(delivered, 1),
        "outage_s": round(outage, 1),
        "old_budget_s": OLD_BUDGET,
        "first_order_failing_s": round(failing.total_seconds(), 1),
        "recovery_s": round(recovery, 1),
        "failed_attempts": sum(per_order.values()),
        "failed_attempts_max_per_order": max(per_order.values()),
        "breaker_opened": log.count("m3 failed orders.order attempts in a row in acme"),
        "breaker_reopened": log.count("m3 still fails in acme"),
        "breaker_closed": log.count("m3 answers again in acme"),
        "held_without_attempt": sum(map(int, re.findall(r"(\d+) item\(s\) wait for m3", log))),
    }
    print(numbers)  # the measured numbers, for the record (pytest -s)
    assert failing.total_seconds() > OLD_BUDGET * 4  # and the first order did not fail
    assert {order.state for order in orders} == {S.SENT_TO_SHIPSTATION}
    assert len({order.erp_order_number for order in orders}) == ORDERS
    copies = erp_copies(sandbox, [keys.erp_order_reference(pk) for pk in pks])
    assert set(copies.values()) == {1} and len(copies) == ORDERS
    assert sandbox.status()["m3"]["erp_orders"] == erp_before + ORDERS
    assert numbers["breaker_opened"] >= 1 and numbers["breaker_closed"] >= 1
    assert numbers["held_without_attempt"] > 0
