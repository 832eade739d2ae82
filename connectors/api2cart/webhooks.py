"""Webhooks: supported events, registration, listing, deletion and missed deliveries (§6),
and the one reader of the ids a webhook (or poll) body names.

`read_webhook_ids` reads a body already parsed (the hub's webhook view parses each body once,
with its own limits); `read_webhook_body` parses the stored text first. The body's shape is
not documented, so the ids are looked for at the top level and inside a wrapper
(`{"order": {...}}`, `data`, `result`, `payload`, or the one value of a one-key object), with
objects and values that come as one-element arrays unwrapped (§7.15).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from connectors._http import drop_empty
from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.records import FailedWebhook, Webhook, WebhookEvent, WebhookIds

WRAPPER_KEYS = ("data", "result", "payload")
MAX_ID_LENGTH = 100
"""Longer is not an id (the hub stores ids in 100 characters)."""
NO_IDS = WebhookIds()


class UnreadableWebhook(ValueError):
    """A webhook body that is not JSON, or whose id is not usable; the message says which."""


def read_webhook_body(body: bytes | str, entity: str = "order") -> WebhookIds:
    """The ids of a stored webhook or poll body (JSON text); no ids in an empty body.

    Raises `UnreadableWebhook` when the body is not JSON or its id is not usable.
    """
    if not body.strip():
        return NO_IDS
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise UnreadableWebhook("The body is not valid JSON.") from None
    return read_webhook_ids(payload, entity)


def read_webhook_ids(payload: Any, entity: str = "order") -> WebhookIds:
    """The ids of a parsed webhook or poll body about `entity`, wherever the body puts them.

    The first object (top level first, then `payload[entity]`, the wrappers, the one value of
    a one-key object) with a non-blank `id`, `<entity>_id` or `order_id` names the entity; that
    field must be a string or a whole number, printable and at most `MAX_ID_LENGTH` long, or
    `UnreadableWebhook` says why. An unusable `order_id` beside a usable `id` reads as "".
    This runs on every webhook the hub receives: plain loops, no second parse.
    """
    payload = _single(payload)
    if not isinstance(payload, dict):
        return NO_IDS
    candidates = [payload, payload.get(entity), *(payload.get(key) for key in WRAPPER_KEYS)]
    if len(payload) == 1:
        candidates.extend(payload.values())
    names = ("id", f"{entity}_id", "order_id")
    for candidate in candidates:
        candidate = _single(candidate)
        if not isinstance(candidate, dict):
            continue
        for name in names:
            found = _id_text(candidate.get(name), name)
            if found:
                return WebhookIds(
                    entity_id=found,
                    internal_id=found if name == "id" else "",
                    order_number=found if name == "order_id" else _order_number(candidate),
                )
    return NO_IDS


def _single(value: Any) -> Any:
    """A one-element array (nested or not) → its element; anything else as it is."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _id_text(value: Any, name: str) -> str:
    """An id field as text ("" when blank); `UnreadableWebhook` when it is not usable."""
    value = _single(value)
    if isinstance(value, bool) or value in (None, ""):
        return ""
    if not isinstance(value, str | int):
        raise UnreadableWebhook(f"The {name} field is not a string or number.")
    found = str(value).strip()
    if found and (len(found) > MAX_ID_LENGTH or not found.isprintable()):
        raise UnreadableWebhook(f"The {name} field is not a usable id.")
    return found


def _order_number(candidate: Mapping[str, Any]) -> str:
    """The store-facing `order_id` beside the id that named the entity; "" when unusable."""
    try:
        return _id_text(candidate.get("order_id"), "order_id")
    except UnreadableWebhook:
        return ""


class WebhooksMixin(Api2CartBase):
    """The store's webhooks, and the deliveries the account's webhooks missed."""

    # Account

    def failed_webhooks(self, webhook_ids: Iterable[int] = ()) -> Iterator[FailedWebhook]:
        """Deliveries our callback missed in the last 24 h, to resync by `entity_id`."""
        params = {"ids": ",".join(str(i) for i in webhook_ids) or None}
        for row in self._offset_pages("account.failed_webhooks", params, "webhook", store=False):
            yield FailedWebhook.from_api(row)

    # Webhooks

    def webhook_events(self) -> list[WebhookEvent]:
        """The events this store supports: the only reliable source (§6.2)."""
        result = self._call("GET", "webhook.events")
        return [WebhookEvent.from_api(e) for e in result.get("events") or []]

    def create_webhook(
        self,
        entity: str,
        action: str,
        callback: str,
        *,
        label: str | None = None,
        fields: str = FORCE_ALL,
        active: bool = True,
        store_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        body = drop_empty(
            {
                "entity": entity,
                "action": action,
                "callback": callback,
                "label": label,
                "fields": fields,
                "active": active,
                "store_id": store_id,
                "idempotency_key": idempotency_key,
            }
        )
        return int(self._call("POST", "webhook.create", json=body)["id"])

    def webhooks(
        self, *, entity: str | None = None, action: str | None = None
    ) -> Iterator[Webhook]:
        params = {
            "entity": entity,
            "action": action,
            "params": "id,entity,action,callback,label,active,store_id",
        }
        for row in self._offset_pages("webhook.list", params, "webhook"):
            yield Webhook.from_api(row)

    def delete_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", "webhook.delete", params={"id": webhook_id})
