"""End-to-end orders per second: sandbox webhooks → web → inbox → workers → M3 → ShipStation.

Starts its own database (recreated), sandbox, gunicorn web server (deploy/gunicorn.conf.py),
the deploy layout's workers (a prefork node with `--workers` processes for the CPU-bound queues,
a threads node with `--io-threads` threads for the upstream queues; `--io-threads 0`: one
prefork node for every queue) and beat; places `--orders` orders over the demo's two tenants
(acme on its own store, globex on the shared one: two ERPs, two ShipStation accounts) and times
from the first order placed to the last one in ShipStation. Reports the upstream calls per
order and the most in flight at once, the hub's and PostgreSQL's CPU time per order (what the
run would reach on two idle cores), the peak PostgreSQL connections and the longest *idle in
transaction* (pg_stat_activity sampled every 0.2 s), and the machine's busy share. Prints one
JSON line.
`--latency m3=300,api2cart=500,shipstation=300` makes the sandbox answer that slowly (ms per
call); `--new-customers` places every order for a shopper neither the store nor the ERP knew.
The JSON has the lag from placed (the store's order time, to the second) to sent to ShipStation,
p50 and p99, and the p50 of the steps on the way.
Usage: .venv/bin/python bench/pipeline_throughput.py [--orders 2000] [--workers 2]
       [--io-threads 16] [--port 8931] [--sandbox-port 8932] [--latency m3=300,...]
       [--new-customers] [--database bench_pipeline] [--redis-url redis://127.0.0.1:6379/10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
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
        "--io-threads", type=int, default=IO_THREADS,
        help="threads of the node for the upstream queues (0: one prefork node for every queue)",
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
        HUB_WEB_WORKERS=str(WEB_WORKERS),
        HUB_WEB_THREADS=str(WEB_THREADS),
    )
    recreate_database(args.database)
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    from demo.seed import seed_demo
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
    sampler = ConnectionSampler(args.database)
    try:
        processes["web"] = start_gunicorn(args.port, env, work / "web.log")
        if args.io_threads:
            # The deploy layout: CPU-bound ingest in processes, upstream waits in threads.
            processes["worker"] = start_worker(
                env, work / "worker.log", concurrency=args.workers, queues=cpu_queues()
            )
            processes["io-worker"] = start_worker(
                env, work / "io-worker.log", concurrency=args.io_threads, name="bench-io",
                queues=IO_QUEUES, pool="threads",
            )  # fmt: skip
        else:
            processes["worker"] = start_worker(env, work / "worker.log", concurrency=args.workers)
        processes["beat"] = start_beat(env, work / "beat.log", work / "beat-schedule")
        for store in STORES:
            register_webhooks(Store.objects.get(name=store))
        connection.close()
        time.sleep(3)  # let the worker's processes come up before the clock starts

        status_before = sandbox.status()
        calls_before = upstream_calls(status_before)
        cpu_before = cpu_snapshot(processes, sandbox.process.pid)
        sampler.start()
        started = time.perf_counter()
        placed_seconds = place_orders(sandbox, args.orders, args.new_customers)
        deadline = started + args.timeout
        while (done := sent()) < args.orders:
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {done} of {args.orders} orders reached ShipStation")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        sampler.stop()
        cpu_after = cpu_snapshot(processes, sandbox.process.pid)
        status = sandbox.status()
        stages = stage_seconds()
    finally:
        sampler.stop()
        for process in processes.values():
            stop(process)
        sandbox.stop()
        redis.Redis.from_url(args.redis_url).flushdb()
    calls = {k: v - calls_before[k] for k, v in upstream_calls(status).items()}
    cpu = {k: round(cpu_after[k] - cpu_before[k], 2) for k in cpu_after}
    cpu["postgres"] = round(sampler.postgres_cpu_seconds(), 2)
    hub_cpu = cpu["web"] + cpu["worker"] + cpu["beat"] + cpu.get("io-worker", 0)
    cores = os.cpu_count() or 1
    lags = stages.pop("sent_to_shipstation")
    print(
        json.dumps(
            {
                "bench": "pipeline_throughput",
                "orders": args.orders,
                "tenants": len(TENANT_STORES),
                "worker_processes": args.workers,
                "io_threads": args.io_threads,
                "seconds": round(elapsed, 2),
                "orders_per_second": round(args.orders / elapsed, 2),
                "placing_seconds": round(placed_seconds, 2),
                "latency_ms": latencies(args.latency),
                "new_customers": args.new_customers,
                "lag_p50_seconds": percentile(lags, 50),
                "lag_p99_seconds": percentile(lags, 99),
                "stage_p50_seconds": {
                    step: percentile(values, 50) for step, values in stages.items()
                },
                "erp_orders": status["m3"]["erp_orders"],
                "shipstation_orders": status["shipstation"]["shipstation_orders"],
                "calls_per_order": {k: round(v / args.orders, 3) for k, v in calls.items()},
                "m3_calls": m3_calls_by_transaction(status_before, status),
                "upstream_in_flight_peak": status["sandbox"].get("in_flight_peak", {}),
                "postgres_connections_peak": sampler.peak_connections,
                "postgres_connection_budget": connection_budget(args.workers, args.io_threads),
                "idle_in_transaction_longest_seconds": round(
                    sampler.longest_idle_in_transaction, 2
                ),
                "idle_in_transaction_longest_after": sampler.idle_in_transaction_query,
                "hub_cpu_ms_per_order": round(hub_cpu / args.orders * 1000, 2),
                "postgres_cpu_ms_per_order": round(cpu["postgres"] / args.orders * 1000, 2),
                "orders_per_second_on_2_idle_cores": round(
                    2 / ((hub_cpu + cpu["postgres"] + cpu["sandbox"]) / args.orders), 1
                ),
                "cpu_seconds": cpu,
                "sandbox_cpu_share_of_machine": round(cpu["sandbox"] / (elapsed * cores), 3),
                "machine_busy_share": round(cpu["machine"] / (elapsed * cores), 3),
            }
        )
    )


WEB_WORKERS, WEB_THREADS = 2, 4
IO_THREADS = 16
"""The deploy layout's threads node (deploy/README.md, "Processes")."""
IO_QUEUES = "erp,shipstation,store,catalog"
"""The queues whose tasks mostly wait on an upstream (integration_hub/settings.py's routes)."""


