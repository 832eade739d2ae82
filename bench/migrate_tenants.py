"""What a deploy costs with many tenants: `manage.py setup_hub` with nothing to apply, and with one
new index on a tenant model (issue 31: < 15 s and < 5 min at 1,000 tenants on 2 cores).

The database (default `bench_tenants_deploy_<N>`: a copy of `bench_tenants_<N>` when nobody is
connected to that one, else filled by `bench/many_tenants.py`) is brought current by
a first `setup_hub` run, then `--runs` runs with nothing to do are timed, and their statements
counted in one more run. The new index is a migration that exists only for this bench: a
temporary settings module points `MIGRATION_MODULES` for `invoicing` at a copy of its
migrations plus one `AddIndex` on `Invoice.read_at`; nothing in the repository changes. Two
spare schemas are made first, to show they are kept while current and migrated with the tenants.
Afterwards the index and its migration rows are removed again, so the database can be reused.

Each `setup_hub` runs in its own process as a deploy would; the JSON gives its wall time, the
CPU seconds of it and its migration processes, and the load average around the run.
Usage: .venv/bin/python bench/migrate_tenants.py --tenants 1000 [--runs 3] [--processes 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import psycopg.errors
import psycopg.sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.many_tenants import (  # noqa: E402
    DEFAULT_REDIS_URL,
    database_url,
    ensure_tenants,
    template_script,
)
from bench.proc_cpu import cpu_seconds  # noqa: E402

INDEX_APP = "invoicing"
INDEX_NAME = "bench_deploy_read_at"
INDEX_MIGRATION = "9999_bench_deploy_index"
SETTINGS_MODULE = "bench_deploy_settings"
MIGRATIONS_PACKAGE = "bench_deploy_migrations"


def copy_database(source: str, target: str) -> str:
    """`target` as a copy of another bench database (a file copy, not a refill) unless it
    exists: "existing", "copied", or "not copied" when the source is missing or in use
    (PostgreSQL copies only a database nobody is connected to)."""
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone():
            return "existing"
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [source]).fetchone():
            return "not copied"
        try:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    psycopg.sql.Identifier(target), psycopg.sql.Identifier(source)
                )
            )
        except psycopg.errors.ObjectInUse:
            return "not copied"
    return "copied"


class ServerCpu:
    """CPU seconds of the PostgreSQL backends serving one database, sampled from /proc twice a
    second (a deploy's backends live as long as its processes, so little escapes)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.seen: dict[int, float] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def __enter__(self) -> ServerCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()

    def sample(self) -> None:
        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            while True:
                pids = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                ).fetchall()
                for (pid,) in pids:
                    self.seen[pid] = max(self.seen.get(pid, 0.0), cpu_seconds(pid))
                if self.stopping.wait(0.5):
                    return

    @property
    def seconds(self) -> float:
        return round(sum(self.seen.values()), 2)


