"""One lifecycle for every kind of background work: claim, succeed, retry, park, fail.

A kind of work (inbox items, orders, CSV imports, ...) registers once, in its app's
`AppConfig.ready`, with the states that mean "a worker has something to do", "needs attention"
and "failed", and the Celery task that processes one item. From then on:

- `schedule(item)` marks it due and sends its task after commit;
- `process(model, pk, step)` claims it with a lease, runs one attempt of `step` and records the
  outcome: success; a retryable error → back off on the kind's schedule (`core.retry`, honouring
  the upstream's Retry-After) and try again, *failed* once an attempt fails after the schedule's
  time is up; a permanent error → *needs attention* with the upstream's words and a hint; an
  unexpected error → retried like a retryable one, so a bug never leaves an item leased and
  silent;
- an upstream failing for every item of a tenant pauses as a whole (`core.breaker`): its failing
  items wait for it without attempts;
- every attempt is a `WorkAttempt` row;
- the sweeper resends what is due or whose worker died: scheduling, retrying and leasing an
  item of a tenant wake its schema for the sweeper (`sweeper.wake`), and each kind tells the
  sweeper when its items are next due there (docs/adr-0014-idle-tenants.md).

State changes go through the kind's `move` function, so a business app that keeps a timeline
(orders) writes it in its own state module; other kinds use `guarded_move`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Min, Q
from django.dispatch import Signal
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.errors import PermanentError, RetryableError, UpstreamError
from core import breaker, dispatch, sweeper
from core.models import WorkAttempt, WorkItem
from core.retry import RetrySchedule, upstream_work

logger = logging.getLogger("hub.work")

HOST = socket.gethostname()
PAUSED = "paused"
"""The outcome of an item not attempted because its upstream's circuit breaker is open."""


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
    `note` records retries and parking on the kind's own timeline or audit log. A kind whose
    items are cheaper together names a `batch_task` too, which takes a list of up to
    `batch_size` pks (`process_batch`); `schedule_many` then sends one message per batch.

    `model` may be a proxy of another kind's model: a second flow over the same rows (orders
    *in ERP* waiting for their ShipStation push), with work states of its own that the other
    kind's never overlap. Its attempts join the rows' one history (`attempt_kind`).

    `retry` is how long failing items keep trying (the upstream schedule from settings unless
    named); `max_attempts` an optional cap on the attempts of one failing run (else
    `HUB_MAX_ATTEMPTS`, 0 for none).
    """

    model: type[WorkItem]
    task: str
    work_states: tuple[str, ...]
    needs_attention: str = "needs_attention"
    failed: str = "failed"
    in_tenants: bool = True
    age_field: str = "updated_at"
    move: Move = guarded_move
    note: Callable[[WorkItem, Change], None] | None = None
    lease_seconds: int | None = None
    max_attempts: int | None = None
    retry: RetrySchedule | None = None
    batch_task: str = ""
    batch_size: int = field(default_factory=lambda: settings.HUB_BATCH_SIZE)

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds or settings.HUB_LEASE_SECONDS)

    def attempt_limit(self) -> int:
        """Attempts one failing run may take at most; 0: no cap, the schedule decides."""
        return self.max_attempts or settings.HUB_MAX_ATTEMPTS

    def schedule(self) -> RetrySchedule:
        return self.retry or upstream_work()


_kinds: dict[type[models.Model], WorkKind] = {}

items_parked = Signal()
"""Sent after an attempt parked items (needs attention or failed), in the items' schema:
`sender` is the model, `kind` the WorkKind, `parked` a list of (item, the exception raised).
Alerts listen; core knows nothing of them."""

work_behind = Signal()
"""Sent by the sweeper when it finds items of a kind due and not taken up (in their schema):
`sender` is the model, `kind` the WorkKind, `oldest` the oldest such item's age timestamp and
`count` how many were found. Costs one query, and only where work is waiting."""


def register(kind: WorkKind) -> None:
    """Declare a kind of work; the sweeper resends its due and stuck items from now on (in
    messages of a batch each when the kind has a batch task)."""
    _kinds[kind.model] = kind
    task, find = kind.task, lambda now, stale: [(pk,) for pk in swept_ids(kind, now, stale)]
    if kind.batch_task:
        task, find = (
            kind.batch_task,
            lambda now, stale: [
                (chunk,) for chunk in _chunks(swept_ids(kind, now, stale), kind.batch_size)
            ],
        )
    sweeper.register(
        sweeper.SweepJob(
            name=str(kind.model._meta.verbose_name_plural),
            task=task,
            in_tenants=kind.in_tenants,
            find=find,
            next_due=(lambda now: _next_due(kind, now)) if kind.in_tenants else None,
        )
    )


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def kind_of(model: type[models.Model]) -> WorkKind:
    return _kinds[model]


def registered_kinds() -> list[WorkKind]:
    return list(_kinds.values())


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


def swept_ids(kind: WorkKind, now: datetime, stale: datetime) -> list[int]:
    """The sweeper's finds for `kind`; when there are any, `work_behind` says how old they are."""
    ids = due_ids(kind, now, stale)
    if ids and work_behind.has_listeners(kind.model):
        oldest = kind.model.objects.filter(pk__in=ids).aggregate(oldest=Min(kind.age_field))
        work_behind.send(kind.model, kind=kind, oldest=oldest["oldest"], count=len(ids))
    return ids


