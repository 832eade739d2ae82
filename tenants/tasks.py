"""Platform tasks (public schema)."""

from __future__ import annotations

import logging

from celery import shared_task

from connectors.errors import UpstreamError
from tenants import webhook_health
from tenants.models import Store
from tenants.spare_schemas import CLONE_TASK, clone_due_spare

logger = logging.getLogger("hub.webhooks")


@shared_task(name=CLONE_TASK)
def clone_spare_schema() -> str:
    return clone_due_spare()


@shared_task(name=webhook_health.CHECK_TASK, acks_late=True)
def check_store_webhooks(store_id: int) -> str:
    """One store's webhook health check; an unreachable API2Cart waits for the next one."""
    store = Store.objects.select_related("account").filter(pk=store_id).first()
    if store is None or store.webhook_mode != Store.WebhookMode.PUSH:
        return "skipped"
    try:
        return webhook_health.check_store_webhooks(store).outcome
    except UpstreamError as exc:
        logger.warning("webhook health check of store=%s failed: %s", store.pk, exc)
        return "unreachable"
