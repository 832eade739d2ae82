"""Webhook ingest under the production server: the hub's endpoint against bare insert views.

Two yardsticks, each a Django view with no middleware that inserts the raw body with one cursor
call and answers 200:
- *own project* (`bench/bare_project/`): a separate minimal Django project in its own gunicorn
  process (the hub's gunicorn settings) and its own database, storing the body as jsonb. The
  issue 31 comparison: the hub's endpoint must reach 0.9× of it with p99 ≤ 50 ms.
- *same process* (`bench/bare_ingest.py`): a view inside the hub's own server and database,
  storing text (the earlier comparison, kept for continuity).

Each server configuration in `--modes` is measured in turn: `threaded` (gunicorn
`--workers` × `--threads`, the deploy layout) and `sync` (`--workers` sync processes). Within a
configuration the three endpoints are driven for `--seconds` each with `--connections` keep-alive
clients (order webhooks, every body a new order), after a short warm-up of each, in `--rounds`
slices whose order rotates, so a burst of other load on a shared machine falls on all alike.
The load comes from wrk when it is installed (`apt-get install wrk`), else from
`bench/loadgen.py`'s Python clients (named in the output); wrk's p99 is its own, with its
coordinated-omission correction. Beside requests per second (wall clock, so other load on the
machine moves them) each endpoint reports the CPU its server's processes and its database's
PostgreSQL backends spent per request, read from /proc around each measured slice; `cpu_ratio`
(the bare view's CPU per request over the hub's) is the throughput ratio a CPU-bound machine
would show, and barely moves with other load. Afterwards every webhook the hub answered with 2xx
must be in the inbox. Prints one JSON line. Usage:
  .venv/bin/python bench/webhook_ingest.py [--port 8930] [--seconds 10] [--connections 32]
      [--rounds 5] [--modes threaded,sync] [--load-generator auto|wrk|python]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import (  # noqa: E402
    LoadResult,
    post_request,
    run_load,
    run_wrk,
    wrk_available,
)
from bench.proc_cpu import cpu_seconds  # noqa: E402
from bench.servers import recreate_database, spawn, stop, wait_for  # noqa: E402

HEADERS = {
    "Content-Type": "application/json",
    "X-Webhook-Store-Id": "1",
    "X-Webhook-Entity": "order",
    "X-Webhook-Action": "add",
    "X-Webhook-Error-Code": "0",
}
ORDER_TEMPLATE = json.dumps(
    {
        "id": "%d",
        "order_id": "B%07d",
        "store_id": "1",
        "status": {"id": "pending", "name": "Pending"},
        "customer": {"id": "%d", "email": "c%d@x.test"},
        "currency": {"iso3": "USD"},
        "create_at": {"value": "2026-11-29T10:00:00+0000", "format": "Y-m-d\\TH:i:sO"},
        "totals": {"total": 129.9, "subtotal": 119.9, "shipping": 10.0, "tax": 0.0},
    }
)
"""An `order.add` body of the usual size (API2Cart sends the order's ids and a few fields)."""
ORDER_FIELDS_LUA = "900000 + n, n, 5000 + n % 997, n % 997"
"""`order_fields` for wrk's request script (Lua, over the request's number `n`)."""


def order_fields(number: int) -> tuple[int, ...]:
    return (900000 + number, number, 5000 + number % 997, number % 997)


def order_body(number: int) -> bytes:
    return (ORDER_TEMPLATE % order_fields(number)).encode()


@dataclass
class Endpoint:
    """One side of the comparison: where it listens, what it has answered so far, and the CPU
    its server's processes and its database's backends spent on it (seconds, measured runs)."""

    name: str
    port: int
    path: str
    server: subprocess.Popen
    database: str
    total: LoadResult = field(default_factory=lambda: LoadResult(seconds=0.0))
    web_cpu: float = 0.0
    postgres_cpu: float = 0.0

    def summary(self) -> dict:
        per_request = 1000 / max(self.total.requests, 1)
        return {
            **self.total.summary(),
            "web_cpu_ms_per_request": round(self.web_cpu * per_request, 3),
            "postgres_cpu_ms_per_request": round(self.postgres_cpu * per_request, 3),
        }

    @property
    def cpu_per_request(self) -> float:
        return (self.web_cpu + self.postgres_cpu) / max(self.total.requests, 1)


def backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to `database`."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]
        ).fetchall()
    return {pid: cpu_seconds(pid) for (pid,) in pids}


