"""Webhook ingest under the production server: the hub's endpoint against a bare insert view.

Starts gunicorn (`deploy/gunicorn.conf.py`) on its own database and Redis database, serving
the hub plus `bench/bare_ingest.py`'s bare view, then drives each for `--seconds` with
`--connections` keep-alive clients (order webhooks, every body a new order), after a short
warm-up of both. The seconds are split into `--rounds` that alternate the two (hub then bare,
bare then hub, ...), so a burst of other load on a shared machine falls on both sides alike.
Checks that every webhook the hub accepted is in the inbox. Prints one JSON line. Usage:
  .venv/bin/python bench/webhook_ingest.py [--port 8930] [--seconds 15] [--connections 32]
      [--rounds 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import LoadResult, post_request, run_load  # noqa: E402
from bench.servers import recreate_database, start_gunicorn, stop  # noqa: E402

HEADERS = {
    "Content-Type": "application/json",
    "X-Webhook-Store-Id": "1",
    "X-Webhook-Entity": "order",
    "X-Webhook-Action": "add",
    "X-Webhook-Error-Code": "0",
}


def order_body(number: int) -> bytes:
    """An `order.add` body of the usual size (API2Cart sends the order's ids and a few fields)."""
    return json.dumps(
        {
            "id": str(900000 + number),
            "order_id": f"B{number:07d}",
            "store_id": "1",
            "status": {"id": "pending", "name": "Pending"},
            "customer": {"id": str(5000 + number % 997), "email": f"c{number % 997}@x.test"},
            "currency": {"iso3": "USD"},
            "create_at": {"value": "2026-11-29T10:00:00+0000", "format": "Y-m-d\\TH:i:sO"},
            "totals": {"total": 129.9, "subtotal": 119.9, "shipping": 10.0, "tax": 0.0},
        }
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8930)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default="bench_webhook_ingest")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args()

    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.redis_url,
        DJANGO_SETTINGS_MODULE="integration_hub.settings",
        LOG_LEVEL="WARNING",
        DEBUG="0",
    )
    recreate_database(args.database)
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    from bench.bare_ingest import BARE_PATH, CREATE_TABLE
    from inbox.models import InboxItem
    from tenants.models import Api2CartAccount, Store

    redis.Redis.from_url(args.redis_url).flushdb()
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

    log_path = ROOT / "var" / "log" / "bench-webhook-web.log"
    server = start_gunicorn(args.port, dict(os.environ), log_path, app="bench.bare_ingest:app")
    host = f"127.0.0.1:{args.port}"
    numbers = itertools.count(1)

    def hub_request() -> bytes:
        path = f"/webhooks/api2cart/{store.webhook_token}/"
        return post_request(host, path, order_body(next(numbers)), HEADERS)

    def bare_request() -> bytes:
        return post_request(host, BARE_PATH, order_body(next(numbers)), HEADERS)

    try:
        for build in (hub_request, bare_request):
            run_load("127.0.0.1", args.port, build, connections=args.connections,
                     seconds=args.warmup)  # fmt: skip
        hub, bare = LoadResult(seconds=0.0), LoadResult(seconds=0.0)
        slice_seconds = args.seconds / args.rounds
        for round_number in range(args.rounds):
            sides = [(hub, hub_request, True), (bare, bare_request, False)]
            for total, build, keep_bodies in sides[:: 1 if round_number % 2 == 0 else -1]:
                total.add(
                    run_load("127.0.0.1", args.port, build, connections=args.connections,
                             seconds=slice_seconds, keep_bodies=keep_bodies)
                )  # fmt: skip
    finally:
        stop(server)
    accepted = {json.loads(body)["item"] for body in hub.bodies}
    stored = set(InboxItem.objects.filter(pk__in=accepted).values_list("pk", flat=True))
    redis.Redis.from_url(args.redis_url).flushdb()
    hub_summary, bare_summary = hub.summary(), bare.summary()
    ratio = hub_summary["requests_per_second"] / max(bare_summary["requests_per_second"], 0.1)
    print(
        json.dumps(
            {
                "bench": "webhook_ingest",
                "connections": args.connections,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "web": "gunicorn -c deploy/gunicorn.conf.py "
                f"(workers={os.environ.get('HUB_WEB_WORKERS', os.cpu_count() + 1)}, "
                f"threads={os.environ.get('HUB_WEB_THREADS', 4)})",
                "hub": hub_summary,
                "bare_insert": bare_summary,
                "ratio": round(ratio, 3),
                "hub_accepted": len(accepted),
                "accepted_in_inbox": len(stored),
                "missing_from_inbox": len(accepted - stored),
                "target_met": ratio >= 0.9
                and hub_summary["p99_ms"] <= 50
                and accepted == stored
                and hub.errors == 0,
            }
        )
    )


if __name__ == "__main__":
    main()