def _grace() -> timedelta:
    return timedelta(seconds=settings.HUB_SWEEP_GRACE_SECONDS)


def _wake_after(due: datetime) -> None:
    """Announce to the sweeper an item's own message due at `due`: it looks after the grace."""
    sweeper.wake(due + _grace())


def _due_select(kind: WorkKind, label: str, schema: str | None = None) -> tuple[str, list]:
    """SELECT label, when the sweeper would next find one of the kind's items (its own message
    had its grace, no live lease, old enough), over the kind's table (in `schema` if named)."""
    meta, quote = kind.model._meta, connection.ops.quote_name
    table = quote(meta.db_table) if schema is None else f"{quote(schema)}.{quote(meta.db_table)}"
    state, due, lease, age = (
        quote(meta.get_field(name).column)
        for name in ("state", "next_attempt_at", "lease_until", kind.age_field)
    )
    sql = (
        f"SELECT %s::text, min(greatest({due} + %s, {lease}, {age} + %s)) "
        f"FROM {table} WHERE {state} = ANY(%s)"
    )
    return sql, [label, _grace(), _grace(), [str(state) for state in kind.work_states]]


def _tenant_kinds() -> list[WorkKind]:
    return [kind for kind in _kinds.values() if kind.in_tenants]


_visit_dues: dict[tuple[str, datetime], dict[str, datetime | None]] = {}


def _next_due(kind: WorkKind, now: datetime) -> datetime | None:
    """A kind's next due time in the schema in use; one statement per visit answers for every
    kind (the sweeper asks each kind in turn with the visit's `now`)."""
    key = (connection.schema_name, now)
    if key not in _visit_dues:
        selects = [_due_select(other, other.label) for other in _tenant_kinds()]
        with connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(sql for sql, _ in selects),
                [value for _, params in selects for value in params],
            )
            _visit_dues.clear()
            _visit_dues[key] = dict(cursor.fetchall())
    return _visit_dues[key].get(kind.label)


def stranded_work(schemas: list[str], now: datetime, chunk: int = 50) -> dict[str, datetime]:
    """The sweeper's safety net: when work items of each schema are next due, read for all the
    schemas at once (one statement per `chunk` schemas)."""
    found: dict[str, datetime] = {}
    for start in range(0, len(schemas), chunk):
        selects = [
            _due_select(kind, schema, schema)
            for schema in schemas[start : start + chunk]
            for kind in _tenant_kinds()
        ]
        if not selects:
            break
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT due.schema_name, min(due.at) FROM ("
                + " UNION ALL ".join(sql for sql, _ in selects)
                + ") AS due(schema_name, at) WHERE due.at IS NOT NULL GROUP BY due.schema_name",
                [value for _, params in selects for value in params],
            )
            found.update(cursor.fetchall())
    return found


sweeper.register_backstop(stranded_work)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """The upstream schedule's wait after `attempts` failures, for work timed outside the core
    (a catalog push's refused items); never sooner than the upstream asked."""
    return upstream_work().delay(attempts, retry_after=retry_after)


def retrying_until(item: WorkItem) -> datetime | None:
    """When a failing item's retries end: its kind's schedule from the first failure of the run;
    None when it is not failing or no kind is working it (parked, done)."""
    if item.failing_since is None:
        return None
    concrete = type(item)._meta.concrete_model
    for kind in _kinds.values():
        if kind.model._meta.concrete_model is concrete and item.state in kind.work_states:
            return kind.schedule().deadline(item.failing_since)
    return None


