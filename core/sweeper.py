"""The sweeper: PostgreSQL is the truth, Celery messages are hints.

Each app registers, in its `AppConfig.ready`, the work it owns as a `SweepJob`: a query for
what is due or stuck, and the task to send for each hit. Every beat tick runs the public jobs,
and the tenant jobs in the tenant schemas that have something to do, so a Redis restart, a
killed worker or a crash between commit and publish delays work but never loses it. The
sweeper knows no business app.

Idle tenants cost nothing (docs/adr-0014-idle-tenants.md). A tick does not visit every schema:
- writers call `wake(at)` where work comes into being, is retried or is leased (`core.work`):
  one INSERT into the public `SchemaWakeUp` table, in the writer's own transaction;
- a tick deletes the due wake-ups (one statement) and visits only their schemas;
- a visit asks each job when it is next due there (`SweepJob.next_due`), runs the `find` of
  the jobs due now, and leaves one wake-up at the earliest next time, so every schema with
  pending work or periodic upkeep stays on a chain of wake-ups of its own;
- the safety net: every `HUB_SWEEP_FULL_PASS_SECONDS` each active tenant is checked once,
  spread over the ticks (a tick checks the schemas whose hash falls in its slice, in a few
  statements for all of them): a schema with no wake-up left, or with work items due well
  before its next wake-up (a writer that forgot to wake), is visited at once;
- ticks never overlap: a tick holds a PostgreSQL advisory lock while it runs (it makes no
  upstream call), and a tick that finds it taken does nothing.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from core.dispatch import publish
from core.models import SchemaWakeUp

logger = logging.getLogger("hub.sweeper")

TICK_LOCK = 0x68756273776565  # the advisory lock a tick holds ("hubswee")
LAST_TICK_KEY = "sweeper:last-tick"
SAFETY_MARGIN = timedelta(seconds=5)
"""A wake-up this close to now may be taken by a tick already running: never count on it."""


@dataclass(frozen=True)
class SweepJob:
    """`find(now, stale)` returns the argument tuples of the `task` messages to send now.

    `stale` is `now` minus the grace period a fresh row's own message gets before the sweeper
    sends another. `next_due(now)`, for tenant jobs, says when the job next has something to do
    in the schema in use (None: nothing pending; a time not after `now`: due now). A visit runs
    `find` only for the jobs due, and comes back at the earliest time named. A job without
    `next_due` runs its `find` at every visit of a schema but never asks for one.
    """

    name: str
    task: str
    in_tenants: bool
    find: Callable[[datetime, datetime], list[tuple]]
    next_due: Callable[[datetime], datetime | None] | None = None


Backstop = Callable[[list[str], datetime], dict[str, datetime]]
"""For the safety net: given tenant schemas, the earliest time work is due in each (a schema
with nothing due is left out), read for all of them in one or two statements."""

_jobs: dict[str, SweepJob] = {}
_backstops: list[Backstop] = []

SweepReport = dict[str, dict[str, int]]


def register(job: SweepJob) -> None:
    _jobs[job.name] = job


def registered() -> list[SweepJob]:
    return list(_jobs.values())


def register_backstop(check: Backstop) -> None:
    """Let the full pass find work that no wake-up announces (`core.work` registers one)."""
    if check not in _backstops:
        _backstops.append(check)


def active_tenants() -> QuerySet:
    """Tenants that have work: active ones, never public or the provisioning template."""
    tenants = get_tenant_model().objects.filter(is_active=True, is_template=False)
    return tenants.exclude(schema_name=get_public_schema_name())


def tenant_schemas() -> Iterator[str]:
    """Active tenant schemas (never public or the provisioning template)."""
    yield from active_tenants().values_list("schema_name", flat=True)


# --- Wake-ups ----------------------------------------------------------------------------------


class _Announced(threading.local):
    """Wake-ups this thread's connection has written, so a burst of writes announces itself
    once: the earliest one per schema in the open transaction (valid while that transaction,
    and the savepoint it was written in, lives), and the earliest committed one (valid while
    it is far enough in the future that no tick has taken it)."""

    def __init__(self) -> None:
        self.transaction: object = None
        self.in_transaction: dict[str, datetime] = {}
        self.committed: dict[str, datetime] = {}

    def covers(self, schema: str, at: datetime, now: datetime) -> bool:
        if connection.in_atomic_block:
            # Django replaces this list when the transaction ends or a savepoint rolls back.
            if self.transaction is not connection.run_on_commit:
                return False
            written = self.in_transaction.get(schema)
        else:
            written = self.committed.get(schema)
            if written is not None and written <= now + SAFETY_MARGIN:
                return False
        return written is not None and written <= at

    def note(self, schema: str, at: datetime) -> None:
        if connection.in_atomic_block:
            if self.transaction is not connection.run_on_commit:
                self.transaction, self.in_transaction = connection.run_on_commit, {}
            rows = self.in_transaction
        else:
            rows = self.committed
        rows[schema] = min(at, rows.get(schema, at))


_announced = _Announced()


def wake(at: datetime) -> None:
    """Ask for a visit of the schema in use at `at` (or at the first tick after it).

    THE call for writers: where work comes into being, is scheduled, retried or leased. The
    row is written in the caller's transaction, so it is seen exactly when the work is; one
    visit after the work is visible is enough (the visit then chains to the work's own due
    time), so a wake-up already written no later than `at` (in this transaction, or committed
    and not yet due) makes another unnecessary. Nothing for the public schema: its jobs run
    at every tick.
    """
    schema = connection.schema_name
    if schema == get_public_schema_name():
        return
    now = timezone.now()
    if _announced.covers(schema, at, now):
        return
    SchemaWakeUp.objects.create(schema_name=schema, due_at=at)
    _announced.note(schema, at)


def next_slot(period: float, now: datetime) -> datetime:
    """The next time after `now` in the schema's own slot of every `period` seconds: periodic
    upkeep of many idle schemas spreads evenly instead of falling on the same tick."""
    period = max(int(period), 1)
    offset = zlib.crc32(connection.schema_name.encode()) % period
    epoch = now.timestamp()
    slot = epoch - epoch % period + offset
    if slot <= epoch:
        slot += period
    return datetime.fromtimestamp(slot, tz=UTC)


def slot_due(key: str, period: float, now: datetime) -> datetime:
    """When the job kept under `key` next runs in the schema in use, once per `period`: first
    in the schema's own slot (`next_slot`), then a period after each run (`take_slot`)."""
    at = cache.get(key)
    if not isinstance(at, (int, float)):
        at = next_slot(period, now).timestamp()
        cache.set(key, at, timeout=int(period * 2))
    return datetime.fromtimestamp(at, tz=UTC)


