"""One lifecycle for every kind of background work: claim, succeed, retry, park, fail.

A kind of work (inbox items, orders, CSV imports, ...) registers once, in its app's
`AppConfig.ready`, with the states that mean "a worker has something to do", "needs attention"
and "failed", and the Celery task that processes one item. From then on:

- `schedule(item)` marks it due and sends its task after commit;
- `process(model, pk, step)` claims it with a lease, runs one attempt of `step` and records the
  outcome: success; a retryable error → back off (honouring the upstream's Retry-After) and try
  again, *failed* after the attempt limit; a permanent error → *needs attention* with the
  upstream's words and a hint; an unexpected error → retried like a retryable one, so a bug never
  leaves an item leased and silent;
- every attempt is a `WorkAttempt` row;
- the sweeper resends what is due or whose worker died.

State changes go through the kind's `move` function, so a business app that keeps a timeline
(orders) writes it in its own state module; other kinds use `guarded_move`.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from integration_hub.connectors.errors import PermanentError, RetryableError, UpstreamError
from integration_hub.core import dispatch, sweeper
from integration_hub.core.models import WorkAttempt, WorkItem

logger = logging.getLogger("hub.work")

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
HOST = socket.gethostname()


def worker_name() -> str:
    """host:pid of the process at work, read at each call: pool processes fork after import."""
    return f"{HOST}:{os.getpid()}"


HEARTBEAT_LOCK_TIMEOUT_SECONDS = 2


class GiveUp(Exception):
    """Raised by a step when trying again can never help: the item is *failed* at once."""


class NeedsAttention(Exception):
    """Raised by a step when a person must act first (map a SKU, fix a setting)."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Done:
    """What a step returns on success: the state to move to (None: the step moved it)."""

    state: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """What happened to an item, for the kind's own timeline or audit (`note`)."""

    outcome: str
    message: str
    hint: str = ""
    retry_in: float | None = None


Move = Callable[[WorkItem, str, str, dict[str, Any]], bool]


def guarded_move(item: WorkItem, state: str, message: str, fields: dict[str, Any]) -> bool:
    """Move the item only if nobody changed its state meanwhile; False when somebody did."""
    moved = type(item).objects.filter(pk=item.pk, state=item.state).update(state=state, **fields)
    if moved:
        item.state = state
    return bool(moved)


@dataclass(frozen=True)
class WorkKind:
    """How one kind of work item is processed.

    `task` is the Celery task (by name) that processes one item by its pk; `work_states` are the
    states in which a worker has something to do; `age_field` is the timestamp the sweeper
    compares with its grace period; `move` writes a state change (the kind's state machine),
    `note` records retries and parking on the kind's own timeline or audit log.
    """

    model: type[WorkItem]
    task: str
    work_states: tuple[str, ...]
    needs_attention: str
    failed: str
    in_tenants: bool
    age_field: str
    move: Move = guarded_move
    note: Callable[[WorkItem, Change], None] | None = None
    lease_seconds: int | None = None
    max_attempts: int | None = None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds or settings.HUB_LEASE_SECONDS)

    def attempt_limit(self) -> int:
        return self.max_attempts or settings.HUB_MAX_ATTEMPTS


_kinds: dict[type[models.Model], WorkKind] = {}


def register(kind: WorkKind) -> None:
    """Declare a kind of work; the sweeper resends its due and stuck items from now on."""
    _kinds[kind.model] = kind
    sweeper.register(
        sweeper.SweepJob(
            name=str(kind.model._meta.verbose_name_plural),
            task=kind.task,
            in_tenants=kind.in_tenants,
            find=lambda now, stale: [(pk,) for pk in due_ids(kind, now, stale)],
        )
    )


def kind_of(model: type[models.Model]) -> WorkKind:
    return _kinds[model]


