"""What a thousand idle tenants cost: CPU of beat, a worker and PostgreSQL, and statements per tick.

A database with `--tenants` idle tenants (bench/many_tenants.py makes it once and reuses it) is
put in its steady state (one sweep visits every tenant, as after a day of running: each is left
with its next wake-up). Then:
- statements per tick: one `sweep()` in this process, under Django's query capture, with
  nothing due; and what the sweeper before wake-ups ran per tick (every tenant job's `find`
  in one schema, times the tenants, plus the public jobs), counted the same way;
- CPU: beat and one worker (prefork, 2 processes, every queue) run for `--minutes`; CPU-seconds
  per minute of their process trees and of the PostgreSQL backends of this database (read
  from /proc; backends found in pg_stat_activity every few seconds), and the database's
  transactions per minute. `--visit-all` runs the sweeper as before wake-ups
  (HUB_SWEEP_VISIT_ALL=1) for comparison.
- `EXTRA_PROBES`: further measurements of the same idle database (pages, /metrics); each
  takes the `Probe` context and returns fields for the JSON line.

Prints one JSON line. Target (issue 31): ≤ 2 CPU-s/min at 1,000 idle tenants, a tick ≤ 50
statements when nothing is due.
Usage: .venv/bin/python bench/tenants_idle.py --tenants 1000 [--database hub_idle_bench]
       [--minutes 2] [--visit-all] [--redis-url redis://127.0.0.1:6379/1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.many_tenants import database_url, ensure_tenants  # noqa: E402
from bench.proc_cpu import TICKS, _stat, cpu_seconds  # noqa: E402
from bench.servers import start_beat, start_worker, stop  # noqa: E402

WARM_UP_SECONDS = 20
SAMPLE_SECONDS = 2.0


@dataclass
class Probe:
    """What an extra probe gets: the idle database, its tenants, the environment used."""

    database: str
    schemas: list[str]
    env: dict[str, str]


EXTRA_PROBES: list[Callable[[Probe], dict]] = []
"""Further measurements of the idle database (e.g. the platform index's and /metrics' queries
and time): each returns fields added to the JSON line."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--database", default="hub_idle_bench")
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--visit-all", action="store_true")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/1")
    args = parser.parse_args()
    schemas = ensure_tenants(args.database, args.tenants, redis_url=args.redis_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(args.database),
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "integration_hub.settings",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "0",  # as in production: no query log kept in memory
        "HUB_SWEEP_VISIT_ALL": "1" if args.visit_all else "",
    }
    os.environ.update(env)
    import django

    django.setup()
    result = {"bench": "tenants_idle", "tenants": len(schemas), "visit_all": args.visit_all}
    result.update(statements_per_tick())
    forget_setup_messages()
    result.update(cpu_per_minute(args.database, env, args.minutes))
    for probe in EXTRA_PROBES:
        result.update(probe(Probe(args.database, schemas, env)))
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