def schedule(item: WorkItem, *, countdown: float | None = None) -> None:
    """Make the item due (now or after `countdown`) and send its task after commit."""
    kind = kind_of(type(item))
    due = timezone.now() + timedelta(seconds=countdown or 0)
    type(item).objects.filter(pk=item.pk).update(next_attempt_at=due)
    item.next_attempt_at = due
    if kind.in_tenants:
        _wake_after(due)
    dispatch.dispatch(kind.task, item.pk, countdown=countdown)


def schedule_many(
    model: type[WorkItem], ids: Iterable[int], *, countdown: float | None = None
) -> None:
    """`schedule` for freshly inserted rows (already due), after commit: one message per
    batch when the kind has a batch task, else one each. With `countdown`, the items that
    become due meanwhile can join the batch (a batch task fills from what is due)."""
    kind = kind_of(model)
    ids = list(ids)
    if ids and kind.in_tenants:
        _wake_after(timezone.now() + timedelta(seconds=countdown or 0))
    if not kind.batch_task:
        for pk in ids:
            dispatch.dispatch(kind.task, pk, countdown=countdown)
        return
    for chunk in _chunks(ids, kind.batch_size):
        dispatch.dispatch(kind.batch_task, chunk, countdown=countdown)


def retry_now(model: type[WorkItem], ids: Iterable[int], **changes: Any) -> list[int]:
    """A person asked for another try: a fresh retry schedule, due now; leased items are left.

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
            failing_since=None,
            failing_upstream="",
            **changes,
        )
        schedule_many(model, free)
    return free


def claim(model: type[WorkItem], pk: int) -> WorkItem | None:
    """Lease one item when it needs work, is due and no live worker holds it."""
    return next(iter(claim_batch(model, [pk])), None)


def claim_batch(model: type[WorkItem], ids: Iterable[int], fill_to: int = 0) -> list[WorkItem]:
    """Lease the given items that need work, are due and are free, and, up to `fill_to` items in
    all, other due items of the kind (oldest first), so a backlog is worked in full batches.

    One UPDATE over a `FOR NO KEY UPDATE SKIP LOCKED` selection: two workers never get the same
    item, and neither waits for the other (nor for a timeline INSERT referencing an item).
    Leases expire on their own if the worker dies. The claimed rows come back (`RETURNING`),
    in pk order.
    """
    kind = kind_of(model)
    ids = list(ids)
    now = timezone.now()
    due = model.objects.filter(ready_q(now), state__in=kind.work_states)
    if fill_to <= len(ids):
        due = due.filter(pk__in=ids)
    where, where_params = due.query.get_compiler(using=model.objects.db).compile(due.query.where)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    claimed = model.objects.raw(
        f"UPDATE {table} SET lease_until = %s, lease_holder = %s WHERE {pk} IN ("
        f"SELECT {pk} FROM {table} WHERE {where} ORDER BY {pk} = ANY(%s) DESC, {pk} "
        "LIMIT %s FOR NO KEY UPDATE SKIP LOCKED) RETURNING *",
        [now + kind.lease(), worker_name(), *where_params, ids, max(fill_to, len(ids))],
    )
    claimed = sorted(claimed, key=lambda item: item.pk)
    if claimed and kind.in_tenants:
        sweeper.wake(now + kind.lease())  # if the worker dies, the items are due at lease end
    return claimed


class LeaseHeartbeat:
    """Renews the lease while a step runs, from a thread of its own.

    Leases can then be short (`HUB_LEASE_SECONDS`, 30 s): a live worker never loses an item to
    a slow upstream, and a killed worker's items are free again within one lease, not minutes.
    The thread uses its own database connection, in the item's schema, and gives up a beat
    rather than wait on a row lock.
    """

    def __init__(self, kind: WorkKind, pks: list[int]) -> None:
        self.kind, self.pks = kind, pks
        self.schema = connection.schema_name
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{pks[0]}", daemon=True)

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
                self.kind.model.objects.filter(pk__in=self.pks, lease_holder=worker_name()).update(
                    lease_until=timezone.now() + lease
                )
        except DatabaseError:
            logger.warning("%s %s: leases not renewed this beat", self.kind.label, self.pks)


StepResult = Done | Exception
"""One item's result of a batch step: `Done`, or the exception that item failed with."""


