"""Webhooks: supported events, registration, listing, deletion and missed deliveries (§6)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors._http import drop_empty
from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.values import _bool, _str, parse_a2c_datetime


@dataclass(frozen=True)
class WebhookEvent:
    entity: str
    action: str
    filterable_fields: tuple[str, ...]


@dataclass(frozen=True)
class Webhook:
    id: int
    entity: str
    action: str
    callback: str
    active: bool
    label: str
    store_id: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(
            id=int(data["id"]),
            entity=_str(data.get("entity")),
            action=_str(data.get("action")),
            callback=_str(data.get("callback")),
            active=_bool(data.get("active"), default=True),
            label=_str(data.get("label")),
            store_id=_str(data.get("store_id")),
        )


@dataclass(frozen=True)
class FailedWebhook:
    webhook_id: int
    entity_id: str
    time: datetime | None


class WebhooksMixin(Api2CartBase):
    """The store's webhooks, and the deliveries the account's webhooks missed."""

    # Account

    def failed_webhooks(self, webhook_ids: Iterable[int] = ()) -> Iterator[FailedWebhook]:
        """Deliveries our callback missed in the last 24 h, to resync by `entity_id`."""
        params = {"ids": ",".join(str(i) for i in webhook_ids) or None}
        for row in self._offset_pages("account.failed_webhooks", params, "webhook", store=False):
            yield FailedWebhook(
                webhook_id=int(row.get("webhook_id") or 0),
                entity_id=_str(row.get("entity_id")),
                time=parse_a2c_datetime(row.get("time")),
            )

    # Webhooks

    def webhook_events(self) -> list[WebhookEvent]:
        """The events this store supports: the only reliable source (§6.2)."""
        result = self._call("GET", "webhook.events")
        return [
            WebhookEvent(
                entity=_str(e.get("entity")),
                action=_str(e.get("action")),
                filterable_fields=tuple(e.get("filterable_fields") or ()),
            )
            for e in result.get("events") or []
        ]

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
