"""`M3Client`: the core (`base`: tokens, MI transactions, bulk calls, streams) with the typed
calls of every concern mixed in (`order_changes` first: it builds on customers and orders)."""

from __future__ import annotations

from connectors.m3.base import M3Base
from connectors.m3.customers import CustomersMixin
from connectors.m3.deliveries import DeliveriesMixin
from connectors.m3.invoices import InvoicesMixin
from connectors.m3.items import ItemsMixin
from connectors.m3.order_changes import OrderChangesMixin
from connectors.m3.orders import OrdersMixin
from connectors.m3.prices import PricesMixin
from connectors.m3.stock import StockMixin


class M3Client(
    OrderChangesMixin,
    CustomersMixin,
    OrdersMixin,
    DeliveriesMixin,
    InvoicesMixin,
    ItemsMixin,
    PricesMixin,
    StockMixin,
    M3Base,
):
    """One tenant's M3, reached through its `.ionapi` credentials."""
