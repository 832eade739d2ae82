"""`Api2CartClient`: the core (`base`) with the methods of every entity mixed in."""

from __future__ import annotations

from .base import Api2CartBase
from .carts import CartsMixin
from .customers import CustomersMixin
from .orders import OrdersMixin
from .products import ProductsMixin
from .shipments import ShipmentsMixin
from .webhooks import WebhooksMixin


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