class Load:
    """Drives an endpoint for some seconds with wrk or the Python clients; numbers never repeat.

    Counts the hub's 2xx answers and runs, warm-ups included, for the inbox check: every answered
    webhook is a row, and at most `connections` more per run (requests the server took just as
    the run ended) may be rows nobody saw answered.
    """

    def __init__(self, generator: str, connections: int) -> None:
        self.generator, self.connections = generator, connections
        self.runs = itertools.count(1)
        self.numbers = itertools.count(1)
        self.hub_answered = self.hub_runs = 0

    def run(self, endpoint: Endpoint, seconds: float) -> LoadResult:
        result = self._drive(endpoint, seconds)
        if endpoint.name == "hub":
            self.hub_runs += 1
            self.hub_answered += result.statuses.get(200, 0) + result.statuses.get("2xx", 0)
        return result

    def _drive(self, endpoint: Endpoint, seconds: float) -> LoadResult:
        if self.generator == "wrk":
            return run_wrk(
                "127.0.0.1", endpoint.port, endpoint.path, HEADERS,
                body_template=ORDER_TEMPLATE, body_fields=ORDER_FIELDS_LUA,
                first_number=next(self.runs) * 100_000_000, connections=self.connections,
                seconds=max(1, round(seconds)),
            )  # fmt: skip
        host = f"127.0.0.1:{endpoint.port}"

        def build() -> bytes:
            return post_request(host, endpoint.path, order_body(next(self.numbers)), HEADERS)

        return run_load(
            "127.0.0.1", endpoint.port, build, connections=self.connections, seconds=seconds
        )


def start_server(
    config: str, app: str, port: int, env: dict[str, str], log_path: Path
) -> subprocess.Popen:
    """gunicorn with `config` serving `app` on 127.0.0.1:`port`, once `/healthz` answers."""
    server = spawn(
        ["-m", "gunicorn", "-c", config, app], {**env, "HUB_WEB_BIND": f"127.0.0.1:{port}"},
        log_path,
    )  # fmt: skip
    wait_for(f"http://127.0.0.1:{port}/healthz", server, log_path)
    return server


def compare(
    endpoints: list[Endpoint], load: Load, *, seconds: float, warmup: float, rounds: int
) -> None:
    """Warm every endpoint up, then `rounds` slices each, their order rotating per round."""
    for endpoint in endpoints:
        load.run(endpoint, warmup)
    for round_number in range(rounds):
        shift = round_number % len(endpoints)
        for endpoint in endpoints[shift:] + endpoints[:shift]:
            web, backends = cpu_seconds(endpoint.server.pid), backends_cpu(endpoint.database)
            endpoint.total.add(load.run(endpoint, seconds / rounds))
            endpoint.web_cpu += cpu_seconds(endpoint.server.pid) - web
            endpoint.postgres_cpu += sum(
                spent - backends.get(pid, 0.0)
                for pid, spent in backends_cpu(endpoint.database).items()
            )


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def ratio(hub: LoadResult, bare: LoadResult) -> float:
    return round(hub.requests / hub.seconds / max(bare.requests / bare.seconds, 0.1), 3)


