"""Infor M3 over the ION API Gateway: OAuth2 tokens and m3api-rest v2 (contracts/infor-m3.md).

Layout (the same in every connector): `base` (ION tokens, MI transactions, bulk calls, streamed
lists, M3's answers read defensively), one module per concern with its typed calls as a mixin
(`customers`, `orders`, `order_changes`, `deliveries`, `invoices`, `items`, `prices`,
`stock`), `client` combining them into `M3Client`, `records` (the typed M3 records in and out,
and bulk transactions) and `values` (M3's input and output values). Import from this package;
the names below are its public surface.
"""

from connectors.m3.base import M3_REST_PATH, is_no_such_record
from connectors.m3.client import M3Client
from connectors.m3.order_changes import (
    LINE_ADDRESS_TRANSACTION,
    LINE_CANCEL_TRANSACTION,
    transaction_name,
)
from connectors.m3.records import (
    BulkResult,
    BulkTransaction,
    LineStage,
    M3Address,
    M3Balance,
    M3Customer,
    M3Delivery,
    M3DeliveryLine,
    M3Invoice,
    M3Item,
    M3LineRefusal,
    M3OrderChange,
    M3OrderHead,
    M3OrderLine,
    M3Price,
    NewM3Customer,
    NewM3OrderHead,
    NewM3OrderLine,
)
from connectors.m3.values import (
    Fields,
    Record,
    m3_inputs,
    m3_value,
    parse_m3_date,
    parse_m3_decimal,
)

__all__ = [
    "LINE_ADDRESS_TRANSACTION",
    "LINE_CANCEL_TRANSACTION",
    "M3_REST_PATH",
    "BulkResult",
    "BulkTransaction",
    "Fields",
    "LineStage",
    "M3Address",
    "M3Balance",
    "M3Client",
    "M3Customer",
    "M3Delivery",
    "M3DeliveryLine",
    "M3Invoice",
    "M3Item",
    "M3LineRefusal",
    "M3OrderChange",
    "M3OrderHead",
    "M3OrderLine",
    "M3Price",
    "NewM3Customer",
    "NewM3OrderHead",
    "NewM3OrderLine",
    "Record",
    "is_no_such_record",
    "m3_inputs",
    "m3_value",
    "parse_m3_date",
    "parse_m3_decimal",
    "transaction_name",
]
