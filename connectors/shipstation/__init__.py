"""ShipStation API V1 client (contracts/shipstation.md).

Basic auth with the key pair, camelCase JSON, Pacific local time on the wire (no offset) and
aware datetimes in Python, `page`/`pages` paging, 40 requests per minute per key pair shared
through an optional `SlidingWindowLimiter`. ShipStation's `X-Rate-Limit-*` headers are honoured:
`Remaining: 0` pauses every process until the window resets, a 429 raises `RateLimitedError`.

Layout (the same in every connector): `base` (connection, generic call, errors, paging, rate
limit), one module per resource with its calls as a mixin (`orders`, `shipments`, `stores`,
`webhooks`, which also checks webhook resource URLs), `client` combining them into
`ShipStationClient`, `records` (the dataclasses in and out) and `values` (Pacific time, numbers
and dates on the wire). Import from this package; the names below are its public surface.
"""

from connectors.shipstation.base import DEFAULT_BASE_URL, MAX_PAGE_SIZE, RequestLimiter
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.orders import MAX_ORDERS_PER_CALL
from connectors.shipstation.records import (
    Address,
    Fulfillment,
    Order,
    OrderItem,
    OrderRequest,
    OrderResult,
    Shipment,
    ShipmentItem,
    Store,
    Webhook,
    Weight,
)
from connectors.shipstation.values import (
    PACIFIC,
    format_pacific,
    parse_pacific,
    parse_pacific_date,
)
from connectors.shipstation.webhooks import WEBHOOK_EVENTS

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_ORDERS_PER_CALL",
    "MAX_PAGE_SIZE",
    "PACIFIC",
    "WEBHOOK_EVENTS",
    "Address",
    "Fulfillment",
    "Order",
    "OrderItem",
    "OrderRequest",
    "OrderResult",
    "RequestLimiter",
    "ShipStationClient",
    "Shipment",
    "ShipmentItem",
    "Store",
    "Webhook",
    "Weight",
    "format_pacific",
    "parse_pacific",
    "parse_pacific_date",
]