def prepare_databases(database: str, bare_database: str, redis_url: str) -> str:
    """Both databases made afresh: the hub's set up with one store (and the same-process bare
    table), the bare project's with its table. Sets Django up with the hub's settings from
    `DATABASE_URL`; returns the store's webhook token."""
    recreate_database(database)
    recreate_database(bare_database)
    import django

    django.setup()
    import psycopg
    import redis
    from django.core.management import call_command
    from django.db import connection

    from bench.bare_ingest import CREATE_TABLE
    from bench.bare_project.urls import CREATE_TABLE as CREATE_OWN_TABLE
    from tenants.models import Api2CartAccount, Store

    redis.Redis.from_url(redis_url).flushdb()
    call_command("setup_hub", verbosity=0)
    account = Api2CartAccount.objects.create(
        name="bench", base_url="http://127.0.0.1:9/api2cart/v1.1", api_key="bench-key"
    )
    store = Store.objects.create(
        name="bench-store", display_name="Bench", platform="Shopify",
        url="https://bench.example", account=account, store_key="bench-store-key",
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)
    connection.close()
    bare_url = f"postgresql://postgres@127.0.0.1:5432/{bare_database}"
    with psycopg.connect(bare_url) as bare_db:
        bare_db.execute(CREATE_OWN_TABLE)
    return store.webhook_token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8930, help="the hub; the bare project +1")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and mode")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="per worker, threaded mode")
    parser.add_argument("--modes", default="threaded,sync")
    parser.add_argument("--load-generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--database", default="bench_webhook_ingest")
    parser.add_argument("--bare-database", default="bench_webhook_bare")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args()
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if wrk_available() else "python"
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]

    hub_database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    bare_database_url = f"postgres://postgres@127.0.0.1:5432/{args.bare_database}"
    os.environ.update(
        DATABASE_URL=hub_database_url,
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.redis_url,
        DJANGO_SETTINGS_MODULE="integration_hub.settings",
        LOG_LEVEL="WARNING",
        DEBUG="0",
    )
    token = prepare_databases(args.database, args.bare_database, args.redis_url)
    import redis

    from bench.bare_ingest import BARE_PATH as SAME_PROCESS_PATH
    from bench.bare_project.urls import BARE_PATH as OWN_PROJECT_PATH
    from inbox.models import InboxItem

    load = Load(generator, args.connections)
    results: dict[str, dict] = {}
    load_before = load_average()
    for mode in modes:
        threads = args.threads if mode == "threaded" else 1
        env = {**os.environ, "HUB_WEB_WORKERS": str(args.workers), "HUB_WEB_THREADS": str(threads)}
        env.pop("HUB_WEB_CONCURRENCY", None)  # the gunicorn settings derive it from the threads
        hub_server = start_server(
            "deploy/gunicorn.conf.py", "bench.bare_ingest:app", args.port, env,
            ROOT / "var" / "log" / "bench-webhook-web.log",
        )  # fmt: skip
        bare_env = {**env, "DATABASE_URL": bare_database_url,
                    "DJANGO_SETTINGS_MODULE": "bench.bare_project.settings"}  # fmt: skip
        try:
            bare_server = start_server(
                "bench/bare_project/gunicorn.conf.py", "bench.bare_project.wsgi:application",
                args.port + 1, bare_env, ROOT / "var" / "log" / "bench-webhook-bare.log",
            )  # fmt: skip
        except BaseException:
            stop(hub_server)
            raise
        hub = Endpoint("hub", args.port, f"/webhooks/api2cart/{token}/",
                       hub_server, args.database)  # fmt: skip
        own = Endpoint("bare_own_project", args.port + 1, OWN_PROJECT_PATH, bare_server,
                       args.bare_database)  # fmt: skip
        same = Endpoint("bare_same_process", args.port, SAME_PROCESS_PATH, hub_server,
                        args.database)  # fmt: skip
        try:
            compare([hub, own, same], load, seconds=args.seconds, warmup=args.warmup,
                    rounds=args.rounds)  # fmt: skip
        finally:
            stop(hub_server)
            stop(bare_server)
        results[mode] = {
            "web": f"gunicorn {args.workers} workers x {threads} threads"
            + (" (gthread)" if threads > 1 else " (sync)"),
            "hub": hub.summary(),
            "bare_own_project": own.summary(),
            "bare_same_process": same.summary(),
            "ratio": ratio(hub.total, own.total),
            "ratio_same_process": ratio(hub.total, same.total),
            "cpu_ratio": round(own.cpu_per_request / max(hub.cpu_per_request, 1e-9), 3),
        }
    load_after = load_average()

    stored = InboxItem.objects.count()
    redis.Redis.from_url(args.redis_url).flushdb()
    in_inbox = load.hub_answered <= stored <= load.hub_answered + args.connections * load.hub_runs
    refused = sum(
        count
        for result in results.values()
        for status, count in result["hub"]["statuses"].items()
        if status not in ("200", "2xx")
    )
    errors = sum(result["hub"]["errors"] for result in results.values())
    met = {
        mode: result["ratio"] >= 0.9 and result["hub"]["p99_ms"] <= 50
        for mode, result in results.items()
    }
    print(
        json.dumps(
            {
                "bench": "webhook_ingest",
                "load_generator": "wrk" if generator == "wrk" else "bench/loadgen.py",
                "connections": args.connections,
                "seconds_per_endpoint": args.seconds,
                "rounds": args.rounds,
                "load_average_before_after": [load_before, load_after],
                **results,
                "hub_answered_2xx": load.hub_answered,
                "hub_refused": refused,
                "hub_errors": errors,
                "inbox_rows": stored,
                "inbox_holds_every_answered": in_inbox,
                "target_met_by_mode": met,
                "target_met": all(met.values()) and refused == 0 and errors == 0 and in_inbox,
            }
        )
    )


if __name__ == "__main__":
    main()
