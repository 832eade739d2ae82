"""Retention over 100,000 done and open orders in one tenant: how long one run takes.

Recreates its own database (`--database`, default hub_retention_bench), migrates it, provisions
one tenant, seeds `--orders` orders in SQL (`tests/support/privacy.py`: mixed states, half done
120 days ago, each with a line and two timeline entries, every third with a shipment, every
fifth with a failed attempt, every tenth with an address change), then runs the retention job
once as the worker would (`privacy.retention.apply_retention`, batches of
HUB_PRIVACY_BATCH_SIZE) and the sweep job's hourly question once more with nothing due.
By default every order is done and past the period (the worst case); `--mixed` seeds the
retention test's mix of states, half of them past the period.
Prints one JSON line: orders seeded, orders whose data was removed, seconds (wall clock), the
PostgreSQL backend's CPU seconds for the run (read from /proc: what the run costs whatever else
the machine is doing), the load average, rows changed.
Usage: .venv/bin/python bench/retention.py [--orders 100000] [--mixed] [--database NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--database", default="hub_retention_bench")
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="Every state, half of them done long ago (the test's mix), instead of every "
        "order done and past the period (the worst case).",
    )
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        DJANGO_SETTINGS_MODULE="integration_hub.settings",
        LOG_LEVEL="WARNING",
    )
    recreate_database(args.database)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from bench.proc_cpu import cpu_seconds
    from orders.models import Order
    from privacy import retention
    from tenants.provisioning import provision_tenant
    from tests.support.privacy import seed_orders

    call_command("setup_hub", verbosity=0)
    provision_tenant(slug="bench", name="Bench Ltd", admin_email="ops@bench.test")
    with schema_context(_schema("bench")):
        clock = time.perf_counter()
        if args.mixed:
            rows_seeded = seed_orders(args.orders)
        else:
            done = [str(state) for state in retention.DONE_STATES]
            rows_seeded = seed_orders(args.orders, states=done, old_every=1)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        seed_seconds = time.perf_counter() - clock
        due = retention.orders_due(timezone.now()).count()

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        cpu_before = cpu_seconds(backend)
        clock = time.perf_counter()
        run = retention.apply_retention()
        seconds = time.perf_counter() - clock
        database_cpu = cpu_seconds(backend) - cpu_before

        clock = time.perf_counter()
        still_due = bool(retention.due_in_tenant(timezone.now(), timezone.now()))
        idle_ms = (time.perf_counter() - clock) * 1000
        removed = Order.objects.exclude(personal_data_removed_at=None).count()
    print(
        json.dumps(
            {
                "orders": args.orders,
                "rows_seeded": rows_seeded,
                "seed_seconds": round(seed_seconds, 2),
                "orders_due": due,
                "orders_removed": run.orders,
                "batches": run.batches,
                "seconds": round(seconds, 2),
                "database_cpu_seconds": round(database_cpu, 2),
                "load_average": round(os.getloadavg()[0], 1),
                "rows_changed": run.rows_changed,
                "rows_by_kind": dict(run.rows),
                "orders_marked": removed,
                "idle_check_ms": round(idle_ms, 2),
                "still_due": still_due,
            }
        )
    )


def _schema(slug: str) -> str:
    from tenants.models import Tenant

    return Tenant.objects.get(slug=slug).schema_name


def recreate_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
