"""A bench database holding many idle tenants, made once and reused by the benches that need one.

`ensure_tenants(database, count, redis_url=...)` makes sure `database` exists, is set up as
`make db` does it (scripts/ensure_database.py, then `manage.py setup_hub`) and holds at least
`count` active tenants; it adds only the missing ones and returns every active tenant's schema.
Tenants are made by the hub's own `provision_tenant` (domain, roles, first admin, activity
event), each renaming a spare schema. The spares are not cloned with django-tenants'
`clone_schema`, which reads the whole catalogue, but by replaying the template schema's
`pg_dump` under a new name: the same tables, indexes, constraints, rows and sequence positions.
That still slows as tenants add up (0.25 s a tenant at 20, 1.2 s at 1,000): each schema's 11
foreign keys to `public.tenants_store` add triggers to that one table, and adding the next one
reloads them all. 1,000 tenants took 20 min on the shared 2-core machine and 3.1 GB. First
admins get a cheap PBKDF2 hash (same algorithm, fewer iterations; Django upgrades it on the
first login).

The work runs in a child process with DATABASE_URL pointing at `database`, so a bench that has
set Django up for another database can call it. Concurrent calls for one database wait for each
other (an advisory lock).

Usage: .venv/bin/python bench/many_tenants.py --database bench_tenants_1000 --tenants 1000
Prints one JSON line: seconds taken, tenants added, tenants in all, the database's size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from django.contrib.auth.hashers import PBKDF2PasswordHasher  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
LOCK_KEY = 7_310_031  # pg_advisory_lock: one filler per database at a time
SLUG_FORMAT = "tenant-{:05d}"


class QuickBenchHasher(PBKDF2PasswordHasher):
    """PBKDF2-SHA256 with few iterations: a bench admin's password costs microseconds, and the
    hub's own hasher still checks it (the iteration count is part of the hash)."""

    iterations = 1_000


def database_url(database: str) -> str:
    return f"{SERVER}/{database}"


def active_tenant_schemas(database: str) -> list[str]:
    """Schemas of the active tenants (not the platform, not the template), in name order."""
    with psycopg.connect(database_url(database)) as conn:
        rows = conn.execute(
            "SELECT schema_name FROM public.tenants_tenant WHERE is_active AND NOT is_template "
            "AND schema_name <> 'public' ORDER BY schema_name"
        ).fetchall()
    return [row[0] for row in rows]


def database_size_bytes(database: str) -> int:
    with psycopg.connect(database_url(database)) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def ensure_tenants(database: str, count: int, *, redis_url: str = DEFAULT_REDIS_URL) -> list[str]:
    """Make `database` a migrated hub database with at least `count` active tenants; returns
    their schema names. Idempotent: a second call with the same count only runs `setup_hub`."""
    fill(database, count, redis_url=redis_url)
    return active_tenant_schemas(database)


def fill(database: str, count: int, *, redis_url: str) -> dict:
    """Run the filler in a child process; its JSON line as a dict."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "integration_hub.settings",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    subprocess.run([sys.executable, "scripts/ensure_database.py"], cwd=ROOT, env=env, check=True)
    done = subprocess.run(
        [sys.executable, __file__, "--database", database, "--tenants", str(count),
         "--redis-url", redis_url, "--in-process"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def template_script(database: str, template_schema: str) -> str:
    """The template schema as SQL (tables, rows, sequence positions, indexes, constraints),
    with the schema's name left as `{schema}` to fill in per copy."""
    dump = subprocess.run(
        ["pg_dump", "--dbname", database_url(database), f"--schema={template_schema}",
         "--no-owner", "--no-privileges", "--inserts", "--rows-per-insert=1000"],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout  # fmt: skip
    statements = "\n".join(
        line
        for line in dump.splitlines()
        if not line.startswith(("\\", "--", "SET ", "SELECT pg_catalog.set_config("))
    )
    braced = statements.replace("{", "{{").replace("}", "}}")
    return re.sub(rf"\b{re.escape(template_schema)}\b", "{schema}", braced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_tenants_1000")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.in_process:
        started = time.perf_counter()
        result = fill(args.database, args.tenants, redis_url=args.redis_url)
        result["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(result))
        return
    print(json.dumps(fill_here(args.database, args.tenants)))


def fill_here(database: str, count: int) -> dict:
    """The child process: `setup_hub`, then the missing tenants, one after another."""
    import django

    started = time.perf_counter()
    django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm
    from django.core.management import call_command
    from django.db import connection, transaction

    from tenants.provisioning import provision_tenant

    with psycopg.connect(database_url(database), autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        call_command("setup_hub", verbosity=0)
        setup_seconds = time.perf_counter() - started
        existing = active_tenant_schemas(database)
        missing = max(count - len(existing), 0)
        settings.PASSWORD_HASHERS = [f"{__name__}.QuickBenchHasher", *settings.PASSWORD_HASHERS]
        settings.HUB_SPARE_SCHEMAS = max(settings.HUB_SPARE_SCHEMAS, 1)
        get_hashers.cache_clear()
        get_hashers_by_algorithm.cache_clear()
        script = template_script(database, settings.TENANT_BASE_SCHEMA) if missing else ""
        with connection.cursor() as cursor:
            cursor.execute("SELECT slug FROM public.tenants_tenant")
            taken = {row[0] for row in cursor.fetchall()}
        number, added = 0, 0
        fill_started = time.perf_counter()
        while added < missing:
            slug = SLUG_FORMAT.format(number)
            number += 1
            if slug in taken:
                continue
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(script.format(schema=f"spare_{secrets.token_hex(6)}"))
            provision_tenant(slug=slug, name=f"Tenant {number - 1}", admin_email=f"ops@{slug}.test")
            added += 1
            if added % 100 == 0:
                rate = added / (time.perf_counter() - fill_started)
                print(f"{added}/{missing} tenants added, {rate:.1f}/s", file=sys.stderr)
        connection.close()
        lock.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    return {
        "bench": "many_tenants",
        "database": database,
        "tenants": len(active_tenant_schemas(database)),
        "tenants_added": added,
        "setup_hub_seconds": round(setup_seconds, 1),
        "seconds_per_tenant": round((time.perf_counter() - fill_started) / added, 3)
        if added
        else None,
        "database_bytes": database_size_bytes(database),
    }


if __name__ == "__main__":
    main()
