"""Fake Infor ION API gateway and M3: `fake.py` speaks the protocol, the rest is M3 itself.

`transactions.py` holds the transaction registry, `M3Context` and the simulated behaviour; the
MI programs live by area (`customers`, `orders`, `order_changes`, `items`, `deliveries`,
`invoices`), the control API's business events in `events.py` and the schema and demo data in
`seed.py`.
"""
