"""Prices and stock for 100,000 bound SKUs in one store: full sync, 1 % changed, nothing changed.

Starts its own database (hub_catalog_bench, recreated), a sandbox (port 8910) holding `--skus`
simple products in acme-outlet and as many items in acme's M3, bulk-inserts the bindings, and
runs one Celery worker with `--workers` processes. Phases, each a run asked for as "sync now":
1. full: the first full reconciliation pushes every SKU (nothing was pushed before);
2. reconcile: a nightly full reconciliation with nothing changed (zero store writes);
3. changes: `--changed` (1 %) prices and stock changed in the ERP, read and pushed;
4. idle: a changes run with nothing changed (zero store writes).
Reports seconds, batch jobs, polling calls, store writes and the worker's peak RSS (VmHWM of
the worker and its pool processes). Prints one JSON line.
Usage: .venv/bin/python bench/catalog_sync.py [--skus 100000] [--changed 1000] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "hub_catalog_bench"
REDIS_URL = "redis://127.0.0.1:6379/12"
SANDBOX_PORT = 8910
PREFIX = "BX-"
STORE = "acme-outlet"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    from tests.support.harness import HubProcesses, hub_env, wait_until

    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
        REDIS_URL=REDIS_URL,
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

    from catalog.models import StoreSync, SyncRun
    from catalog.sync import request_run
    from demo.seed import seed_demo
    from sandbox.testing import start_sandbox
    from tenants.models import Store

    redis.Redis.from_url(REDIS_URL).flushdb()
    call_command("setup_hub", verbosity=0)
    work = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    sandbox = start_sandbox(work / "sandbox", port=SANDBOX_PORT)
    hub = None
    try:
        clock = time.perf_counter()
        seeded = sandbox.control(
            "api2cart", "seed-products", store=STORE, count=args.skus, prefix=PREFIX,
            price="10.00", quantity=0,
        )  # fmt: skip
        sandbox.control("m3", "seed-items", tenant="acme", count=args.skus, prefix=PREFIX,
                        price="19.99", on_hand=25, age_minutes=60)  # fmt: skip
        seed_demo(sandbox.url, register=False)
        store = Store.objects.get(name=STORE)
        with schema_context("acme"):
            StoreSync.objects.create(store=store, enabled=False)
            bind(store.pk, int(seeded["first_id"]), args.skus)
        seed_seconds = time.perf_counter() - clock
        connection.close()

        env = hub_env(settings.DATABASES["default"], REDIS_URL, LOG_LEVEL="WARNING", DEBUG="0")
        hub = HubProcesses(env, work)
        worker = hub.start_worker(concurrency=args.workers)

        def run_phase(mode: str) -> dict:
            before = sandbox.status()["api2cart"]
            calls_before = calls(sandbox)
            started = time.perf_counter()
            read_at: list[float] = []
            with schema_context("acme"):
                run = request_run(store, mode, actor="bench")
                connection.close()

                def finished() -> SyncRun | None:
                    current = SyncRun.objects.get(pk=run.pk)
                    if current.state != SyncRun.State.PENDING and not read_at:
                        read_at.append(time.perf_counter())
                    ended = ("done", "needs_attention", "failed")
                    return current if current.state in ended else None

                done = wait_until(finished, timeout=900, interval=0.1)
                connection.close()
            seconds = time.perf_counter() - started
            after = sandbox.status()["api2cart"]
            polls = calls(sandbox).get("batch.job.result", 0) - calls_before.get(
                "batch.job.result", 0
            )
            return {
                "state": done.state,
                "seconds": round(seconds, 2),
                "read_seconds": round(read_at[0] - started, 2),
                "erp_rows": done.erp_rows,
                "items_pushed": done.items_done,
                "items_failed": done.items_failed,
                "batch_jobs": after["product_batch_updates"] - before["product_batch_updates"],
                "single_updates": after["product_updates"] - before["product_updates"],
                "result_polls": polls,
            }

        full = run_phase(SyncRun.Mode.FULL)
        reconcile = run_phase(SyncRun.Mode.FULL)
        changed = [f"{PREFIX}{n * (args.skus // args.changed):06d}" for n in range(args.changed)]
        prices = [{"sku": sku, "amount": "24.50"} for sku in changed]
        stocks = [{"sku": sku, "warehouse": "100", "qty": 3} for sku in changed]
        sandbox.control("m3", "set-prices", tenant="acme", prices=prices)
        sandbox.control("m3", "set-stocks", tenant="acme", stocks=stocks)
        changes = run_phase(SyncRun.Mode.CHANGES)
        idle = run_phase(SyncRun.Mode.CHANGES)
        peak_rss_mb = round(peak_rss_kb(worker.pid) / 1024, 1)
        print(
            json.dumps(
                {
                    "bench": "catalog_sync",
                    "skus": args.skus,
                    "changed": args.changed,
                    "worker_processes": args.workers,
                    "seed_seconds": round(seed_seconds, 1),
                    "full": full,
                    "reconcile_unchanged": reconcile,
                    "changes": changes,
                    "max_batch_jobs_for_changes": math.ceil(args.changed / 250),
                    "idle": idle,
                    "worker_peak_rss_mb": peak_rss_mb,
                }
            )
        )
    finally:
        if hub is not None:
            hub.stop_all()
        sandbox.stop()


def bind(store_id: int, first_id: int, count: int) -> None:
    """100,000 bindings in one INSERT ... SELECT (as matching by SKU would leave them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_itembinding (store_id, sku, erp_item_number, store_product_id,"
            " store_variant_id, erp_stock, push_state, push_failures, push_error, created_at,"
            " updated_at) SELECT %s, %s || lpad(n::text, 6, '0'), %s || lpad(n::text, 6, '0'),"
            " (%s + n)::text, '', '{}'::jsonb, 'no_erp_value', 0, '', now(), now()"
            " FROM generate_series(0, %s - 1) AS n",
            [store_id, PREFIX, PREFIX, first_id, count],
        )


def calls(sandbox) -> dict[str, int]:
    """API2Cart calls by method, from the sandbox's counters."""
    import sqlite3

    db = sqlite3.connect(sandbox.state_dir / "sandbox.sqlite3")
    try:
        return dict(db.execute("SELECT method, count FROM a2c_received").fetchall())
    finally:
        db.close()


def peak_rss_kb(pid: int) -> int:
    """The highest VmHWM of the worker and its pool processes."""
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    peak = 0
    for process in [pid, *map(int, children)]:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        name = sql.Identifier(BENCH_DB)
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        c.execute(sql.SQL("CREATE DATABASE {}").format(name))


if __name__ == "__main__":
    main()
