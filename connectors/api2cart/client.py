"""`Api2CartClient`: the core (`base`) with the methods of every entity mixed in."""

from __future__ import annotations

from connectors.api2cart.base import Api2CartBase
from connectors.api2cart.carts import CartsMixin
from connectors.api2cart.customers import CustomersMixin
from connectors.api2cart.orders import OrdersMixin
from connectors.api2cart.products import ProductsMixin
from connectors.api2cart.shipments import ShipmentsMixin
from connectors.api2cart.webhooks import WebhooksMixin


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
