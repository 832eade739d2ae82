"""The one way to send work to Celery: after commit, in the caller's schema, never failing.

The database row is the truth and a Celery message only a hint. A message is published once the
surrounding transaction has committed (a rolled-back row gets none), inside the schema that was
active when it was asked for (an on_commit callback runs in whatever schema is active at commit
time), and a broker failure is logged, never raised: the sweeper resends what is due.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context

logger = logging.getLogger("hub.dispatch")


def dispatch(
    task_name: str,
    *args: object,
    countdown: float | None = None,
    coalesce_seconds: float | None = None,
) -> None:
    """Publish `task_name(*args)` after commit.

    With `coalesce_seconds`, requests for the same task in the same schema within that window
    become one message (a burst of orders reaching the ERP asks for one ShipStation push).
    """
    schema = connection.schema_name
    if coalesce_seconds and not _first_request(schema, task_name, args, coalesce_seconds):
        return
    transaction.on_commit(lambda: publish(task_name, *args, countdown=countdown, schema=schema))


def publish(
    task_name: str, *args: object, countdown: float | None = None, schema: str | None = None
) -> None:
    """Publish now, for rows that are already committed (the sweeper); failures are logged."""
    schema = schema or connection.schema_name
    try:
        with schema_context(schema):
            current_app.send_task(task_name, args=args, countdown=countdown)
    except Exception:  # any broker failure: the row stays due and the sweeper resends
        logger.warning(
            "could not publish %s%s in %s; the sweeper will resend it",
            task_name,
            args,
            schema,
            exc_info=True,
        )


def _first_request(schema: str, task_name: str, args: tuple, seconds: float) -> bool:
    """True for the first request in the window; an unreachable cache lets every one through."""
    key = f"dispatch:{schema}:{task_name}:{args!r}"
    try:
        return bool(cache.add(key, 1, timeout=seconds))
    except Exception:
        logger.warning("cache unreachable; publishing %s without coalescing", task_name)
        return True


def forget_coalesced(task_name: str, *args: object) -> None:
    """Called by a coalesced task when it starts, so requests made while it runs are not lost."""
    try:
        cache.delete(f"dispatch:{connection.schema_name}:{task_name}:{args!r}")
    except Exception:
        logger.warning("cache unreachable; could not reset coalescing for %s", task_name)
