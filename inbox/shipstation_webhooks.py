"""Inbound ShipStation webhooks: authenticate the tenant by its path token, persist, acknowledge.

ShipStation's V1 notification is thin (`resource_url`, `resource_type`); the handler registered
for the event's entity fetches the resource later, with the tenant's credentials. Nothing here
calls ShipStation, so the answer is quick and a sender can never cause a 500. A tenant's
notifications are capped per minute like a store's webhooks (`webhook_rate`); what is refused
is read by the shipment polling.
"""

from __future__ import annotations

import hashlib
import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core import work
from inbox.models import InboxItem
from inbox.webhooks import (
    Rejected,
    json_object,
    kept_headers,
    read_body,
    refuse,
    within_rate,
)
from tenants.models import Tenant

logger = logging.getLogger("hub.webhooks")

ENTITIES = {
    "SHIP_NOTIFY": "ship_notify",
    "ITEM_SHIP_NOTIFY": "ship_notify",
    "ORDER_NOTIFY": "order_notify",
    "ITEM_ORDER_NOTIFY": "order_notify",
    "FULFILLMENT_SHIPPED": "fulfillment_shipped",
    "FULFILLMENT_REJECTED": "fulfillment_rejected",
}
MAX_URL_LENGTH = 2000


@csrf_exempt
def shipstation_webhook(request: HttpRequest, token: str) -> JsonResponse:
    """`POST /webhooks/shipstation/<tenant token>/`: one ShipStation notification."""
    try:
        if request.method != "POST":
            raise Rejected(405, "Only POST is accepted.")
        tenant = Tenant.for_shipstation_webhook_token(token) if token else None
        if tenant is None:
            raise Rejected(404, "Unknown webhook token.")
        within_rate("shipstation", tenant.pk, "tenant")
        body = read_body(request)
        entity, resource_url = parse_notification(body)
        item, created = store_notification(tenant, entity, resource_url, body, request)
    except Rejected as rejection:
        return refuse(request, rejection, source="shipstation")
    logger.info(
        "shipstation webhook tenant=%s %s item=%s%s",
        tenant.slug,
        entity,
        item.pk,
        "" if created else " (duplicate)",
    )
    return JsonResponse({"status": "accepted" if created else "duplicate", "item": item.pk})


def parse_notification(body: bytes) -> tuple[str, str]:
    """The event's entity and its `resource_url`; anything else is a 400 naming the problem."""
    payload = json_object(body)
    resource_type = payload.get("resource_type")
    if not isinstance(resource_type, str) or resource_type not in ENTITIES:
        raise Rejected(400, f"resource_type must be one of {', '.join(ENTITIES)}.")
    url = payload.get("resource_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise Rejected(400, "resource_url must be an absolute http(s) URL.")
    if len(url) > MAX_URL_LENGTH or not url.isprintable():
        raise Rejected(400, "resource_url is not a usable URL.")
    return ENTITIES[resource_type], url


def store_notification(
    tenant: Tenant, entity: str, resource_url: str, body: bytes, request: HttpRequest
) -> tuple[InboxItem, bool]:
    """Insert the notification once; an identical redelivery only counts as a duplicate."""
    key = hashlib.sha256(f"shipstation\n{tenant.pk}\n".encode() + body).hexdigest()
    with transaction.atomic():
        try:
            with transaction.atomic():
                item = InboxItem.objects.create(
                    source=InboxItem.Source.SHIPSTATION,
                    tenant=tenant,
                    dedupe_key=key,
                    entity=entity,
                    action="notify",
                    entity_id=resource_url[:100],
                    headers=kept_headers(request),
                    body=body.decode(),
                )
            work.schedule_many(InboxItem, [item.pk])
            return item, True
        except IntegrityError:
            InboxItem.objects.filter(dedupe_key=key).update(duplicates=F("duplicates") + 1)
            return InboxItem.objects.get(dedupe_key=key), False
