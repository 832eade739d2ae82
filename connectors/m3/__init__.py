"""Infor M3 over the ION API Gateway: OAuth2 tokens and m3api-rest v2 (contracts/infor-m3.md).

Layout: `client` (`M3Client`: tokens, MI transactions, bulk calls and the typed helpers),
`records` (the typed shapes of M3 records in and out) and `values` (M3's input and output
values). Import from this package; the names below are its public surface.
"""

from connectors.m3.client import (
    M3_REST_PATH,
    BulkResult,
    BulkTransaction,
    M3Client,
    is_no_such_record,
)
from connectors.m3.records import (
    M3Address,
    M3Balance,
    M3Customer,
    M3Delivery,
    M3DeliveryLine,
    M3Invoice,
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
    "M3_REST_PATH",
    "BulkResult",
    "BulkTransaction",
    "Fields",
    "M3Address",
    "M3Balance",
    "M3Client",
    "M3Customer",
    "M3Delivery",
    "M3DeliveryLine",
    "M3Invoice",
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
]