def ready_q(now: datetime) -> Q:
    """Due and not leased by a live worker."""
    return (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def due_ids(kind: WorkKind, now: datetime, stale: datetime) -> list[int]:
    """Items whose own message had its chance (older than `stale`) and that are still due."""
    return list(
        kind.model.objects.filter(
            ready_q(now), state__in=kind.work_states, **{f"{kind.age_field}__lt": stale}
        ).values_list("pk", flat=True)[: settings.HUB_SWEEP_CAP_PER_TENANT]
    )


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Capped exponential backoff with full jitter; never sooner than the upstream asked."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0)))
    return max(random.uniform(ceiling / 2, ceiling), retry_after or 0.0)


def schedule(item: WorkItem, *, countdown: float | None = None) -> None:
    """Make the item due (now or after `countdown`) and send its task after commit."""
    kind = kind_of(type(item))
    due = timezone.now() + timedelta(seconds=countdown or 0)
    type(item).objects.filter(pk=item.pk).update(next_attempt_at=due)
    item.next_attempt_at = due
    dispatch.dispatch(kind.task, item.pk, countdown=countdown)


def schedule_many(model: type[WorkItem], ids: Iterable[int]) -> None:
    """`schedule` for freshly inserted rows (already due): one message each, after commit."""
    kind = kind_of(model)
    for pk in ids:
        dispatch.dispatch(kind.task, pk)


def retry_now(model: type[WorkItem], ids: Iterable[int], **changes: Any) -> list[int]:
    """A person asked for another try: a fresh attempt budget, due now; leased items are left.

    `changes` are written too (e.g. the state to resume from). Returns the rescheduled ids.
    """
    now = timezone.now()
    with transaction.atomic():
        free = list(
            model.objects.select_for_update()
            .filter(pk__in=list(ids))
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .values_list("pk", flat=True)
        )
        model.objects.filter(pk__in=free).update(
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            lease_holder="",
            last_error="",
            last_error_hint="",
            **changes,
        )
        schedule_many(model, free)
    return free


def claim(model: type[WorkItem], pk: int) -> WorkItem | None:
    """Lease the item when it needs work, is due and no live worker holds it.

    One conditional UPDATE, so two workers never both get it; the lease expires on its own if
    the worker dies. It returns the claimed row (`RETURNING`), so claiming costs one round trip.
    """
    kind = kind_of(model)
    now = timezone.now()
    due = model.objects.filter(ready_q(now), pk=pk, state__in=kind.work_states).query
    where, where_params = due.get_compiler(using=model.objects.db).compile(due.where)
    table = connection.ops.quote_name(model._meta.db_table)
    claimed = model.objects.raw(
        f"UPDATE {table} SET lease_until = %s, lease_holder = %s WHERE {where} RETURNING *",
        [now + kind.lease(), worker_name(), *where_params],
    )
    return next(iter(claimed), None)


class LeaseHeartbeat:
    """Renews the lease while a step runs, from a thread of its own.

    Leases can then be short (`HUB_LEASE_SECONDS`, 30 s): a live worker never loses an item to
    a slow upstream, and a killed worker's items are free again within one lease, not minutes.
    The thread uses its own database connection, in the item's schema, and gives up a beat
    rather than wait on a row lock.
    """

    def __init__(self, kind: WorkKind, pk: int) -> None:
        self.kind, self.pk = kind, pk
        self.schema = connection.schema_name
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{pk}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=HEARTBEAT_LOCK_TIMEOUT_SECONDS + 1)

    def _beat(self) -> None:
        lease = self.kind.lease()
        try:
            with schema_context(self.schema):
                while not self.stopped.wait(lease.total_seconds() / 3):
                    self._renew(lease)
        finally:
            connection.close()

    def _renew(self, lease: timedelta) -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{HEARTBEAT_LOCK_TIMEOUT_SECONDS}s'")
                self.kind.model.objects.filter(pk=self.pk, lease_holder=worker_name()).update(
                    lease_until=timezone.now() + lease
                )
        except DatabaseError:
            logger.warning("%s #%s: lease not renewed this beat", self.kind.label, self.pk)


def process(model: type[WorkItem], pk: int, step: Callable[[Any], Done | None]) -> str:
    """Claim the item and run one attempt of `step`; returns what happened, for the task log."""
    item = claim(model, pk)
    if item is None:
        return "skipped"
    kind = kind_of(model)
    started, clock, number = timezone.now(), time.monotonic(), item.attempts + 1
    upstream = error = ""
    try:
        with LeaseHeartbeat(kind, item.pk):
            done = step(item) or Done()
    except RetryableError as exc:
        outcome, upstream, error = _retry_later(kind, item, exc, str(exc)), exc.upstream, str(exc)
    except NeedsAttention as exc:
        error = exc.message
        outcome = _park(kind, item, kind.needs_attention, exc.message, exc.hint)
    except GiveUp as exc:
        error = str(exc)
        outcome = _park(kind, item, kind.failed, error, "")
    except PermanentError as exc:
        upstream, error = exc.upstream, str(exc)
        outcome = _park(kind, item, kind.needs_attention, str(exc), exc.hint)
    except UpstreamError as exc:
        upstream, error = exc.upstream, str(exc)
        outcome = _park(kind, item, kind.needs_attention, error, "Check the upstream.")
    except Exception as exc:
        logger.exception("%s #%s: unexpected error", kind.label, pk)
        error = f"Unexpected error: {exc!r}"
        outcome = _retry_later(kind, item, RetryableError(error), error)
    else:
        outcome = _succeed(kind, item, done)
    record_attempts(
        model, [item.pk], started=started, seconds=time.monotonic() - clock,
        outcome=outcome, upstream=upstream, error=error, number=number,
    )  # fmt: skip
    return item.state if outcome == WorkAttempt.Outcome.SUCCEEDED else outcome


