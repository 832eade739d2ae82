"""A store order's money shared among its tenants' parts (docs/adr-0006-order-money.md).

Each part keeps its own lines' subtotal and gets a share of the order's shipping, tax, discount
and whatever else its total holds, in proportion to the parts' subtotals and rounded to the cent
by largest remainder, so the parts always add up to the store order exactly. Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from connectors import api2cart


@dataclass(frozen=True)
class PartMoney:
    """One tenant's part of the store order's money (docs/adr-0006-order-money.md)."""

    total: Decimal
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    discount: Decimal


def split_money(
    totals: api2cart.OrderTotals, parts: list[tuple[api2cart.OrderProduct, ...]]
) -> list[PartMoney]:
    """Each part's own lines' subtotal plus a share of shipping, tax, discount and the rest.

    Shares follow the parts' subtotals (equal shares when every line is free) and are rounded
    to the cent by largest remainder, so the parts always add up to the store order exactly.
    "The rest" is whatever the store's total holds beyond lines + shipping + tax - discount
    (fees, wrapping, rounding); a one-part order's total is therefore the store's total.
    """
    subtotals = [_cents(sum((line.amount for line in lines), Decimal(0))) for lines in parts]
    weights = subtotals if any(subtotals) else [Decimal(1)] * len(parts)
    shipping = _allocate(totals.shipping or Decimal(0), weights)
    tax = _allocate(totals.tax or Decimal(0), weights)
    discount = _allocate(totals.discount or Decimal(0), weights)
    known = sum(subtotals) + sum(shipping) + sum(tax) - sum(discount)
    rest = _allocate(Decimal(0) if totals.total is None else _cents(totals.total) - known, weights)
    return [
        PartMoney(
            total=subtotals[n] + shipping[n] + tax[n] - discount[n] + rest[n],
            subtotal=subtotals[n],
            shipping=shipping[n],
            tax=tax[n],
            discount=discount[n],
        )
        for n in range(len(parts))
    ]


CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _allocate(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` in cents, shared by `weights`; the leftover cents go to the largest remainders."""
    cents = int(_cents(amount) / CENT)
    whole = sum(weights)
    if not whole:
        return [Decimal(0) for _ in weights]
    exact = [Decimal(cents) * weight / whole for weight in weights]
    floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact]
    leftover = cents - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda n: exact[n] - floors[n], reverse=True)
    for n in by_remainder[:leftover]:
        floors[n] += 1
    return [Decimal(share) * CENT for share in floors]
