"""What the admin's busiest pages and the metrics scrape cost with many tenants and orders.

Uses its own database (`--database`, bench_hub_admin by default), made by
`bench/many_tenants.py` with `--tenants` tenants (reused when it already holds them; `--fresh`
drops it first). The first `--busy` tenants get `--orders` orders spread over the last 7 days
and a day of work attempts; one order has `--events` timeline events (one step repeated).
Every tenant's stored figures are then measured, as the sweeper's visits do over time (the
JSON gives the queries and milliseconds of one refresh). Pages are fetched through Django's
test client (no network) `--repeat` times; prints one JSON line with each page's median
milliseconds (wall, and CPU of this process: the web side without PostgreSQL) and SQL query
count, among them the platform index's first page, its second page
and a search, and `/metrics`.
Usage: .venv/bin/python bench/admin_pages.py [--tenants 1000 --busy 10 --orders 2000 --events 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
TOKEN = "bench-scrape-token"


def drop_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def fill_tenant(orders: int, events: int) -> int:
    """Orders over 7 days in every state, attempts over a day; returns the busy order's pk."""
    from django.utils import timezone

    from core.models import WorkAttempt
    from orders.models import Order, OrderEvent, OrderLine

    now = timezone.now()
    states = [value for value, _ in Order.State.choices]
    rows = Order.objects.bulk_create(
        Order(
            source=Order.Source.API, store_order_id=f"B{n}", order_number=f"B{n}",
            state=random.choice(states), ship_to={"name": "A", "city": "Leeds", "country": "GB"},
        )
        for n in range(orders)
    )  # fmt: skip
    for order in rows:
        moment = now - timedelta(minutes=random.randrange(7 * 24 * 60))
        Order.objects.filter(pk=order.pk).update(created_at=moment, updated_at=moment)
    OrderLine.objects.bulk_create(
        OrderLine(order=order, line_number=1, sku="SKU-1", quantity=1, unit_price=1)
        for order in rows
    )
    busy = rows[0]
    OrderEvent.objects.bulk_create(
        OrderEvent(order=busy, step="retry_scheduled", outcome="warning",
                   message=f"Attempt {n} failed (ERP busy); retrying in {n} s.")
        for n in range(events)
    )  # fmt: skip
    WorkAttempt.objects.bulk_create(
        WorkAttempt(
            kind="orders.order", item_id=order.pk, number=1,
            started_at=now - timedelta(minutes=random.randrange(24 * 60)),
            duration_ms=random.randrange(50, 900), upstream=random.choice(["m3", "shipstation"]),
            outcome=random.choice(["succeeded", "succeeded", "retry"]),
        )
        for order in rows
    )  # fmt: skip
    return busy.pk


def counted_queries():
    """A context counting the SQL statements run (no cap, unlike Django's query log)."""
    from django.db import connection

    class Counter:
        count = 0

        def __call__(self, execute, sql, params, many, context):
            self.count += 1
            return execute(sql, params, many, context)

    counter = Counter()
    wrapper = connection.execute_wrapper(counter)
    return counter, wrapper


def measure(client, path: str, host: str, repeat: int, **headers) -> dict:
    from django.db import connection

    timings, cpu, queries = [], [], 0
    for _ in range(repeat):
        counter, counting = counted_queries()
        with counting:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(path, HTTP_HOST=host, **headers)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries = counter.count
        connection.set_schema_to_public()
    return {
        "ms": round(statistics.median(timings), 1),
        "cpu_ms": round(statistics.median(cpu), 1),
        "queries": queries,
    }


def refresh_every_tenant(schemas: list[str]) -> dict:
    """Measure and store every tenant's figures; the cost of one refresh (the busiest)."""
    from django_tenants.utils import schema_context

    from portal.flow_lag import refresh_figures

    costs = []
    for schema in schemas:
        counter, counting = counted_queries()
        with schema_context(schema), counting:
            started = time.perf_counter()
            refresh_figures()
            costs.append(((time.perf_counter() - started) * 1000, counter.count))
    ms, queries = max(costs)
    return {"ms": round(ms, 1), "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--busy", type=int, default=10, help="tenants that get orders")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="bench_hub_admin")
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
    if args.fresh:
        drop_database(args.database)
    from bench.many_tenants import database_url, ensure_tenants

    schemas = ensure_tenants(args.database, args.tenants, redis_url=redis_url)[: args.tenants]
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ["REDIS_URL"] = redis_url

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_tenants.utils import schema_context

    from orders.models import Order, OrderEvent
    from tenants.models import Domain

    settings.HUB_METRICS_TOKEN = TOKEN
    settings.DEBUG = False
    busy = 0
    for schema in schemas[: args.busy]:
        with schema_context(schema):
            if not Order.objects.exists():
                fill_tenant(args.orders, args.events)
            busy = OrderEvent.objects.values_list("order_id", flat=True).first() or 0
    refresh = refresh_every_tenant(schemas)
    staff = get_user_model().objects.filter(username="staff").first()
    staff = staff or get_user_model().objects.create_superuser("staff", "s@hub.test", "x")
    platform = Client()
    platform.force_login(staff)
    tenant = Client()
    slug = schemas[min(args.busy, len(schemas)) - 1]
    domain = Domain.objects.get(tenant__schema_name=slug, is_primary=True).domain
    with schema_context(slug):
        tenant.force_login(get_user_model().objects.filter(is_staff=True).order_by("pk")[0])
    pages = {
        "platform_index": measure(platform, "/admin/", "localhost", args.repeat),
        "platform_index_page_2": measure(
            platform, "/admin/?tenants_page=2", "localhost", args.repeat
        ),
        "platform_index_search": measure(platform, "/admin/?tenants=9", "localhost", args.repeat),
        "metrics": measure(
            Client(), "/metrics", "localhost", args.repeat, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        ),
        "tenant_index": measure(tenant, "/admin/", domain, args.repeat),
        "order_page": measure(tenant, f"/admin/orders/order/{busy}/change/", domain, args.repeat),
        "needs_attention": measure(tenant, "/admin/orders/order/needs-attention/", domain, 3),
    }
    print(
        json.dumps(
            {
                "bench": "admin_pages",
                "tenants": len(schemas),
                "busy_tenants": min(args.busy, len(schemas)),
                "orders_per_busy_tenant": args.orders,
                "timeline_events": args.events,
                "figures_refresh_per_tenant": refresh,
                **pages,
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