def take_slot(key: str, period: float, now: datetime) -> list[tuple]:
    """A `find` answer for a job run once per `period` in its own slot: one message without
    arguments when the slot has come (and the next is a period on), none otherwise."""
    if slot_due(key, period, now) > now:
        return []
    cache.set(key, next_slot(period, now).timestamp(), timeout=int(period * 2))
    return [()]


def once_every(key: str, seconds: float) -> list[tuple]:
    """A `find` answer for a job run at most once per `seconds` in the schema in use: one
    message without arguments when the interval has passed, none otherwise (the cache key is
    per schema, and `cache.add` is atomic across processes). The value kept is when the
    interval ends, for `next_time`."""
    until = timezone.now().timestamp() + seconds
    return [()] if cache.add(key, until, timeout=seconds) else []


def next_time(key: str, now: datetime) -> datetime:
    """When `once_every(key, ...)` says yes again in the schema in use: `now` if it would now."""
    until = cache.get(key)
    if not isinstance(until, (int, float)) or until <= now.timestamp():
        return now
    return datetime.fromtimestamp(until, tz=UTC)


# --- The tick ----------------------------------------------------------------------------------


def sweep(*, visit_all: bool = False) -> SweepReport:
    """Send every registered job's due messages; returns {job name: {schema: messages}}.

    `visit_all` visits every active tenant schema, as the sweeper did before wake-ups (the
    idle bench compares the two)."""
    with _tick_lock() as held:
        if not held:
            logger.info("a sweep tick is still running; this one does nothing")
            return {}
        return _tick(visit_all)


