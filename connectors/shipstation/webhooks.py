"""Webhooks: subscribe, list, unsubscribe, and fetch what a webhook's `resource_url` names,
after checking that the URL is on the API (contract §5.4)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl

from connectors._http import drop_empty
from connectors.errors import PermanentError
from connectors.shipstation.base import ShipStationBase
from connectors.shipstation.records import Order, Shipment, Webhook
from connectors.url_paths import UnsafeURL, normalise_url, path_under

WEBHOOK_EVENTS = (
    "ORDER_NOTIFY",
    "ITEM_ORDER_NOTIFY",
    "SHIP_NOTIFY",
    "ITEM_SHIP_NOTIFY",
    "FULFILLMENT_SHIPPED",
    "FULFILLMENT_REJECTED",
)
# Webhook resource URLs may name a numbered shard of the production API host (contract §5.2).
_SHIPSTATION_SHARD = re.compile(r"^ssapi\d*\.shipstation\.com$")


class WebhooksMixin(ShipStationBase):
    """The account's webhooks and the resources they point at."""

    def subscribe_webhook(
        self,
        target_url: str,
        event: str,
        *,
        store_id: int | None = None,
        friendly_name: str | None = None,
    ) -> int:
        """Register a callback; returns the webhook id (accepts `id` or `WebHookID` replies)."""
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"Unknown ShipStation webhook event {event!r}")
        body = drop_empty(
            {
                "target_url": target_url,
                "event": event,
                "store_id": store_id,
                "friendly_name": friendly_name,
            }
        )
        answer = self._call("POST", "webhooks/subscribe", json=body)
        return int(answer.get("id") or answer["WebHookID"])

    def list_webhooks(self) -> list[Webhook]:
        answer = self._call("GET", "webhooks")
        rows = answer.get("webhooks", []) if isinstance(answer, dict) else answer
        return [Webhook.from_api(w) for w in rows or []]

    def unsubscribe_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", f"webhooks/{int(webhook_id)}")

    def fetch_resource_orders(self, resource_url: str) -> Iterator[Order]:
        """The orders behind an ORDER_NOTIFY webhook's `resource_url`, every page."""
        url, params = self._resource(resource_url)
        for row in self._pages(url, params, "orders"):
            yield Order.from_api(row)

    def fetch_resource_shipments(
        self, resource_url: str, *, include_items: bool = True
    ) -> Iterator[Shipment]:
        """The shipments behind a SHIP_NOTIFY webhook's `resource_url`, with their lines."""
        url, params = self._resource(resource_url)
        if include_items:
            params = {k: v for k, v in params.items() if k.lower() != "includeshipmentitems"}
            params["includeShipmentItems"] = "true"
        for row in self._pages(url, params, "shipments"):
            yield Shipment.from_api(row)

    # Plumbing

    def _resource(self, resource_url: str) -> tuple[str, dict[str, str]]:
        """Check a webhook URL before our credentials go anywhere near it (contract §5.4).

        The URL is normalised first (`url_paths.normalise_url`: dot segments removed, encoded
        dots decoded, encoded slashes, backslashes and user-info refused), then it must have the
        base URL's scheme, host and port (or be a numbered `ssapiN` shard when the base is
        ShipStation's own API) and a path under the base path. The request goes to the base URL
        plus that normalised remainder, never to the text that arrived in the webhook.
        """
        try:
            target = normalise_url(resource_url)
            base = normalise_url(self.base_url)
        except UnsafeURL as exc:
            raise PermanentError(
                f"Webhook resource_url {resource_url!r} is not a plain URL on {self.base_url}: "
                f"{exc}",
                upstream=self.upstream,
                hint="Ignored a webhook whose resource_url could be read as another address.",
            ) from exc
        same_host = target.origin == base.origin
        shard = (
            (target.scheme, target.port) == (base.scheme, base.port) == ("https", 443)
            and bool(_SHIPSTATION_SHARD.match(target.host))
            and bool(_SHIPSTATION_SHARD.match(base.host))
        )
        if not (same_host or shard):
            raise PermanentError(
                f"Webhook resource_url {resource_url!r} is not on {self.base_url}",
                upstream=self.upstream,
                hint="Ignored a webhook whose resource_url points at a foreign host.",
            )
        below = path_under(target.path, base.path)
        if below is None:
            raise PermanentError(
                f"Webhook resource_url {resource_url!r} is outside {self.base_url}",
                upstream=self.upstream,
                hint="Ignored a webhook whose resource_url is outside the ShipStation API.",
            )
        return self.url(below), dict(parse_qsl(target.query, keep_blank_values=True))
