"""How long creating one more tenant takes when N tenants already exist (N = 1, 50, 200, ...).

Uses its own database (dropped first) so the dev data is untouched. Tenants are created one
after another with the real provisioning; at each N in `--existing` the next `--samples`
tenants are timed and their median reported. Between tenants the spare schemas are topped up
as the sweep job's worker would (`HUB_SPARE_SCHEMAS`, default 2; 0 clones on the request path);
that clone's time is reported apart. Prints one JSON line.
Usage: .venv/bin/python bench/provision_tenant.py [--existing 1,50,200] [--samples 3]
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

from bench.servers import recreate_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", default="1,50,200", help="comma-separated N values")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--database", default="bench_provision")
    args = parser.parse_args()
    points = sorted({int(n) for n in args.existing.split(",")})
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    recreate_database(args.database)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tenants.models import Tenant
    from tenants.provisioning import provision_tenant
    from tenants.spare_schemas import clone_spare, spare_schemas

    call_command("setup_hub", verbosity=0, stdout=io.StringIO())
    made = 0
    clone_timings: list[float] = []

    def refill() -> None:
        """What the sweep job's worker does between tenants (not on the request's path)."""
        while len(spare_schemas()) < settings.HUB_SPARE_SCHEMAS:
            started = time.perf_counter()
            clone_spare()
            clone_timings.append(time.perf_counter() - started)

    def next_tenant() -> float:
        nonlocal made
        refill()
        started = time.perf_counter()
        provision_tenant(slug=f"t{made:04d}", name=f"Tenant {made}", admin_email=f"a@t{made}.test")
        made += 1
        return time.perf_counter() - started

    all_timings: list[float] = []
    results, clones = {}, {}
    for point in points:
        while made < point:
            all_timings.append(next_tenant())
        existing = Tenant.objects.exclude(schema_name="public").filter(is_template=False).count()
        samples = [next_tenant() for _ in range(args.samples)]
        all_timings += samples
        results[str(existing)] = round(statistics.median(samples), 3)
        clones[str(existing)] = round(clone_timings[-1], 3) if clone_timings else None
    flat = max(results.values()) / max(min(results.values()), 0.001)
    print(
        json.dumps(
            {
                "bench": "provision_tenant",
                "next_tenant_seconds_by_existing": results,
                "spare_schemas": settings.HUB_SPARE_SCHEMAS,
                "background_clone_seconds_by_existing": clones,
                "samples_per_point": args.samples,
                "tenants_created": made,
                "median_seconds_all": round(statistics.median(all_timings), 3),
                "max_seconds_all": round(max(all_timings), 3),
                "largest_over_smallest": round(flat, 2),
                "target_met": max(results.values()) <= 2.0,
            }
        )
    )


if __name__ == "__main__":
    main()
