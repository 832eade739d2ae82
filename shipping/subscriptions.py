"""Subscribing the tenant's ShipStation account to SHIP_NOTIFY, and unsubscribing.

The callback URL carries the tenant's secret webhook token (stored hashed and encrypted on the
tenant); the token is made on the first subscription and kept, so a second subscription after
an unsubscribe uses the same URL.
"""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.db import connection, transaction

from connectors.errors import NotFoundError
from shipping.models import ShipStationSubscription
from tenant_settings.connection_clients import shipstation_client
from tenants.models import Tenant

EVENT = "SHIP_NOTIFY"


def callback_url(hub_url: str | None = None) -> str:
    """This tenant's webhook URL; makes the tenant's token on first use."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(schema_name=connection.schema_name)
        if not tenant.shipstation_webhook_token_hash:
            tenant.rotate_shipstation_webhook_token()
            tenant.save(
                update_fields=["shipstation_webhook_token", "shipstation_webhook_token_hash"]
            )
    base = (hub_url or settings.HUB_PUBLIC_URL).rstrip("/")
    return f"{base}/webhooks/shipstation/{tenant.shipstation_webhook_token}/"


def subscribe(hub_url: str | None = None) -> ShipStationSubscription:
    """Subscribe SHIP_NOTIFY once; an existing subscription is returned as it is."""
    existing = ShipStationSubscription.objects.filter(event=EVENT).first()
    if existing is not None:
        return existing
    url = callback_url(hub_url)
    webhook_id = shipstation_client().subscribe_webhook(
        url, EVENT, friendly_name=f"Integration hub ({connection.schema_name})"
    )
    return ShipStationSubscription.objects.create(event=EVENT, webhook_id=webhook_id)


def unsubscribe(subscription: ShipStationSubscription) -> None:
    """Remove the webhook at ShipStation (already gone is fine), then the record."""
    if subscription.webhook_id is not None:
        with contextlib.suppress(NotFoundError):
            shipstation_client().unsubscribe_webhook(subscription.webhook_id)
    subscription.delete()