def process(model: type[WorkItem], pk: int, step: Callable[[Any], Done | None]) -> str:
    """Claim the item and run one attempt of `step`; returns what happened, for the task log."""
    outcomes = process_batch(model, [pk], lambda items: {pk: step(items[0]) or Done()}, fill_to=0)
    return outcomes.get(pk, "skipped")


def process_batch(
    model: type[WorkItem],
    ids: Iterable[int],
    step: Callable[[list[Any]], dict[int, StepResult]],
    *,
    fill_to: int | None = None,
) -> dict[int, str]:
    """Claim the items (and other due ones, up to `fill_to` in all: the kind's batch size
    unless named, 0 for none) and run one attempt of `step` over them together, for work that
    is cheaper in bulk (one upstream call for many).

    `step` returns each item's `Done` or exception (an item it leaves out succeeded); an
    exception it raises is every item's. Each item's outcome is then recorded exactly as for a
    single item: succeed, retry later, park. Items whose upstream is paused are not attempted
    (`PAUSED`). Returns {pk: new state or outcome}.
    """
    kind = kind_of(model)
    claimed = claim_batch(model, ids, kind.batch_size if fill_to is None else fill_to)
    items, probes, outcomes = _admit(kind, claimed)
    if not items:
        return outcomes
    started, clock = timezone.now(), time.monotonic()
    try:
        with LeaseHeartbeat(kind, [item.pk for item in items]):
            results = step(items)
    except Exception as exc:
        results = {item.pk: exc for item in items}
    seconds = time.monotonic() - clock
    numbers = {item.pk: item.attempts + 1 for item in items}
    succeeded = [item for item in items if not isinstance(results.get(item.pk), Exception)]
    _succeed_all(kind, [(item, results.get(item.pk) or Done()) for item in succeeded])
    paused = _settle_breakers(kind, results, probes, succeeded=bool(succeeded))
    attempts: list[WorkAttempt] = []
    parked: list[tuple[WorkItem, Exception]] = []
    for item in items:
        result = results.get(item.pk)
        if isinstance(result, Exception):
            outcome, upstream, error = _conclude_failure(kind, item, result, paused)
            if outcome in (WorkAttempt.Outcome.NEEDS_ATTENTION, WorkAttempt.Outcome.FAILED):
                parked.append((item, result))
        else:
            outcome, upstream, error = WorkAttempt.Outcome.SUCCEEDED, "", ""
        outcomes[item.pk] = item.state if outcome == WorkAttempt.Outcome.SUCCEEDED else outcome
        attempts.append(
            _attempt_row(
                model,
                item.pk,
                started=started,
                seconds=seconds,
                outcome=outcome,
                upstream=upstream,
                error=error,
                number=numbers[item.pk],
            )
        )
    _save_attempts(attempts)
    if parked:
        items_parked.send(model, kind=kind, parked=parked)
    return outcomes


def _admit(kind: WorkKind, items: list[WorkItem]) -> tuple[list[WorkItem], frozenset[str], dict]:
    """The claimed items to attempt, the upstreams this attempt probes, and the outcomes of the
    items held back because the upstream their run failed on is paused (`core.breaker`).

    A held item is released, due again when its upstream's pause ends; it spends no attempt and
    its schedule is not touched (the deadline counts on, but only a failed attempt fails it).
    """
    gate = breaker.admit(
        connection.schema_name, {item.failing_upstream for item in items if item.failing_upstream}
    )
    if not gate.held:
        return items, gate.probes, {}
    held = [item for item in items if item.failing_upstream in gate.held]
    now = timezone.now()
    for upstream, until in gate.held.items():
        pks = [item.pk for item in held if item.failing_upstream == upstream]
        kind.model.objects.filter(pk__in=pks, lease_holder=worker_name()).update(
            **_released(next_attempt_at=until)
        )
        schedule_many(kind.model, pks, countdown=max((until - now).total_seconds(), 0.0))
        logger.info(
            "%s: %s item(s) wait for %s until %s", kind.label, len(pks), upstream, f"{until:%X}"
        )
    admitted = [item for item in items if item.failing_upstream not in gate.held]
    return admitted, gate.probes, dict.fromkeys((item.pk for item in held), PAUSED)


