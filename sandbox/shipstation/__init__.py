"""Local fake of the ShipStation API V1, served under `/shipstation/`.

It follows ../shared/contracts/shipstation.md (§9 is its checklist) so the hub's client meets the
same auth, rate limits, envelopes, error shapes, Pacific-time dates and webhook behaviour as in
production. Each demo tenant is a separate ShipStation account with its own key pair, stores,
orders and webhooks. A label is "bought" through the control action `ship` (or
`POST /orders/createlabelfororder`), which creates a shipment and fires SHIP_NOTIFY.

`fake.py` holds the fake (accounts, auth, rate limit, routing, control actions); each resource
has its own module (`orders`, `shipments`, `stores`, `webhooks`) and `shared.py` the helpers.
"""
