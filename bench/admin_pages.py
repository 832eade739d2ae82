"""What the admin's busiest pages and the metrics scrape cost with many tenants and orders.

Uses its own database (bench_hub_admin, dropped first). Each tenant gets `--orders` orders spread
over the last 7 days and a day of work attempts; one order has `--events` timeline events (one
step repeated). Pages are fetched through Django's test client (no network) `--repeat` times;
prints one JSON line with each page's median milliseconds and SQL query count.
Usage: .venv/bin/python bench/admin_pages.py [--tenants 10 --orders 2000 --events 500]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BENCH_DB = "bench_hub_admin"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
TOKEN = "bench-scrape-token"


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))


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


def measure(client, path: str, host: str, repeat: int, **headers) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, HTTP_HOST=host, **headers)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries = len(captured)
        connection.set_schema_to_public()
    return {"ms": round(statistics.median(timings), 1), "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    recreate_database()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django_tenants.utils import schema_context

    from tenants.provisioning import provision_tenant

    settings.HUB_METRICS_TOKEN = TOKEN
    settings.DEBUG = False
    call_command("setup_hub", verbosity=0, stdout=io.StringIO())
    busy = 0
    for n in range(args.tenants):
        slug = f"bench{n:03d}"
        provision_tenant(slug=slug, name=f"Bench {n}", admin_email=f"a@{slug}.test")
        with schema_context(slug):
            busy = fill_tenant(args.orders, args.events)
    staff = get_user_model().objects.create_superuser("staff", "s@hub.test", "x")
    platform = Client()
    platform.force_login(staff)
    tenant = Client()
    slug = f"bench{args.tenants - 1:03d}"
    with schema_context(slug):
        tenant.force_login(get_user_model().objects.get(username=f"a@{slug}.test"))
    host = f"{slug}.localhost"
    pages = {
        "platform_index": measure(platform, "/admin/", "localhost", args.repeat),
        "tenant_index": measure(tenant, "/admin/", host, args.repeat),
        "order_page": measure(tenant, f"/admin/orders/order/{busy}/change/", host, args.repeat),
        "needs_attention": measure(tenant, "/admin/orders/order/needs-attention/", host, 3),
        "metrics": measure(
            Client(), "/metrics", "localhost", args.repeat, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        ),
    }
    print(
        json.dumps(
            {
                "bench": "admin_pages",
                "tenants": args.tenants,
                "orders_per_tenant": args.orders,
                "timeline_events": args.events,
                **pages,
            }
        )
    )


if __name__ == "__main__":
    main()