def _settle_breakers(
    kind: WorkKind, results: dict[int, StepResult], probes: frozenset[str], *, succeeded: bool
) -> dict[str, datetime]:
    """Tell the breakers how the attempt went; returns the upstreams paused now (until when)."""
    failed_on: dict[str, list[int]] = {}
    for pk, result in results.items():
        if isinstance(result, RetryableError) and result.upstream:
            failed_on.setdefault(result.upstream, []).append(pk)
    return breaker.settle(
        connection.schema_name, kind.label, succeeded=succeeded, failed_on=failed_on, probes=probes
    )


def _conclude_failure(
    kind: WorkKind, item: WorkItem, exc: Exception, paused: dict[str, datetime]
) -> tuple[str, str, str]:
    """Retry later or park, by what the step raised; returns (outcome, upstream, error)."""
    if isinstance(exc, RetryableError):
        outcome = _retry_later(kind, item, exc, str(exc), paused.get(exc.upstream))
        return outcome, exc.upstream, str(exc)
    if isinstance(exc, NeedsAttention):
        return _park(kind, item, exc.message, exc.hint), "", exc.message
    if isinstance(exc, GiveUp):
        return _park(kind, item, str(exc), "", failed=True), "", str(exc)
    if isinstance(exc, PermanentError):
        outcome = _park(kind, item, str(exc), exc.hint)
        return outcome, exc.upstream, str(exc)
    if isinstance(exc, UpstreamError):
        outcome = _park(kind, item, str(exc), "Check the upstream.")
        return outcome, exc.upstream, str(exc)
    logger.error("%s #%s: unexpected error", kind.label, item.pk, exc_info=exc)
    error = f"Unexpected error: {exc!r}"
    return _retry_later(kind, item, RetryableError(error), error), "", error


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
    """Keep one row per item for an attempt (a batch call to an upstream covers several)."""
    _save_attempts(
        [
            _attempt_row(
                model,
                pk,
                started=started,
                seconds=seconds,
                outcome=outcome,
                upstream=upstream,
                error=error,
                number=number,
            )
            for pk in ids
        ]
    )


def _attempt_row(
    model: type[WorkItem],
    pk: int,
    *,
    started: datetime,
    seconds: float,
    outcome: str,
    upstream: str,
    error: str,
    number: int,
) -> WorkAttempt:
    return WorkAttempt(
        kind=attempt_kind(model),
        item_id=pk,
        number=number,
        started_at=started,
        duration_ms=int(seconds * 1000),
        outcome=outcome,
        upstream=upstream[:20],
        error=error,
        worker=worker_name(),
    )


def _save_attempts(rows: list[WorkAttempt]) -> None:
    """One row is a single autocommitted INSERT, without a transaction around it."""
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    elif rows:
        WorkAttempt.objects.bulk_create(rows)


def prune_attempts() -> int:
    """Attempt rows are history, not state: rows older than the retention period go."""
    before = timezone.now() - timedelta(days=settings.HUB_ATTEMPT_RETENTION_DAYS)
    deleted, _ = WorkAttempt.objects.filter(started_at__lt=before).delete()
    return deleted


PRUNE_KEY = "core:prune-attempts"
PRUNE_SECONDS = 24 * 3600
"""Attempt history is pruned once a day per schema, each at its own time of day
(`sweeper.slot_due`): an idle tenant is visited for it once a day, and a thousand schemas
spread over the day instead of pruning on the same tick."""


