"""Store orders that change after the hub accepted them (docs/adr-0011-order-changes.md).

`versions` reads what a store version says (lifecycle, lines, ship-to, refunds), `detection`
compares each new version with the last one kept and records the differences as `OrderChange`
rows on the timeline, and `actions` acts on each by where the order is.
"""