def run_setup_hub(env: dict[str, str]) -> dict:
    """One deploy in its own process: wall and CPU seconds (its migration workers included),
    and the CPU seconds of the PostgreSQL backends serving it."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with ServerCpu(env["DATABASE_URL"].rsplit("/", 1)[1]) as server:
        done = subprocess.run(
            [sys.executable, "manage.py", "setup_hub"], cwd=ROOT, env=env, check=True,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "postgres_cpu_seconds": server.seconds,
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "said": done.stdout.strip(),
    }


def count_statements(env: dict[str, str]) -> int:
    """Statements one `setup_hub` sends (run in a child with this script's hidden mode)."""
    done = subprocess.run(
        [sys.executable, __file__, "--count-statements"], cwd=ROOT, env=env, check=True,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return int(done.stdout.strip().splitlines()[-1])


def count_statements_here() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    statements = 0

    def counted(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted), open(os.devnull, "w") as quiet:
        call_command("setup_hub", verbosity=0, stdout=quiet)
    print(statements)


def write_index_migration(directory: Path, leaf: str) -> None:
    """A settings module whose `invoicing` migrations are the real ones plus one AddIndex."""
    package = directory / MIGRATIONS_PACKAGE
    shutil.copytree(ROOT / INDEX_APP / "migrations", package)
    (package / f"{INDEX_MIGRATION}.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [({INDEX_APP!r}, {leaf!r})]\n"
        "    operations = [\n"
        "        migrations.AddIndex(\n"
        f"            model_name='invoice', index=models.Index(fields=['read_at'], "
        f"name={INDEX_NAME!r}),\n"
        "        ),\n"
        "    ]\n"
    )
    (directory / f"{SETTINGS_MODULE}.py").write_text(
        "from integration_hub.settings import *  # noqa: F403\n\n"
        f"MIGRATION_MODULES = {{{INDEX_APP!r}: {MIGRATIONS_PACKAGE!r}}}\n"
    )


def leaf_migration(app: str) -> str:
    """The app's latest migration: the one no other migration of the app names as its parent."""
    names = {p.stem for p in (ROOT / app / "migrations").glob("[0-9]*.py")}
    parents = set()
    for name in names:
        text = (ROOT / app / "migrations" / f"{name}.py").read_text()
        parents |= {other for other in names if f"'{other}'" in text or f'"{other}"' in text}
    (leaf,) = names - parents
    return leaf


def schemas_with_index(database: str) -> set[str]:
    with psycopg.connect(database_url(database)) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_class JOIN pg_namespace ON pg_namespace.oid = relnamespace "
            "WHERE relname = %s AND relkind = 'i'",
            [INDEX_NAME],
        ).fetchall()
    return {row[0] for row in rows}


def remove_index(database: str) -> None:
    """Undo the bench's migration in every schema (index and its `django_migrations` row)."""
    with psycopg.connect(database_url(database), autocommit=True) as conn:
        conn.execute(
            "DO $$ DECLARE schema text; BEGIN "
            "FOR schema IN SELECT nspname FROM pg_class JOIN pg_namespace "
            "ON pg_namespace.oid = relnamespace WHERE relname = 'django_migrations' "
            "AND relkind = 'r' LOOP "
            f"EXECUTE format('DROP INDEX IF EXISTS %I.{INDEX_NAME}', schema); "
            f"EXECUTE format('DELETE FROM %I.django_migrations WHERE app = ''{INDEX_APP}'' "
            f"AND name = ''{INDEX_MIGRATION}''', schema); "
            "END LOOP; END $$"
        )


def make_spares(database: str, count: int) -> list[str]:
    """Spare schemas as the sweep job keeps them (replayed from the template, like the tenants)."""
    with psycopg.connect(database_url(database), autocommit=True) as conn:
        have = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'spare\\_%' ORDER BY 1"
            ).fetchall()
        ]
        if len(have) < count:
            script = template_script(database, "tenant_template")
            for _ in range(count - len(have)):
                name = f"spare_{secrets.token_hex(6)}"
                with conn.transaction():
                    conn.execute(script.format(schema=name))
                have.append(name)
    return have


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--database", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="HUB_MIGRATION_PROCESSES")
    parser.add_argument("--spares", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--count-statements", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_statements:
        count_statements_here()
        return
    database = args.database or f"bench_tenants_deploy_{args.tenants}"
    started = time.perf_counter()
    origin = copy_database(f"bench_tenants_{args.tenants}", database)
    tenants = ensure_tenants(database, args.tenants, redis_url=args.redis_url)
    fill_seconds = time.perf_counter() - started
    remove_index(database)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "REDIS_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "integration_hub.settings",
        "HUB_MIGRATION_PROCESSES": str(args.processes),
        "LOG_LEVEL": "WARNING",
    }
    first = run_setup_hub(env)  # brings the database current (normally nothing to do)
    spares = make_spares(database, args.spares)
    idle = [run_setup_hub(env) for _ in range(args.runs)]
    statements = count_statements(env)
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as directory:
        write_index_migration(Path(directory), leaf_migration(INDEX_APP))
        index_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "PYTHONPATH": os.pathsep.join([directory, str(ROOT)]),
        }
        with_index = run_setup_hub(index_env)
        indexed = schemas_with_index(database)
        after_index = run_setup_hub(index_env)
    remove_index(database)
    expected = {*tenants, "tenant_template", *spares}
    idle_seconds = [run["seconds"] for run in idle]
    print(
        json.dumps(
            {
                "bench": "migrate_tenants",
                "database": database,
                "tenants": len(tenants),
                "processes": args.processes,
                "cores": os.cpu_count(),
                "fill_seconds": round(fill_seconds, 1),
                "database_origin": origin,
                "first_run": first,
                "nothing_to_do_seconds_median": statistics.median(idle_seconds),
                "nothing_to_do_cpu_seconds_median": statistics.median(
                    run["cpu_seconds"] for run in idle
                ),
                "nothing_to_do_statements": statements,
                "nothing_to_do_runs": idle,
                "one_index": with_index,
                "one_index_schemas_indexed": len(indexed & expected),
                "one_index_schemas_expected": len(expected),
                "spares_kept_and_migrated": set(spares) <= indexed,
                "after_index_nothing_to_do": after_index,
                "target_met": statistics.median(idle_seconds) < 15
                and with_index["seconds"] < 300
                and expected <= indexed,
            }
        )
    )


if __name__ == "__main__":
    main()