def statements_per_tick() -> dict:
    """One idle tick's statements now, and the sweeper's before wake-ups, counted alike."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from core import sweeper

    top_up_spares()
    cache.clear()  # a fresh start: no upkeep slots, no last tick
    started = time.perf_counter()
    with counted(connection) as visit_all_statements:
        sweeper.sweep(visit_all=True)  # the steady state: each tenant left with its next wake-up
    visit_all_seconds = time.perf_counter() - started
    sweeper.sweep()
    connection.queries_log.clear()  # a full log (9,000) would make the capture read nothing
    with CaptureQueriesContext(connection) as tick:
        started = time.perf_counter()
        report = sweeper.sweep()
        tick_seconds = time.perf_counter() - started
    tenant_jobs = [job for job in sweeper.registered() if job.in_tenants]
    public_jobs = [job for job in sweeper.registered() if not job.in_tenants]
    now = timezone.now()
    stale = now - timedelta(seconds=settings.HUB_SWEEP_GRACE_SECONDS)
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as public:
        for job in public_jobs:
            job.find(now, stale)
    schema = next(iter(sweeper.tenant_schemas()))
    connection.queries_log.clear()
    with schema_context(schema), CaptureQueriesContext(connection) as one_schema:
        for job in tenant_jobs:
            job.find(now, stale)
    tenants = sweeper.active_tenants().count()
    return {
        "statements_per_idle_tick": len(tick.captured_queries),
        "idle_tick_ms": round(tick_seconds * 1000, 1),
        "idle_tick_visited": sorted({s for found in report.values() for s in found} - {"public"}),
        "statements_per_tick_before_wake_ups": len(public.captured_queries)
        + tenants * len(one_schema.captured_queries),
        "statements_per_schema_before_wake_ups": len(one_schema.captured_queries),
        "statements_per_visit_all_tick": visit_all_statements[0],
        "visit_all_tick_seconds": round(visit_all_seconds, 1),
    }


@contextmanager
def counted(connection) -> Iterator[list[int]]:
    """Statements run on `connection` meanwhile, however many (the query log keeps 9,000)."""
    count = [0]

    def execute(run, sql, params, many, context):
        count[0] += 1
        return run(sql, params, many, context)

    with connection.execute_wrapper(execute):
        yield count


def forget_setup_messages() -> None:
    """The steady-state visit sent each tenant's upkeep messages (figures, pruning) once: a
    one-off like a deploy's, not idle work; the queues start empty."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(*settings.HUB_QUEUES)


def top_up_spares() -> None:
    """Clone the spare tenant schemas the filler used up, as the sweep job would: a one-off
    cost after tenants are made, not an idle one."""
    from django.conf import settings

    from tenants.spare_schemas import clone_spare, spare_schemas

    while len(spare_schemas()) < settings.HUB_SPARE_SCHEMAS:
        clone_spare()


def cpu_per_minute(database: str, env: dict[str, str], minutes: float) -> dict:
    """Beat and one worker, idle, for `minutes`: CPU-s per minute of each and of PostgreSQL."""
    work = Path(tempfile.mkdtemp(prefix="tenants_idle_"))
    worker = start_worker(env, work / "worker.log", concurrency=2, name="idle")
    beat = start_beat(env, work / "beat.log", work / "beat-schedule")
    try:
        time.sleep(WARM_UP_SECONDS)
        backends = BackendCpu(database)
        before = {"beat": cpu_seconds(beat.pid), "worker": cpu_seconds(worker.pid)}
        xacts_before = transactions(database)
        started = time.monotonic()
        while time.monotonic() - started < minutes * 60:
            backends.sample()
            time.sleep(SAMPLE_SECONDS)
        backends.sample()
        elapsed = (time.monotonic() - started) / 60
        used = {
            "beat": cpu_seconds(beat.pid) - before["beat"],
            "worker": cpu_seconds(worker.pid) - before["worker"],
            "postgres": backends.total(),
        }
        xacts = transactions(database) - xacts_before
    finally:
        stop(beat)
        stop(worker)
    per_minute = {name: round(seconds / elapsed, 2) for name, seconds in used.items()}
    return {
        "minutes": round(elapsed, 2),
        "cpu_seconds_per_minute": round(sum(used.values()) / elapsed, 2),
        "cpu_seconds_per_minute_by_process": per_minute,
        "transactions_per_minute": round(xacts / elapsed),
    }


class BackendCpu:
    """CPU of the PostgreSQL backends serving one database (autovacuum included): each
    backend's CPU since it was first seen, or since it started when it appeared meanwhile."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sample(baseline=True)

    def sample(self, baseline: bool = False) -> None:
        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()",
                    [self.database],
                ).fetchall()
            ]
        for pid in pids:
            fields = _stat(pid)
            if fields is None:
                continue
            used = (int(fields[11]) + int(fields[12])) / TICKS
            self.first.setdefault(pid, used if baseline else 0.0)
            self.last[pid] = used

    def total(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def transactions(database: str) -> int:
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        return conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            [database],
        ).fetchone()[0]


if __name__ == "__main__":
    main()
