"""End-to-end orders per second: sandbox webhooks → web → inbox → workers → M3 → ShipStation.

Starts its own database (bench_pipeline, recreated), sandbox, web server, one Celery worker with
`--workers` processes and beat, places `--orders` orders on the single-tenant demo store and
times until every one is in ShipStation. Prints one JSON line.
Usage: .venv/bin/python bench/pipeline_throughput.py [--orders 200] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "bench_pipeline"
REDIS_URL = "redis://127.0.0.1:6379/11"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    from tests.harness import HubProcesses, free_port, wait_until

    web_port = free_port()
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
        REDIS_URL=REDIS_URL,
        HUB_PUBLIC_URL=f"http://127.0.0.1:{web_port}",
        DJANGO_SETTINGS_MODULE="integration_hub.settings",
        LOG_LEVEL="WARNING",
    )
    recreate_database()
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from demo.seed import seed_demo
    from orders.models import Order
    from sandbox.testing import start_sandbox
    from tenants.models import Store
    from tenants.store_connection import register_webhooks

    redis.Redis.from_url(REDIS_URL).flushdb()
    call_command("setup_hub", verbosity=0)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    sandbox = start_sandbox(work / "sandbox")
    seed_demo(sandbox.url, register=False)
    from tests.harness import hub_env

    env = hub_env(settings.DATABASES["default"], REDIS_URL, LOG_LEVEL="WARNING", DEBUG="0")
    env["HUB_PUBLIC_URL"] = f"http://127.0.0.1:{web_port}"
    hub = HubProcesses(env, work, web_port=web_port)
    try:
        hub.start_web()
        hub.start_worker(concurrency=args.workers)
        hub.start_beat()
        register_webhooks(Store.objects.get(name="acme-outlet"))
        connection.close()

        def sent() -> int:
            with schema_context("acme"):
                return Order.objects.filter(state=Order.State.SENT_TO_SHIPSTATION).count()

        started = time.perf_counter()
        remaining = args.orders
        while remaining:
            batch = min(remaining, 100)
            sandbox.control("api2cart", "place-orders", store="acme-outlet", count=batch)
            remaining -= batch
        wait_until(lambda: sent() >= args.orders, timeout=1800, interval=0.2)
        elapsed = time.perf_counter() - started
        status = sandbox.status()
        print(
            json.dumps(
                {
                    "bench": "pipeline_throughput",
                    "orders": args.orders,
                    "worker_processes": args.workers,
                    "seconds": round(elapsed, 2),
                    "orders_per_second": round(args.orders / elapsed, 2),
                    "erp_orders": status["m3"]["erp_orders"],
                    "shipstation_orders": status["shipstation"]["shipstation_orders"],
                    "shipstation_calls": status["shipstation"]["calls"],
                }
            )
        )
    finally:
        hub.stop_all()
        sandbox.stop()


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        name = sql.Identifier(BENCH_DB)
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        c.execute(sql.SQL("CREATE DATABASE {}").format(name))


if __name__ == "__main__":
    main()
