"""`Api2CartClient`: the core (`base`) with the methods of every entity mixed in."""

from __future__ import annotations

from integration_hub.connectors.api2cart.base import Api2CartBase
from integration_hub.connectors.api2cart.carts import CartsMixin
from integration_hub.connectors.api2cart.customers import CustomersMixin
from integration_hub.connectors.api2cart.orders import OrdersMixin
from integration_hub.connectors.api2cart.products import ProductsMixin
from integration_hub.connectors.api2cart.shipments import ShipmentsMixin
from integration_hub.connectors.api2cart.webhooks import WebhooksMixin


class Api2CartClient(
    CartsMixin,
    OrdersMixin,
    ShipmentsMixin,
    CustomersMixin,
    ProductsMixin,
    WebhooksMixin,
    Api2CartBase,
):
    """API2Cart for one account (`api_key`) and, for store methods, one store (`store_key`)."""