def due_attempt_pruning(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: prune once a day in each schema."""
    return sweeper.take_slot(PRUNE_KEY, PRUNE_SECONDS, now)


def next_attempt_pruning(now: datetime) -> datetime:
    return sweeper.slot_due(PRUNE_KEY, PRUNE_SECONDS, now)


def attempt_kind(model: type[models.Model]) -> str:
    """The `WorkAttempt.kind` of a model's rows: its concrete model's label, so a kind declared
    on a proxy (a second flow over the same rows) keeps its attempts in the row's one history."""
    return model._meta.concrete_model._meta.label_lower


def attempts_of(item: WorkItem, limit: int = 50) -> list[WorkAttempt]:
    return list(WorkAttempt.objects.filter(kind=attempt_kind(type(item)), item_id=item.pk)[:limit])


def _released(**fields: Any) -> dict[str, Any]:
    return {"lease_until": None, "lease_holder": "", **fields}


def _succeed_all(kind: WorkKind, done: list[tuple[WorkItem, Done]]) -> None:
    """Release the items, moving those whose step named a new state.

    Items that stay where they are, and items of a kind without a timeline moving alike, are
    released in one UPDATE per group; a kind with its own `move` (orders) moves each item, its
    writes atomic there. No transaction is opened here.
    """
    cleared = _released(
        attempts=0,
        next_attempt_at=None,
        last_error="",
        last_error_hint="",
        failing_since=None,
        failing_upstream="",
    )
    groups: dict[str, tuple[str, str | None, dict[str, Any], list[WorkItem]]] = {}
    for item, result in done:
        to = result.state if result.state and result.state != item.state else None
        if to and kind.move is not guarded_move:
            kind.move(item, to, "", {**cleared, **result.fields})
            continue
        key = repr((item.state, to, sorted(result.fields.items())))
        groups.setdefault(key, (item.state, to, result.fields, []))[3].append(item)
    for state, to, fields, items in groups.values():
        rows = type(items[0]).objects.filter(pk__in=[item.pk for item in items])
        if not to:
            rows.update(**cleared, **fields)
            continue
        moved = rows.filter(state=state).update(state=to, **cleared, **fields)
        if moved == len(items):
            for item in items:
                item.state = to
            continue
        # Somebody moved some of them meanwhile: each keeps the state it is really in.
        now_in = dict(rows.values_list("pk", "state"))
        for item in items:
            item.state = now_in.get(item.pk, item.state)


def _retry_later(
    kind: WorkKind,
    item: WorkItem,
    exc: RetryableError,
    error: str,
    paused_until: datetime | None = None,
) -> str:
    """Try again on the kind's schedule, or give up when the run has failed for longer than it
    allows (or spent the attempt cap). While the upstream is paused, the pause is the wait."""
    now, attempts, schedule = timezone.now(), item.attempts + 1, kind.schedule()
    since = item.failing_since if item.failing_since and item.attempts else now
    deadline = schedule.deadline(since)
    if now >= deadline or 0 < kind.attempt_limit() <= attempts:
        message = f"Gave up after {attempts} attempts: {error}"
        hint = "Retry it once the cause is fixed."
        return _park(kind, item, message, hint, failed=True, attempts=attempts)
    if paused_until is not None:
        delay = max((paused_until - now).total_seconds(), exc.retry_after or 0.0)
    else:
        left = (deadline - now).total_seconds()
        delay = schedule.delay(attempts, retry_after=exc.retry_after, left=left)
    with transaction.atomic():
        type(item).objects.filter(pk=item.pk, state=item.state).update(
            **_released(
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=error,
                last_error_hint="",
                failing_since=since,
                failing_upstream=exc.upstream[:20],
            )
        )
        if kind.in_tenants:
            _wake_after(now + timedelta(seconds=delay))
        item.attempts, item.failing_since, item.failing_upstream = attempts, since, exc.upstream
        if kind.note:
            kind.note(item, Change(WorkAttempt.Outcome.RETRY, error, retry_in=delay))
        dispatch.dispatch(kind.task, item.pk, countdown=delay)
    logger.info("%s #%s will retry in %.1fs: %s", kind.label, item.pk, delay, error)
    return WorkAttempt.Outcome.RETRY


def _park(
    kind: WorkKind, item: WorkItem, message: str, hint: str, *, failed: bool = False, **fields: Any
) -> str:
    """Needs attention or failed: no further automatic attempts until a person retries.

    The outcome is what happened, not the state: a kind whose flow has one parking state for
    both (ShipStation pushes) still records a refusal as *needs attention* and a spent attempt
    budget as *failed*.
    """
    state = kind.failed if failed else kind.needs_attention
    outcome = WorkAttempt.Outcome.FAILED if failed else WorkAttempt.Outcome.NEEDS_ATTENTION
    ended = {"failing_since": None, "failing_upstream": ""}  # parking ends the failing run
    with transaction.atomic():
        moved = kind.move(
            item,
            state,
            message,
            _released(
                next_attempt_at=None, last_error=message, last_error_hint=hint, **ended, **fields
            ),
        )
        if moved and kind.note:
            kind.note(item, Change(outcome, message, hint=hint))
    return outcome
