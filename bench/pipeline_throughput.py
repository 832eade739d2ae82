"""End-to-end orders per second: sandbox webhooks → web → inbox → workers → M3 → ShipStation.

Starts its own database (recreated), sandbox, gunicorn web server (deploy/gunicorn.conf.py), one
Celery worker node with `--workers` processes consuming every queue, and beat; places `--orders`
orders on the single-tenant demo store and times from the first webhook to the last order in
ShipStation. Reports the upstream calls per order, the hub's own CPU time per order (web +
workers + beat), PostgreSQL's, and the sandbox's share of the machine. Prints one JSON line.
`--latency m3=300,api2cart=500,shipstation=300` makes the sandbox answer that slowly (ms per
call); `--new-customers` places every order for a shopper neither the store nor the ERP knew.
The JSON adds the lag from placed (the store's order time) to sent to ShipStation, p50 and p99.
Usage: .venv/bin/python bench/pipeline_throughput.py [--orders 2000] [--workers 2]
       [--port 8931] [--sandbox-port 8932] [--latency m3=300,...] [--new-customers]
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

from bench.proc_cpu import cpu_seconds, machine_busy_seconds  # noqa: E402
from bench.servers import (  # noqa: E402
    recreate_database,
    start_beat,
    start_gunicorn,
    start_worker,
    stop,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--sandbox-port", type=int, default=8932)
    parser.add_argument("--database", default="bench_pipeline")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--latency", default="", help="e.g. m3=300,api2cart=500,shipstation=300")
    parser.add_argument("--new-customers", action="store_true")
    parser.add_argument(
        "--io-threads", type=int, default=0,
        help="run the upstream queues in a threads pool of this size (0: one prefork node)",
    )  # fmt: skip
    args = parser.parse_args()

    hub_url = f"http://127.0.0.1:{args.port}"
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.redis_url,
        HUB_PUBLIC_URL=hub_url,
        DJANGO_SETTINGS_MODULE="integration_hub.settings",
        LOG_LEVEL="WARNING",
        DEBUG="0",
        HUB_WEB_WORKERS="2",
        HUB_WEB_THREADS="4",
    )
    recreate_database(args.database)
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from demo.seed import seed_demo
    from orders.models import Order
    from sandbox.testing import start_sandbox
    from tenants.models import Store
    from tenants.store_connection import register_webhooks

    redis.Redis.from_url(args.redis_url).flushdb()
    call_command("setup_hub", verbosity=0)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    sandbox = start_sandbox(work / "sandbox", port=args.sandbox_port, hub_url=hub_url)
    seed_demo(sandbox.url, register=False)
    for upstream, milliseconds in latencies(args.latency).items():
        sandbox.control(upstream, "faults", latency_ms=milliseconds)
    env = {**os.environ, "HUB_SWEEP_SECONDS": "5", "HUB_SWEEP_GRACE_SECONDS": "20"}
    processes = {}
    try:
        processes["web"] = start_gunicorn(args.port, env, work / "web.log")
        if args.io_threads:
            # The deploy layout: CPU-bound ingest in processes, upstream waits in threads.
            processes["worker"] = start_worker(
                env, work / "worker.log", concurrency=args.workers, queues="ingest,hub"
            )
            processes["io-worker"] = start_worker(
                env, work / "io-worker.log", concurrency=args.io_threads, name="bench-io",
                queues=IO_QUEUES, pool="threads",
            )  # fmt: skip
        else:
            processes["worker"] = start_worker(env, work / "worker.log", concurrency=args.workers)
        processes["beat"] = start_beat(env, work / "beat.log", work / "beat-schedule")
        register_webhooks(Store.objects.get(name="acme-outlet"))
        connection.close()
        time.sleep(3)  # let the worker's processes come up before the clock starts

        def sent() -> int:
            with schema_context("acme"):
                return Order.objects.filter(state=Order.State.SENT_TO_SHIPSTATION).count()

        status_before = sandbox.status()
        calls_before = upstream_calls(status_before)
        cpu_before = cpu_snapshot(processes, sandbox.process.pid)
        started = time.perf_counter()
        remaining = args.orders
        while remaining:
            batch = min(remaining, 100)
            sandbox.control(
                "api2cart", "place-orders", store="acme-outlet", count=batch,
                new_customers=args.new_customers,
            )  # fmt: skip
            remaining -= batch
        deadline = started + args.timeout
        while sent() < args.orders:
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {sent()} of {args.orders} orders reached ShipStation")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        cpu_after = cpu_snapshot(processes, sandbox.process.pid)
        status = sandbox.status()
        with schema_context("acme"):
            lags = placed_to_shipstation_seconds()
    finally:
        for process in processes.values():
            stop(process)
        sandbox.stop()
        redis.Redis.from_url(args.redis_url).flushdb()
    calls = {k: v - calls_before[k] for k, v in upstream_calls(status).items()}
    cpu = {k: round(cpu_after[k] - cpu_before[k], 2) for k in cpu_after}
    hub_cpu = cpu["web"] + cpu["worker"] + cpu["beat"] + cpu.get("io-worker", 0)
    cores = os.cpu_count() or 1
    print(
        json.dumps(
            {
                "bench": "pipeline_throughput",
                "orders": args.orders,
                "worker_processes": args.workers,
                "io_threads": args.io_threads,
                "seconds": round(elapsed, 2),
                "orders_per_second": round(args.orders / elapsed, 2),
                "latency_ms": latencies(args.latency),
                "new_customers": args.new_customers,
                "lag_p50_seconds": percentile(lags, 50),
                "lag_p99_seconds": percentile(lags, 99),
                "erp_orders": status["m3"]["erp_orders"],
                "shipstation_orders": status["shipstation"]["shipstation_orders"],
                "calls_per_order": {k: round(v / args.orders, 3) for k, v in calls.items()},
                "m3_calls": m3_calls_by_transaction(status_before, status),
                "hub_cpu_ms_per_order": round(hub_cpu / args.orders * 1000, 2),
                "cpu_seconds": cpu,
                "sandbox_cpu_share_of_machine": round(cpu["sandbox"] / (elapsed * cores), 3),
                "machine_busy_share": round(cpu["machine"] / (elapsed * cores), 3),
            }
        )
    )


IO_QUEUES = "erp,shipstation,store,catalog"
"""The queues whose tasks mostly wait on an upstream (integration_hub/settings.py's routes)."""


def latencies(text: str) -> dict[str, int]:
    """`m3=300,api2cart=500` → {"m3": 300, "api2cart": 500}."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    return {name.strip(): int(ms) for name, ms in pairs}


def placed_to_shipstation_seconds() -> list[float]:
    """Each order's time from its store order time to its move to *sent to ShipStation*."""
    from orders.models import OrderEvent

    sent = OrderEvent.objects.filter(step="sent_to_shipstation").values_list(
        "created_at", "order__ordered_at"
    )
    return sorted((at - placed).total_seconds() for at, placed in sent if placed)


def percentile(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * pct / 100))], 2)


def upstream_calls(status: dict) -> dict[str, int]:
    return {name: status[name]["calls"] for name in ("api2cart", "m3", "shipstation")}


def m3_calls_by_transaction(before: dict, after: dict) -> dict[str, int]:
    """M3 calls made during the run, by transaction (a bulk call by the transactions it held)."""
    old = before["m3"]["calls_by_transaction"]
    new = after["m3"]["calls_by_transaction"]
    made = {name: count - old.get(name, 0) for name, count in new.items()}
    return {name: count for name, count in made.items() if count}


def cpu_snapshot(processes: dict, sandbox_pid: int) -> dict[str, float]:
    """CPU seconds so far of each hub process tree, the sandbox and the whole machine.

    PostgreSQL's backends are left out: they come and go with connections, so /proc cannot
    account for them (the machine's figure includes them).
    """
    snapshot = {name: cpu_seconds(process.pid) for name, process in processes.items()}
    snapshot["sandbox"] = cpu_seconds(sandbox_pid)
    snapshot["machine"] = machine_busy_seconds()
    return snapshot


if __name__ == "__main__":
    main()
