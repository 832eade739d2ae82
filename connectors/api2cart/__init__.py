"""API2Cart v1.1 client (contracts/api2cart.md): one connected store, or the account alone.

API2Cart answers errors with HTTP 200 and a non-zero `return_code`; `_call` maps every code to
the shared taxonomy (§1.4). List methods are generators that page by `page_cursor` (the only
paging Shopify supports) or by `start`/`count` where the method has no cursor. Reads ask for
`params=force_all`, because the defaults hide ids and dates (§7.2). Concurrency (5 calls per
store, 10 per account) is shared through an optional `ConcurrencySlots` limiter.

Layout (the same in every connector): `base` (HTTP, envelope, return codes, paging), one module
per entity with its client methods as a mixin (`carts`, `orders`, `shipments`, `customers`,
`products`, `webhooks`, which also reads webhook bodies), `client` combining them into
`Api2CartClient`, `records` (the dataclasses in and out) and `values` (API2Cart's dates,
numbers, flags and text read and written). Import from this package; the names below are its
public surface.
"""

from connectors.api2cart.base import (
    AUTH_CODES,
    CODE_HINTS,
    DEFAULT_BASE_URL,
    FORCE_ALL,
    MAX_BATCH_ITEMS,
    MAX_PAGE_SIZE,
    NOT_FOUND_CODES,
    NOT_READY_CODES,
    RATE_LIMIT_CODES,
    TRANSIENT_CODES,
    ConcurrencySlots,
    return_code_error,
)
from connectors.api2cart.client import Api2CartClient
from connectors.api2cart.records import (
    SUMMARY_FIELDS,
    Address,
    BatchItemResult,
    BatchJob,
    BatchJobResult,
    CartInfo,
    ChildItem,
    Customer,
    FailedWebhook,
    InventoryLevel,
    NewShipment,
    Order,
    OrderCustomer,
    OrderProduct,
    OrderRefund,
    OrderStatus,
    OrderSummary,
    OrderTotals,
    Product,
    ProductUpdate,
    Shipment,
    ShipmentLine,
    StoreInfo,
    SupportedPlatform,
    TrackingNumber,
    UnreadableOrder,
    VariantUpdate,
    Webhook,
    WebhookEvent,
    WebhookIds,
)
from connectors.api2cart.values import (
    ISO_INPUT_FORMAT,
    PLAIN_INPUT_FORMAT,
    entries,
    format_a2c_datetime,
    parse_a2c_datetime,
)
from connectors.api2cart.webhooks import UnreadableWebhook, read_webhook_body, read_webhook_ids

__all__ = [
    "AUTH_CODES",
    "CODE_HINTS",
    "DEFAULT_BASE_URL",
    "FORCE_ALL",
    "ISO_INPUT_FORMAT",
    "MAX_BATCH_ITEMS",
    "MAX_PAGE_SIZE",
    "NOT_FOUND_CODES",
    "NOT_READY_CODES",
    "PLAIN_INPUT_FORMAT",
    "RATE_LIMIT_CODES",
    "SUMMARY_FIELDS",
    "TRANSIENT_CODES",
    "Address",
    "Api2CartClient",
    "BatchItemResult",
    "BatchJob",
    "BatchJobResult",
    "CartInfo",
    "ChildItem",
    "ConcurrencySlots",
    "Customer",
    "FailedWebhook",
    "InventoryLevel",
    "NewShipment",
    "Order",
    "OrderCustomer",
    "OrderProduct",
    "OrderRefund",
    "OrderStatus",
    "OrderSummary",
    "OrderTotals",
    "Product",
    "ProductUpdate",
    "Shipment",
    "ShipmentLine",
    "StoreInfo",
    "SupportedPlatform",
    "TrackingNumber",
    "UnreadableOrder",
    "UnreadableWebhook",
    "VariantUpdate",
    "Webhook",
    "WebhookEvent",
    "WebhookIds",
    "entries",
    "format_a2c_datetime",
    "parse_a2c_datetime",
    "read_webhook_body",
    "read_webhook_ids",
    "return_code_error",
]
