"""The inbox item's lifecycle: each stored event is handed to the handler of its kind.

Business apps register a handler per event entity in their `AppConfig.ready`; the inbox never
imports them. A handler takes one item (`register_handler`), or all of a batch's items of its
entity when they are cheaper together (`register_batch_handler`). Leasing, retries, parking and
the attempt history are the work-item core's (`core.work`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from core import work
from core.models import WorkAttempt
from core.redaction import redact
from inbox.minimise import minimised_fields
from inbox.models import InboxItem
from tenants.activity import record_activity

Handler = Callable[[InboxItem], bool]
"""Does the event's work; True when something was done, False when there was nothing to do.

Raises the connectors' errors (retryable or permanent), `work.NeedsAttention` or `work.GiveUp`.
"""

BatchHandler = Callable[[list[InboxItem]], dict[int, "bool | Exception"]]
"""A handler for many items of its entity: each item's result, or the exception it failed with."""

_handlers: dict[str, BatchHandler] = {}


def register_handler(entity: str, handler: Handler) -> None:
    """The entity's items are handled one at a time."""
    _handlers[entity] = lambda items: _one_by_one(handler, items)


def register_batch_handler(entity: str, handler: BatchHandler) -> None:
    """All of a batch's items of the entity are handled at once (cheaper together)."""
    _handlers[entity] = handler


def _one_by_one(handler: Handler, items: list[InboxItem]) -> dict[int, bool | Exception]:
    handled: dict[int, bool | Exception] = {}
    for item in items:
        try:
            handled[item.pk] = handler(item)
        except Exception as exc:  # this item's own outcome; the work-item core sorts it out
            handled[item.pk] = exc
    return handled


def register_kind() -> None:
    work.register(
        work.WorkKind(
            model=InboxItem,
            task="inbox.process_item",
            batch_task="inbox.process_items",
            work_states=(InboxItem.State.PENDING,),
            in_tenants=False,
            age_field="received_at",
            note=_audit_parking,
            batch_size=settings.HUB_INBOX_BATCH_SIZE,
        )
    )


DRAIN_SECONDS = 10.0
"""How long one message keeps taking further full batches while a backlog waits."""


def process_items(item_ids: list[int]) -> dict[int, str]:
    """Process these items and, up to a batch, other pending ones, together; while the batches
    come full (a backlog), the next ones too, for up to `DRAIN_SECONDS`: a worker does not sit
    idle waiting for the next message while items wait for it. A batch held back because its
    upstream is paused ends the drain (the held items wait for the pause, not for this loop)."""
    outcomes = work.process_batch(InboxItem, item_ids, _handle_many)
    last, deadline = outcomes, time.monotonic() + DRAIN_SECONDS
    while _full_and_worked(last) and time.monotonic() < deadline:
        last = work.process_batch(InboxItem, [], _handle_many)
        outcomes.update(last)
    return outcomes


def _full_and_worked(batch: dict[int, str]) -> bool:
    return len(batch) >= work.kind_of(InboxItem).batch_size and work.PAUSED not in batch.values()


def _handle_many(items: list[InboxItem]) -> dict[int, work.StepResult]:
    """Each entity's items to its handler; an item without a handler or an owner (store or
    tenant) is ignored."""
    handled: dict[int, bool | Exception] = {}
    by_entity: dict[str, list[InboxItem]] = defaultdict(list)
    for item in items:
        if item.entity in _handlers and (item.store_id is not None or item.tenant_id is not None):
            by_entity[item.entity].append(item)
        else:
            handled[item.pk] = False
    for entity, owned in by_entity.items():
        handled.update(_handlers[entity](owned))
    now = timezone.now()
    by_pk = {item.pk: item for item in items}
    return {
        pk: result if isinstance(result, Exception) else _done(by_pk[pk], result, now)
        for pk, result in handled.items()
    }


def _done(item: InboxItem, created: bool, now: datetime) -> work.Done:
    """Done or ignored; a done store order's body keeps only its ids from now on (every
    tenant part is accepted and holds its own copy: `inbox.minimise`)."""
    if not created:
        return work.Done(InboxItem.State.IGNORED, {"processed_at": now})
    return work.Done(InboxItem.State.DONE, {"processed_at": now, **minimised_fields(item, now)})


def _audit_parking(item: InboxItem, change: work.Change) -> None:
    if change.outcome == WorkAttempt.Outcome.RETRY:
        return
    record_activity(
        f"inbox.{change.outcome}",
        actor="worker",
        obj=item,
        outcome="failure",
        # The activity log is append-only: an upstream's words quoting a shopper are redacted
        # before they are written, since retention cannot scrub them later.
        message=redact(f"{change.message} — {change.hint}" if change.hint else change.message),
    )
