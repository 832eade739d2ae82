"""Local fake of the API2Cart v1.1 REST API, following ../shared/contracts/api2cart.md §8.

Served at `/api2cart/v1.1/{method}.json`. Behaviour the hub must cope with is reproduced on
purpose: errors with HTTP 200 and a non-zero `return_code`, default `params` that hide fields,
A2CDateTime objects, URL-encoded opaque page cursors, page-size `*_count` fields, concurrency
caps (5 per store, 10 per account) and the 15-minute idempotency cache.

`fake.py` holds the fake (storage, dispatch, paging); each API area has its own module
(`account`, `orders`, `shipments`, `customers`, `products`, `webhooks`, `control`) and
`shared.py` the helpers they share.
"""

from sandbox.api2cart.shared import webhook_signature

__all__ = ["webhook_signature"]
