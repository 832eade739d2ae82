"""Backfill and reconciliation of 10,000 store orders of a 7-day window, against the sandbox.

Uses its own database (hub_reconcile unless `--database`, dropped first), Redis database 6
(unless `--redis-db`, flushed) and a sandbox on port 8990 (unless `--sandbox-port`), one tenant
(acme, as the sandbox's demo ERP and ShipStation accounts know it) with its store acme-outlet.

1. Seeds the store with `--orders` orders spread over the last 7 days, without webhooks.
2. Backfills them, history only, in this process as a worker would (`manage.py
   backfill_orders`' path): timed from the confirmation to the last page (orders/s).
3. Arranges the hub and the upstreams as if every order had gone through the pipeline: one M3
   order each under the hub's CUOR (the sandbox's `seed-orders`, in bulk) and one ShipStation
   order each under the hub's orderKey (`createorders`, 100 to a call), the hub's orders *sent
   to ShipStation* with both references.
4. Times one reconciliation over the 7 days and counts its upstream calls (the run's own count,
   checked against the sandbox's call counters for M3 and ShipStation).

Prints one JSON line: `seconds`, `upstream_calls_per_order` and `mismatches` of the clean run,
the calls by upstream, and the backfill's `backfill_orders_per_second`.
Usage: .venv/bin/python bench/reconcile.py [--orders 10000] [--database hub_reconcile]
       [--redis-db 6] [--sandbox-port 8990] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=10_000)
parser.add_argument("--days", type=int, default=7)
parser.add_argument("--database", default="hub_reconcile", help="the database to drop and use")
parser.add_argument("--redis-db", type=int, default=6, help="the Redis database to flush and use")
parser.add_argument("--sandbox-port", type=int, default=8990)
parser.add_argument("--profile", action="store_true", help="the run's cProfile top to stderr")
ARGS = parser.parse_args()
REDIS_URL = f"redis://127.0.0.1:6379/{ARGS.redis_db}"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{ARGS.database}"
os.environ["REDIS_URL"] = REDIS_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["HUB_ALLOW_PRIVATE_UPSTREAMS"] = "1"

PLACE_BATCH = 1000
SEED_BATCH = 1000


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        name = sql.Identifier(ARGS.database)
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        db.execute(sql.SQL("CREATE DATABASE {}").format(name))


def main() -> None:
    import redis

    recreate_database()
    redis.Redis.from_url(REDIS_URL).flushdb()
    import django

    django.setup()
    from sandbox.testing import start_sandbox

    with tempfile.TemporaryDirectory() as state:
        sandbox = start_sandbox(Path(state), port=ARGS.sandbox_port, hub_url="http://127.0.0.1:9")
        try:
            print(json.dumps(run(sandbox)))
        finally:
            sandbox.stop()


def run(sandbox) -> dict:
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from core import work
    from demo.seed import configure_tenant, connect_store
    from orders.intake import backfill
    from orders.models import Backfill
    from reconciliation import services
    from reconciliation.models import ReconciliationRun
    from sandbox import demo_data
    from tenants.models import Api2CartAccount
    from tenants.provisioning import provision_tenant

    call_command("setup_hub", verbosity=0, stdout=io.StringIO())
    provision_tenant(slug="acme", name="Acme Ltd", admin_email="ops@acme.test")
    account = Api2CartAccount.objects.create(
        name="sandbox", base_url=sandbox.api_url("api2cart"), api_key=demo_data.API2CART_API_KEY
    )
    configure_tenant(demo_data.tenant("acme"), sandbox.url)
    store = connect_store(demo_data.store("acme-outlet"), account)
    sandbox.control("shipstation", "set-rate-limit", limit=1_000_000)

    placed = 0
    while placed < ARGS.orders:
        count = min(PLACE_BATCH, ARGS.orders - placed)
        days_ago = 0.5 + (ARGS.days - 1) * placed / ARGS.orders
        sandbox.control("api2cart", "place-orders", store="acme-outlet", count=count,
                        quiet=True, days_ago=days_ago)  # fmt: skip
        placed += count

    end = timezone.now()
    start = end - timedelta(days=ARGS.days)
    with schema_context("acme"):
        job = backfill.request_backfill(store, start, end, mode=Backfill.Mode.HISTORY)
        work.process(Backfill, job.pk, backfill.step)
        backfill.confirm(job)
        clock = time.monotonic()
        work.process(Backfill, job.pk, backfill.step)
        backfill_seconds = time.monotonic() - clock
        job.refresh_from_db()
        assert job.state == Backfill.State.DONE, job.last_error
        arrange_sent(sandbox)

        before = sandbox.status()
        run = ReconciliationRun.objects.create(window_start=start, window_end=end)
        profiler = cProfile.Profile() if ARGS.profile else None
        clock = time.monotonic()
        if profiler:
            profiler.enable()
        outcome = work.process(ReconciliationRun, run.pk, services.reconcile)
        seconds = time.monotonic() - clock
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        run.refresh_from_db()
        after = sandbox.status()
    assert outcome == ReconciliationRun.State.DONE, run.last_error
    measured = {
        "m3": after["m3"]["calls"] - before["m3"]["calls"],
        "shipstation": after["shipstation"]["calls"] - before["shipstation"]["calls"],
    }
    return {
        "orders": run.store_orders,
        "hub_orders": run.hub_orders,
        "seconds": round(seconds, 2),
        "upstream_calls_per_order": round(run.upstream_calls / max(run.store_orders, 1), 4),
        "mismatches": run.mismatches,
        "calls": run.calls,
        "calls_seen_by_sandbox": measured,
        "backfill_orders": job.orders_new,
        "backfill_seconds": round(backfill_seconds, 2),
        "backfill_orders_per_second": round(job.orders_new / backfill_seconds, 1),
    }


def arrange_sent(sandbox) -> None:
    """Every hub order as the pipeline leaves it: an M3 order and a ShipStation order each."""
    from connectors.shipstation import ShipStationClient
    from orders.models import Order
    from sandbox import demo_data
    from shipping.shipstation_push import shipstation_request

    customer = demo_data.tenant("acme").default_customer
    orders = list(Order.objects.order_by("pk").prefetch_related("lines"))
    for start in range(0, len(orders), SEED_BATCH):
        chunk = orders[start : start + SEED_BATCH]
        numbers = sandbox.control(
            "m3", "seed-orders", tenant="acme",
            orders=[{"CUOR": f"HUB{o.pk}", "CUNO": customer} for o in chunk],
        )["orders"]  # fmt: skip
        for order, number in zip(chunk, numbers, strict=True):
            order.erp_order_number, order.erp_customer_number = number, customer
            order.state = Order.State.SENT_TO_SHIPSTATION
    # Straight at the sandbox, without the hub's shared 40-a-minute window: arranging is not the
    # run being measured, and the run's own calls must find the window empty.
    tenant = demo_data.tenant("acme")
    client = ShipStationClient(
        tenant.shipstation_key, tenant.shipstation_secret, base_url=sandbox.api_url("shipstation")
    )
    for start in range(0, len(orders), 100):
        chunk = orders[start : start + 100]
        results = client.create_orders(shipstation_request(o) for o in chunk)
        for order, result in zip(chunk, results, strict=True):
            order.shipstation_order_id = str(result.order_id)
            order.shipstation_order_key = result.order_key
    Order.objects.bulk_update(
        orders,
        ["erp_order_number", "erp_customer_number", "state", "shipstation_order_id",
         "shipstation_order_key"],
        batch_size=1000,
    )  # fmt: skip


if __name__ == "__main__":
    main()