def record_attempts(
    model: type[WorkItem],
    ids: Iterable[int],
    *,
    started: datetime,
    seconds: float,
    outcome: str,
    upstream: str = "",
    error: str = "",
    number: int = 1,
) -> None:
    """Keep one row per item for an attempt (a batch call to an upstream covers several).

    One item's row is a single autocommitted INSERT, without a transaction around it.
    """
    rows = [
        WorkAttempt(
            kind=model._meta.label_lower,
            item_id=pk,
            number=number,
            started_at=started,
            duration_ms=int(seconds * 1000),
            outcome=outcome,
            upstream=upstream[:20],
            error=error,
            worker=worker_name(),
        )
        for pk in ids
    ]
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        WorkAttempt.objects.bulk_create(rows)


def prune_attempts() -> int:
    """Attempt rows are history, not state: rows older than the retention period go."""
    before = timezone.now() - timedelta(days=settings.HUB_ATTEMPT_RETENTION_DAYS)
    deleted, _ = WorkAttempt.objects.filter(started_at__lt=before).delete()
    return deleted


def due_attempt_pruning(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: prune once an hour in each schema (the cache key is per schema)."""
    return [()] if cache.add("core:prune-attempts", 1, timeout=3600) else []


def attempts_of(item: WorkItem, limit: int = 50) -> list[WorkAttempt]:
    return list(WorkAttempt.objects.filter(kind=item._meta.label_lower, item_id=item.pk)[:limit])


def _released(**fields: Any) -> dict[str, Any]:
    return {"lease_until": None, "lease_holder": "", **fields}


def _succeed(kind: WorkKind, item: WorkItem, done: Done) -> str:
    """Release the item; the kind's `move` keeps its own writes atomic, and a bare release is
    one statement, so no transaction is opened here."""
    fields = _released(
        attempts=0, next_attempt_at=None, last_error="", last_error_hint="", **done.fields
    )
    if done.state and done.state != item.state:
        kind.move(item, done.state, "", fields)
    else:
        type(item).objects.filter(pk=item.pk).update(**fields)
    return WorkAttempt.Outcome.SUCCEEDED


def _retry_later(kind: WorkKind, item: WorkItem, exc: RetryableError, error: str) -> str:
    attempts = item.attempts + 1
    if attempts >= kind.attempt_limit():
        message = f"Gave up after {attempts} attempts: {error}"
        hint = "Retry it once the cause is fixed."
        return _park(kind, item, kind.failed, message, hint, attempts=attempts)
    delay = backoff_seconds(attempts, exc.retry_after)
    with transaction.atomic():
        type(item).objects.filter(pk=item.pk, state=item.state).update(
            **_released(
                attempts=attempts,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                last_error=error,
                last_error_hint="",
            )
        )
        item.attempts = attempts
        if kind.note:
            kind.note(item, Change(WorkAttempt.Outcome.RETRY, error, retry_in=delay))
        dispatch.dispatch(kind.task, item.pk, countdown=delay)
    logger.info("%s #%s will retry in %.1fs: %s", kind.label, item.pk, delay, error)
    return WorkAttempt.Outcome.RETRY


def _park(
    kind: WorkKind, item: WorkItem, state: str, message: str, hint: str, **fields: Any
) -> str:
    """Needs attention or failed: no further automatic attempts until a person retries."""
    outcome = (
        WorkAttempt.Outcome.FAILED if state == kind.failed else WorkAttempt.Outcome.NEEDS_ATTENTION
    )
    with transaction.atomic():
        moved = kind.move(
            item,
            state,
            message,
            _released(next_attempt_at=None, last_error=message, last_error_hint=hint, **fields),
        )
        if moved and kind.note:
            kind.note(item, Change(outcome, message, hint=hint))
    return outcome
