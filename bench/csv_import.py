"""How long a 10,000-row order file (5,000 orders of two lines) takes from upload to imported.

Uses its own database (hub_csv unless `--database`, dropped first) and Redis database 11
(unless `--redis-db`, flushed), one tenant.
The file is a Shopify orders export (order columns only on each order's first row). Times the
upload (read, count, suggest a mapping) and the import as the worker runs it, order by order as
by default (every row checked, the orders known in its sales channel looked up, orders, lines
and events written in one transaction, then after commit one message per 500 orders asking a
worker to publish their pipeline messages), when the result became visible
(committed) and what came after it, then runs those fan-out messages here as a worker would and
times them too. Counts the SQL statements and the messages in the broker, and the import's CPU
seconds in this process (steadier than the wall clock on a shared machine). Prints one
JSON line; `--profile` writes the import's cProfile top functions (cumulative, own time) to
stderr.
Usage: .venv/bin/python bench/csv_import.py [--orders 5000] [--lines 2] [--xlsx] [--profile]
       [--database hub_csv] [--redis-db 11]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import csv
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=5000)
parser.add_argument("--lines", type=int, default=2)
parser.add_argument("--xlsx", action="store_true", help="an Excel workbook instead of CSV")
parser.add_argument("--profile", action="store_true", help="cProfile top functions to stderr")
parser.add_argument("--database", default="hub_csv", help="the database to drop and use")
parser.add_argument("--redis-db", type=int, default=11, help="the Redis database to flush and use")
ARGS = parser.parse_args()
BENCH_DB = ARGS.database
REDIS_URL = f"redis://127.0.0.1:6379/{ARGS.redis_db}"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
os.environ["REDIS_URL"] = REDIS_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

HEADER = [
    "Name", "Email", "Financial Status", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
    "Discount Amount", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
    "Lineitem sku", "Billing Name", "Shipping Name", "Shipping Address1", "Shipping Address2",
    "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country",
    "Shipping Phone", "Notes", "Id", "Source",
]  # fmt: skip


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))


def shopify_rows(orders: int, lines: int) -> list[list[str]]:
    rows = [HEADER]
    for n in range(1, orders + 1):
        for line in range(lines):
            cells = dict.fromkeys(HEADER, "")
            cells.update(
                {
                    "Name": f"#{100000 + n}",
                    "Email": f"buyer{n}@example.com",
                    "Lineitem quantity": str(1 + line),
                    "Lineitem name": f"Product {line}",
                    "Lineitem price": f"{9 + line}.99",
                    "Lineitem sku": f"SKU-{n % 50}-{line}",
                }
            )
            if line == 0:
                cells.update(
                    {
                        "Financial Status": "paid",
                        "Currency": "USD",
                        "Total": "40.00",
                        "Shipping": "5.00",
                        "Taxes": "2.50",
                        "Created at": "2025-03-01 14:30:00 -0500",
                        "Billing Name": f"Buyer {n}",
                        "Shipping Name": f"Buyer {n}",
                        "Shipping Address1": f"{n} Main St",
                        "Shipping City": "Austin",
                        "Shipping Zip": "78701",
                        "Shipping Province": "TX",
                        "Shipping Country": "US",
                        "Id": str(5_000_000 + n),
                        "Source": "web",
                    }
                )
            rows.append([cells[name] for name in HEADER])
    return rows


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def as_xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class CommitWatch:
    """Notes when the import's result is visible to others (its transaction committed), from
    a connection of its own; the pipeline messages are published after that."""

    def __init__(self, import_id: int) -> None:
        import threading

        self.import_id = import_id
        self.seen_at: float | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        import psycopg

        url = f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}"
        with psycopg.connect(url, autocommit=True) as db:
            while not self.stop.is_set():
                row = db.execute(
                    "SELECT state FROM bench.orders_csvimport WHERE id = %s", [self.import_id]
                ).fetchone()
                if row and row[0] == "done":
                    self.seen_at = time.perf_counter()
                    return
                time.sleep(0.02)

    def close(self) -> float | None:
        self.stop.set()
        self.thread.join(timeout=2)
        return self.seen_at


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main() -> None:
    args = ARGS
    recreate_database()

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from orders.files.importing import confirm_mapping, receive_file, run_csv_import
    from orders.intake.accept import schedule_new_orders
    from orders.models import CsvImport, Order, OrderLine
    from tenants.provisioning import provision_tenant

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    call_command("setup_hub", verbosity=0, stdout=io.StringIO())
    provision_tenant(slug="bench", name="Bench", admin_email="ops@bench.test")
    rows = shopify_rows(args.orders, args.lines)
    data = as_xlsx(rows) if args.xlsx else as_csv(rows)
    profiler = cProfile.Profile()
    counter = QueryCounter()

    with schema_context("bench"):
        started = time.perf_counter()
        upload = receive_file(data, file_name="bench.csv", actor="bench")
        if upload.state == CsvImport.State.READING:  # a workbook: its worker's step, in-process
            run_csv_import(upload.pk)
            upload.refresh_from_db()
            broker.delete("hub")  # that step's own message: done here already
        received = time.perf_counter()
        cpu_started = time.process_time()
        watch = CommitWatch(upload.pk)
        with connection.execute_wrapper(counter):
            if args.profile:
                profiler.enable()
            upload = confirm_mapping(
                upload, upload.mapping, mapped_as=upload.mapped_as, right_now=True
            )
            if args.profile:
                profiler.disable()
        finished = time.perf_counter()
        cpu_seconds = time.process_time() - cpu_started
        committed = watch.close() or finished
        assert upload.state == CsvImport.State.DONE, upload.problems[:5]
        orders = Order.objects.count()
        lines = OrderLine.objects.count()
        due = Order.objects.filter(next_attempt_at__isnull=False).count()
    fan_out = broker.llen("hub")
    fanned = time.perf_counter()
    with schema_context("bench"):
        while raw := broker.lpop("hub"):
            message = json.loads(raw)
            assert message["headers"]["task"] == "orders.schedule_orders"
            body = json.loads(base64.b64decode(message["body"]))
            schedule_new_orders(*body[0])
    fanned = time.perf_counter() - fanned
    queues = {queue: broker.llen(queue) for queue in settings.HUB_QUEUES}
    if args.profile:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        if os.environ.get("CSV_BENCH_PROFILE_FILE"):
            stats.dump_stats(os.environ["CSV_BENCH_PROFILE_FILE"])
    print(
        json.dumps(
            {
                "bench": "csv_import",
                "format": "xlsx" if args.xlsx else "csv (Shopify export)",
                "rows": len(rows) - 1,
                "orders": orders,
                "lines": lines,
                "file_kib": len(data) // 1024,
                "upload_seconds": round(received - started, 2),
                "import_seconds": round(finished - received, 2),
                "import_cpu_seconds": round(cpu_seconds, 2),
                "imported_visible_seconds": round(committed - started, 2),
                "publish_seconds": round(finished - committed, 2),
                "total_seconds": round(finished - started, 2),
                "ms_per_order": round((finished - started) * 1000 / max(orders, 1), 2),
                "sql_statements": counter.count,
                "orders_due": due,
                "fan_out_messages": fan_out,
                "fan_out_worker_seconds": round(fanned, 2),
                "pipeline_messages": queues.get("erp", 0),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