def cpu_queues() -> str:
    """Every other queue of the hub, for the prefork node (deploy/env/worker-ingest.env)."""
    from django.conf import settings

    return ",".join(q for q in settings.HUB_QUEUES if q not in IO_QUEUES.split(","))


TENANT_STORES = {"acme": "acme-outlet", "globex": "northwind"}
"""Each demo tenant's orders and the store they are placed on: acme's own store, and the shared
store with lines globex owns (so each order is one tenant's, one ShipStation account's)."""
STORES = sorted(set(TENANT_STORES.values()))
PLACE_CHUNK = 25
"""Orders per control call: small enough that a busy sandbox answers within its timeout."""


def place_orders(sandbox, count: int, new_customers: bool) -> float:
    """Place `count` orders, alternating the tenants in chunks; returns the seconds it took."""
    from sandbox import demo_data

    rng = random.Random(31)
    globex_skus = sorted(
        sku
        for product in demo_data.store_products(TENANT_STORES["globex"])
        if product.owner == "globex"
        for sku in product.sellable_skus
    )
    clock = time.perf_counter()
    placed = 0
    while placed < count:
        for tenant, store in TENANT_STORES.items():
            batch = min(PLACE_CHUNK, count - placed)
            if not batch:
                break
            options: dict = {"store": store, "count": batch, "new_customers": new_customers}
            if tenant == "globex":
                options["items"] = [
                    {"sku": sku, "quantity": rng.randint(1, 3)}
                    for sku in rng.sample(globex_skus, rng.randint(1, 4))
                ]
            sandbox.control("api2cart", "place-orders", **options)
            placed += batch
    return time.perf_counter() - clock


def sent() -> int:
    """Orders of every bench tenant that reached ShipStation."""
    from django_tenants.utils import schema_context

    from orders.models import Order

    total = 0
    for tenant in TENANT_STORES:
        with schema_context(tenant):
            total += Order.objects.filter(state=Order.State.SENT_TO_SHIPSTATION).count()
    return total


def stage_seconds() -> dict[str, list[float]]:
    """Each order's time from its store order time to each step, over the bench tenants."""
    from django_tenants.utils import schema_context

    from orders.models import OrderEvent

    found: dict[str, list[float]] = {step: [] for step in STAGES}
    for tenant in TENANT_STORES:
        with schema_context(tenant):
            rows = OrderEvent.objects.filter(step__in=STAGES).values_list(
                "step", "created_at", "order__ordered_at"
            )
            for step, at, placed in rows:
                if placed:
                    found[step].append((at - placed).total_seconds())
    return {step: sorted(values) for step, values in found.items()}


STAGES = ("received", "customer_linked", "in_erp", "sent_to_shipstation")
"""The timeline steps timed from the store's order time; the last is the lag reported."""


def connection_budget(workers: int, io_threads: int) -> int:
    """deploy/README.md's count for this layout: one per web thread, two per worker slot (its
    own and the lease heartbeat's), one for the bench's own queries."""
    return WEB_WORKERS * WEB_THREADS + 2 * (workers + io_threads) + 1


class ConnectionSampler:
    """Samples pg_stat_activity every 0.2 s: the most connections to the bench's database, the
    longest *idle in transaction*, and the CPU time of its backends (from /proc)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.peak_connections = 0
        self.longest_idle_in_transaction = 0.0
        self.idle_in_transaction_query = ""
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def postgres_cpu_seconds(self) -> float:
        return sum(self._cpu_last[pid] - self._cpu_first[pid] for pid in self._cpu_last)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            first = True
            while not self._stopped.wait(0 if first else 0.2):
                rows = c.execute(
                    "SELECT pid, state, extract(epoch FROM now() - state_change), query "
                    "FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
                    [self.database],
                ).fetchall()
                self.peak_connections = max(self.peak_connections, len(rows))
                for pid, state, seconds, query in rows:
                    idle = float(seconds or 0) if state == "idle in transaction" else 0.0
                    if idle > self.longest_idle_in_transaction:
                        self.longest_idle_in_transaction = idle
                        self.idle_in_transaction_query = (query or "")[:120]
                    used = cpu_seconds(pid)
                    self._cpu_first.setdefault(pid, used if first else 0.0)
                    self._cpu_last[pid] = max(used, self._cpu_last.get(pid, 0.0))
                first = False


def latencies(text: str) -> dict[str, int]:
    """`m3=300,api2cart=500` → {"m3": 300, "api2cart": 500}."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    return {name.strip(): int(ms) for name, ms in pairs}


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
