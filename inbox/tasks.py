"""Public-schema tasks of the inbox: processing stored events and the polling safety net."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from connectors.errors import PermanentError, UpstreamError
from inbox import polling, processing
from inbox.store_status import mark_disconnected
from tenants.models import Api2CartAccount, Store

logger = logging.getLogger("hub.polling")


@shared_task(name="inbox.process_item", acks_late=True)
def process_inbox_item(item_id: int) -> dict[str, int]:
    """One item's message (a retry, a ShipStation webhook); pending items may join its batch."""
    return process_inbox_items([item_id])


@shared_task(name="inbox.process_items", acks_late=True)
def process_inbox_items(item_ids: list[int]) -> dict[str, int]:
    """Webhooks arrive in bursts; the web sends their ids in batches (`BatchedPublisher`)."""
    return dict(Counter(processing.process_items(item_ids).values()))


@shared_task(name="inbox.poll_store", acks_late=True)
def poll_store(store_id: int) -> int:
    """Poll one store's orders into the inbox.

    A failed poll keeps the watermark (the window is read again next time) but still waits one
    interval, so a broken store is not hammered every minute; refused credentials raise the
    disconnected-store alert.
    """
    store = Store.objects.select_related("account").filter(pk=store_id).first()
    if store is None:
        return 0
    try:
        return polling.poll_store(store)
    except UpstreamError as exc:
        logger.warning("polling store=%s failed: %s", store.pk, exc)
        Store.objects.filter(pk=store.pk).update(
            next_poll_at=timezone.now() + timedelta(minutes=store.poll_interval_minutes)
        )
        if isinstance(exc, PermanentError):
            mark_disconnected(store, f"Polling failed: {exc.message}. {exc.hint}")
        return 0


@shared_task(name="inbox.replay_failed_webhooks", acks_late=True)
def replay_failed_webhooks(account_id: int) -> int:
    """Replay the account's failed webhook deliveries into the inbox."""
    account = Api2CartAccount.objects.filter(pk=account_id).first()
    return 0 if account is None else polling.replay_failed_webhooks(account)
