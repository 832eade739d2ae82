"""Refusing a database connection that cannot keep session state.

django-tenants sets `search_path` once per connection (`TENANT_LIMIT_SET_CALLS`) and the hub
relies on it for every query after. Behind a PgBouncer in transaction or statement pooling, the
next transaction may run on another server connection, with another tenant's `search_path`: one
tenant's query reading another's rows. So every process proves its connection first, at start
(web: `deploy/gunicorn.conf.py`; workers and beat: `integration_hub.celery`; `setup_hub` and
every migration: `integration_hub.apps`) and in `manage.py check --deploy`, and refuses to run
with one line naming session pooling.

The proof, twice: our connection sets a fresh custom setting in one transaction and must read it
back in the next; meanwhile a second connection must not see it. The second client is what makes
the proof hold for a quiet pooler: with one idle server connection, a transaction pooler hands
our own connection back to us (the read-back alone would pass) but also to the other client.
"""

from __future__ import annotations

import logging
import sys
import uuid

from django.core.checks import CheckMessage, Error, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger("hub.startup")

PROBE_SETTING = "hub.session_probe"
ROUNDS = 2
EXIT_CONFIG = 78
"""EX_CONFIG: the systemd units do not restart a process that exits with it."""
SESSION_POOLING = (
    "connect to PostgreSQL directly or through PgBouncer in session pooling "
    "(pool_mode = session): django-tenants keeps each connection's search_path"
)


def session_state_problem(alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """None when the connection keeps session state, else what the proof saw.

    Raises `DatabaseError` when the database cannot be reached (nothing is proven then).
    """
    ours = connections.create_connection(alias)
    other = connections.create_connection(alias)
    try:
        for _ in range(ROUNDS):
            value = uuid.uuid4().hex
            _query(ours, "SELECT set_config(%s, %s, false)", [PROBE_SETTING, value])
            seen_elsewhere = _query(other, "SELECT current_setting(%s, true)", [PROBE_SETTING])
            read_back = _query(ours, "SELECT current_setting(%s, true)", [PROBE_SETTING])
            if read_back != value:
                return "a setting made in one transaction was gone in the next"
            if seen_elsewhere == value:
                return "another client's connection saw a setting made on this one"
    finally:
        ours.close()
        other.close()
    return None


def _query(conn, sql: str, params: list[str]) -> str | None:
    """One statement in autocommit: its own transaction."""
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def refusal(process: str, problem: str) -> str:
    return (
        f"Refusing to start {process}: the database connection does not keep session state "
        f"across transactions ({problem}); {SESSION_POOLING}."
    )


def refuse_without_session_state(process: str, alias: str = DEFAULT_DB_ALIAS) -> None:
    """Exit with one line on stderr when the connection loses session state.

    An unreachable database is not a refusal: the process starts and says so (`/healthz` answers
    503 meanwhile), and proves nothing until its next start.
    """
    try:
        problem = session_state_problem(alias)
    except DatabaseError as exc:
        logger.warning(
            "%s: could not prove the database connection keeps session state, the database is "
            "unreachable (%s); starting anyway",
            process,
            exc.__class__.__name__,
        )
        return
    if problem is None:
        return
    stderr = sys.__stderr__ or sys.stderr  # the real one: Celery beat redirects sys.stderr
    stderr.write(refusal(process, problem) + "\n")
    stderr.flush()
    raise SystemExit(EXIT_CONFIG)


@register("database", deploy=True)
def check_session_state(app_configs=None, **kwargs) -> list[CheckMessage]:
    """`manage.py check --deploy`: the same proof as at start."""
    try:
        problem = session_state_problem()
    except DatabaseError as exc:
        return [
            Warning(
                "Could not prove that the database connection keeps session state: the "
                f"database is unreachable ({exc.__class__.__name__}).",
                id="hub.W001",
            )
        ]
    if problem is None:
        return []
    return [
        Error(
            f"The database connection does not keep session state across transactions ({problem}).",
            hint=SESSION_POOLING[0].upper() + SESSION_POOLING[1:] + ".",
            id="hub.E001",
        )
    ]
