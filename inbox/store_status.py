"""A store's connection status as API2Cart reports it, with one activity event per change.

Conditional updates make the transition happen once even when notices arrive concurrently;
repeated notices only refresh the message shown in the admin. API2Cart disables a webhook after
five lost-connection notices, so a store that is reached again gets its webhooks checked (and
turned back on) at once, not at the next scheduled check.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from core.dispatch import dispatch
from tenants.activity import record_activity
from tenants.models import ActivityEvent, Store
from tenants.webhook_health import CHECK_TASK

logger = logging.getLogger("hub.webhooks")


def mark_disconnected(store: Store, message: str) -> bool:
    """Flag the store for the admin's attention; True when it was connected until now."""
    with transaction.atomic():
        changed = Store.objects.filter(pk=store.pk, status=Store.Status.CONNECTED).update(
            status=Store.Status.DISCONNECTED,
            status_message=message,
            status_changed_at=timezone.now(),
        )
        if changed:
            record_activity(
                "store.disconnected",
                actor="api2cart",
                obj=store,
                outcome=ActivityEvent.Outcome.FAILURE,
                message=message,
            )
        else:
            Store.objects.filter(pk=store.pk).update(status_message=message)
    store.refresh_from_db(fields=["status", "status_message", "status_changed_at"])
    logger.warning("store=%s disconnected: %s", store.pk, message)
    return bool(changed)


def mark_reconnected(store: Store, evidence: str) -> bool:
    """Clear the alert once API2Cart reaches the store again; True when it was disconnected."""
    with transaction.atomic():
        changed = Store.objects.filter(pk=store.pk, status=Store.Status.DISCONNECTED).update(
            status=Store.Status.CONNECTED, status_message="", status_changed_at=timezone.now()
        )
        if changed:
            record_activity("store.reconnected", actor="api2cart", obj=store, message=evidence)
            if store.webhook_mode == Store.WebhookMode.PUSH:
                dispatch(CHECK_TASK, store.pk)
    if changed:
        store.refresh_from_db(fields=["status", "status_message", "status_changed_at"])
        logger.info("store=%s is connected again: %s", store.pk, evidence)
    return bool(changed)
