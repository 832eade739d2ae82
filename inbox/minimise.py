"""Store-order bodies cut to ids and a digest once nothing needs them whole.

The inbox lives in the public schema, and a shared store's body holds one shopper for several
tenants. Once every tenant part of a store order is accepted (the item is *done*), each tenant
keeps its own copy of its part on its order, so the public body keeps only what a replay needs:
the order's ids (a replay fetches the order from the store again, `order.info`) and the SHA-256
of what arrived. Whether a later webhook or poll is the same version is decided by the dedupe
key and the tenant orders' own payloads, never by re-reading this body. The retention job cuts
the bodies of items that created nothing the same way (`privacy.retention`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from connectors import api2cart
from inbox.models import InboxItem

ORDER_ENTITY = "order"


def minimal_body(body: str) -> str:
    """The body's order ids and the digest of the body, as JSON the intake reads ids from."""
    try:
        ids = api2cart.read_webhook_body(body)
    except ValueError:
        ids = api2cart.WebhookIds()
    kept: dict[str, str] = {}
    if ids.internal_id:
        kept["id"] = ids.internal_id
    if ids.order_number:
        kept["order_id"] = ids.order_number
    kept["sha256"] = hashlib.sha256(body.encode()).hexdigest()
    return json.dumps(kept, sort_keys=True)


def minimised_fields(item: InboxItem, now: datetime) -> dict[str, object]:
    """The fields that cut a store order item's body, or none when the body is no longer than
    its ids (webhooks that carry only ids) or is cut already."""
    if item.entity != ORDER_ENTITY or item.personal_data_removed_at is not None:
        return {}
    minimal = minimal_body(item.body)
    if len(item.body) <= len(minimal):
        return {}
    return {"body": minimal, "personal_data_removed_at": now}


def is_minimised(item: InboxItem) -> bool:
    """Whether the body holds only ids: the order must be fetched from the store again."""
    return item.personal_data_removed_at is not None
