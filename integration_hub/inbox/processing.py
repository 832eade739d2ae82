"""The inbox item's lifecycle: each stored event is handed to the handler of its kind.

Business apps register a handler per event entity (`register_handler("order", ...)`) in their
`AppConfig.ready`; the inbox never imports them. Leasing, retries, parking and the attempt
history are the work-item core's (`integration_hub.core.work`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from integration_hub.core import work
from integration_hub.core.models import WorkAttempt
from integration_hub.inbox.models import InboxItem
from tenants.activity import record_activity

Handler = Callable[[InboxItem], bool]
"""Does the event's work; True when something was done, False when there was nothing to do.

Raises the connectors' errors (retryable or permanent), `work.NeedsAttention` or `work.GiveUp`.
"""

_handlers: dict[str, Handler] = {}


def register_handler(entity: str, handler: Handler) -> None:
    _handlers[entity] = handler


def register_kind() -> None:
    work.register(
        work.WorkKind(
            model=InboxItem,
            task="inbox.process_item",
            work_states=(InboxItem.State.PENDING,),
            needs_attention=InboxItem.State.NEEDS_ATTENTION,
            failed=InboxItem.State.FAILED,
            in_tenants=False,
            age_field="received_at",
            note=_audit_parking,
        )
    )


def process_item(item_id: int) -> str:
    """Process one inbox item; safe to call any number of times, concurrently."""
    return work.process(InboxItem, item_id, _handle)


def _handle(item: InboxItem) -> work.Done:
    handler = _handlers.get(item.entity)
    owner = item.store_id is not None or item.tenant_id is not None
    did_something = handler is not None and owner and handler(item)
    state = InboxItem.State.DONE if did_something else InboxItem.State.IGNORED
    return work.Done(state, {"processed_at": timezone.now()})


def _audit_parking(item: InboxItem, change: work.Change) -> None:
    if change.outcome == WorkAttempt.Outcome.RETRY:
        return
    record_activity(
        f"inbox.{change.outcome}",
        actor="worker",
        obj=item,
        outcome="failure",
        message=f"{change.message} — {change.hint}" if change.hint else change.message,
    )