@contextmanager
def _tick_lock() -> Iterator[bool]:
    """A session advisory lock, held for the tick only: released at the end, or with the
    connection if the worker dies."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [TICK_LOCK])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [TICK_LOCK])


def _tick(visit_all: bool) -> SweepReport:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.HUB_SWEEP_GRACE_SECONDS)
    report: SweepReport = {}
    public = get_public_schema_name()
    _run([job for job in _jobs.values() if not job.in_tenants], public, now, stale, report)
    tenant_jobs = [job for job in _jobs.values() if job.in_tenants]
    if tenant_jobs:
        schemas = set(tenant_schemas()) if visit_all else _woken(now) | _safety_net(now)
        next_visits: dict[str, datetime] = {}
        for schema in sorted(schemas):
            with schema_context(schema):
                next_visit = _visit(tenant_jobs, schema, now, stale, report)
            if next_visit is not None:
                next_visits[schema] = next_visit
        _leave_wake_ups(next_visits)
    if report:
        logger.info("sweep sent %s", report)
    return report


def _active_tenants_sql() -> tuple[str, str]:
    """The tenant table as `t` and the SQL condition `active_tenants()` means (one parameter:
    the public schema's name)."""
    table = connection.ops.quote_name(get_tenant_model()._meta.db_table)
    return table, "t.is_active AND NOT t.is_template AND t.schema_name <> %s"


def _woken(now: datetime) -> set[str]:
    """Take the due wake-ups (one statement); returns the active tenant schemas among them."""
    tenants, active = _active_tenants_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH due AS (DELETE FROM core_schemawakeup WHERE due_at <= %s "
            "RETURNING schema_name) "
            f"SELECT DISTINCT t.schema_name FROM due JOIN {tenants} t USING (schema_name) "
            f"WHERE {active}",
            [now, get_public_schema_name()],
        )
        return {row[0] for row in cursor.fetchall()}


def _safety_net(now: datetime) -> set[str]:
    """This tick's slice of the full pass: the schemas to visit although nobody woke them."""
    period = max(int(settings.HUB_SWEEP_FULL_PASS_SECONDS), 1)
    last = cache.get(LAST_TICK_KEY)
    cache.set(LAST_TICK_KEY, now.timestamp(), timeout=period * 2)
    if not isinstance(last, (int, float)) or last > now.timestamp():
        last = now.timestamp() - settings.HUB_SWEEP_SECONDS
    slice_filter, params = _slice(last, now.timestamp(), period)
    tenants, active = _active_tenants_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.schema_name, (SELECT min(w.due_at) FROM core_schemawakeup w "
            "WHERE w.schema_name = t.schema_name) "
            f"FROM {tenants} t WHERE {active} AND {slice_filter}",
            [get_public_schema_name(), *params],
        )
        pending = dict(cursor.fetchall())
    if not pending:
        return set()
    due: dict[str, datetime] = {}
    for check in _backstops:
        try:
            found = check(sorted(pending), now)
        except Exception:
            logger.exception("sweeper safety net %s failed", check)
            continue
        for schema, at in found.items():
            due[schema] = min(at, due.get(schema, at))
    slack = timedelta(seconds=settings.HUB_SWEEP_SECONDS)
    stranded = {
        schema
        for schema, next_wake in pending.items()
        if next_wake is None or (schema in due and max(due[schema], now) + slack < next_wake)
    }
    if stranded:
        logger.warning("sweeper safety net: visiting %s, which no wake-up announced", stranded)
    return stranded


def _slice(last: float, now: float, period: int) -> tuple[str, list]:
    """The SQL condition for the schemas whose place in the full pass (their hash, in seconds
    of the period) the clock passed since the last tick."""
    position = "mod(abs(hashtext(t.schema_name)::bigint), %s)"
    if now - last >= period:
        return "TRUE", []
    start, end = last % period, now % period
    if start <= end:
        return f"{position} > %s AND {position} <= %s", [period, start, period, end]
    return f"({position} > %s OR {position} <= %s)", [period, start, period, end]


def _visit(
    jobs: list[SweepJob], schema: str, now: datetime, stale: datetime, report: SweepReport
) -> datetime | None:
    """Run the jobs due in the schema in use; returns when it next needs a visit."""
    later: list[datetime] = []
    recheck = False
    for job in jobs:
        if job.next_due is not None:
            try:
                due = job.next_due(now)
            except Exception:  # run the job as before; come back next tick
                logger.exception("next due time of %s failed in %s", job.name, schema)
                due = now
            if due is None or due > now:
                later += [due] if due else []
                continue
            recheck = True
        _run([job], schema, now, stale, report)
    if recheck:
        later.append(now + timedelta(seconds=settings.HUB_SWEEP_SECONDS))
    return min(later, default=None)


def _leave_wake_ups(next_visits: dict[str, datetime]) -> None:
    """One wake-up per schema at its next visit (one statement), unless it already has one
    no later than that."""
    if not next_visits:
        return
    rows = ", ".join(["(%s, %s::timestamptz)"] * len(next_visits))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_schemawakeup (schema_name, due_at) "
            f"SELECT v.schema_name, v.due_at FROM (VALUES {rows}) AS v(schema_name, due_at) "
            "WHERE NOT EXISTS (SELECT 1 FROM core_schemawakeup w "
            "WHERE w.schema_name = v.schema_name AND w.due_at <= v.due_at)",
            [value for pair in sorted(next_visits.items()) for value in pair],
        )


def _run(
    jobs: list[SweepJob], schema: str, now: datetime, stale: datetime, report: SweepReport
) -> None:
    for job in jobs:
        try:
            hits = job.find(now, stale)
        except Exception:  # one broken job must not stop the others
            logger.exception("sweep job %s failed in %s", job.name, schema)
            continue
        for args in hits:
            publish(job.task, *args)
        if hits:
            report.setdefault(job.name, {})[schema] = len(hits)
