"""An order's ERP leg: its ERP customer (`customers`), then its ERP order (`batch_orders`).

`orders.pipeline` runs both steps for a batch of orders; addresses are mapped in
`orders.addresses`.
"""
