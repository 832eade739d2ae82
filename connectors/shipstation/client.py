"""`ShipStationClient`: the core (`base`) with the calls of every resource mixed in."""

from __future__ import annotations

from connectors.shipstation.base import ShipStationBase
from connectors.shipstation.orders import OrdersMixin
from connectors.shipstation.shipments import ShipmentsMixin
from connectors.shipstation.stores import StoresMixin
from connectors.shipstation.webhooks import WebhooksMixin


class ShipStationClient(
    OrdersMixin,
    ShipmentsMixin,
    StoresMixin,
    WebhooksMixin,
    ShipStationBase,
):
    """One ShipStation V1 account (API key pair)."""
