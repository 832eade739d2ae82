"""The one way to send work to Celery: after commit, in the caller's schema, never failing.

The database row is the truth and a Celery message only a hint. A message is published once the
surrounding transaction has committed (a rolled-back row gets none), inside the schema that was
active when it was asked for (an on_commit callback runs in whatever schema is active at commit
time), and a broker failure is logged, never raised: the sweeper resends what is due.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

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


class BatchedPublisher:
    """Gathers ids for `task_name` and publishes them as one `task_name(ids)` message.

    For hot paths that store many rows a second (webhooks): a Celery publish per row costs more
    than the row itself. Rows must already be committed when `add` is called. A flusher thread
    (one per process, started on first use, so forked servers each get theirs) sends what has
    gathered every `interval` seconds or as soon as `batch_size` ids wait. Ids lost with a
    crashed process are not lost work: their rows stay due and the sweeper resends them.
    """

    def __init__(self, task_name: str, *, interval: float = 0.02, batch_size: int = 50) -> None:
        self.task_name, self.interval, self.batch_size = task_name, interval, batch_size
        self._lock = threading.Lock()
        self._waiting: dict[str, list[int]] = {}
        self._wake = threading.Event()
        self._pid = 0

    def add(self, item_id: int, schema: str | None = None) -> None:
        """Gather `item_id`, to be published in `schema` (the current one when not given)."""
        schema = schema or connection.schema_name
        with self._lock:
            if self._pid != os.getpid():
                self._start()
            waiting = self._waiting.setdefault(schema, [])
            waiting.append(item_id)
            full = len(waiting) >= self.batch_size
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Publish everything gathered so far (also called by the flusher thread)."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for schema, ids in waiting.items():
            for start in range(0, len(ids), self.batch_size):
                publish(self.task_name, ids[start : start + self.batch_size], schema=schema)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._waiting = {}
        thread = threading.Thread(target=self._run, name=f"publish-{self.task_name}", daemon=True)
        thread.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the flusher die; the sweeper covers what it missed
                logger.warning("batched publish of %s failed", self.task_name, exc_info=True)
