"""How long creating one more tenant takes when N tenants already exist.

Uses its own database (bench_integration_hub, dropped first) so the dev data is untouched.
Prints one JSON line. Usage: .venv/bin/python bench/provision_tenant.py [--existing 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BENCH_DB = "bench_integration_hub"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=20)
    args = parser.parse_args()
    recreate_database()

    import django

    django.setup()
    from django.core.management import call_command

    from tenants.provisioning import provision_tenant

    call_command("setup_hub", verbosity=0, stdout=io.StringIO())
    timings = []
    for n in range(args.existing + 1):
        started = time.perf_counter()
        provision_tenant(slug=f"bench{n:03d}", name=f"Bench {n}", admin_email=f"a@b{n}.test")
        timings.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "bench": "provision_tenant",
                "existing_tenants": args.existing,
                "next_tenant_seconds": round(timings[-1], 3),
                "first_tenant_seconds": round(timings[0], 3),
                "median_seconds": round(statistics.median(timings), 3),
                "max_seconds": round(max(timings), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
