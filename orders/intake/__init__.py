"""How orders come in: accepted into a tenant the same way whatever their door.

`accept` writes them (idempotent, in bulk); the doors are the stores' orders from the inbox
(`store_orders`: fetch, route by SKU owner, split), the order API (`api`, `serializers`: the one
rule book every door but the stores' uses) and orders typed in the portal (`manual_entry`).
Order files are `orders.files`.
"""
