"""Create the hub's PostgreSQL database if it does not exist yet (reads DATABASE_URL).

The hub runs on PostgreSQL 15 (the team's machines, CI) to 18 (the embedded server of
scripts/services.py); an older server is refused here, before any migration.
"""

import os
import sys

import dj_database_url
import psycopg
from psycopg import sql

OLDEST_MAJOR = 15

url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/integration_hub")
config = dj_database_url.parse(url)
params = {
    "host": config["HOST"] or "127.0.0.1",
    "port": config["PORT"] or 5432,
    "user": config["USER"] or "postgres",
    "password": config["PASSWORD"] or None,
    "dbname": "postgres",
    "autocommit": True,
    "connect_timeout": 5,
}
try:
    with psycopg.connect(**params) as conn:
        major = conn.info.server_version // 10000
        if major < OLDEST_MAJOR:
            sys.exit(
                f"PostgreSQL {major} at {params['host']}:{params['port']} is too old: "
                f"the hub runs on {OLDEST_MAJOR} to 18"
            )
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"Created database {config['NAME']}.")
except psycopg.OperationalError as exc:
    sys.exit(f"PostgreSQL is not answering at {params['host']}:{params['port']}: {exc}")
