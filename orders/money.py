"""A store order's money: read from the store's own numbers, shared among its tenant parts, and
the amounts sent to ShipStation and the ERP (docs/adr-0006-order-money.md).

Pure functions over plain dataclasses: no database, no ORM. The store's numbers
are the truth: its discount, shipping, tax and total are kept as reported, each line's net
amount and tax are derived from what the line says (its unit price, quantity, tax), and whether
the order's prices include tax is decided from the order's own numbers, never from the
platform's name. Whatever the store's total holds beyond lines − discount + shipping + tax
(fees, wrapping, the platform's rounding) is "the rest"; it is 0 whenever the store's numbers
add up, and negative only when they do not.

The invariants (tests/orders/test_money_properties.py checks them over generated orders):
- every part's amounts add up to the store order's exactly, field by field;
- per part, subtotal − discount + shipping + tax + rest = total;
- a one-part order's amounts are the store's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from connectors import api2cart

ZERO = Decimal(0)
CENT = Decimal("0.01")

MINOR_UNITS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
         "VND", "VUV", "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}  # fmt: skip
"""ISO 4217 currencies whose minor unit is not the cent; every other currency has 2 decimals."""


def quantum(currency: str = "") -> Decimal:
    """The smallest amount of the currency: 1 (JPY), 0.01 (GBP), 0.001 (KWD)."""
    return Decimal(1).scaleb(-MINOR_UNITS.get((currency or "").upper(), 2))


def rounded(value: Decimal, unit: Decimal = CENT) -> Decimal:
    return value.quantize(unit, rounding=ROUND_HALF_UP)


# --- What the store says ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreLine:
    """One order line as the store reports it (contract §3.5 `order_products[]`)."""

    quantity: Decimal
    price: Decimal | None = None
    """Unit price, with or without tax as the order's prices are."""
    total_price: Decimal | None = None
    price_inc_tax: Decimal | None = None
    discount: Decimal | None = None
    tax: Decimal | None = None
    """The line's tax (after its discount where the platform says so)."""
    tax_rate: Decimal | None = None

    @property
    def amount(self) -> Decimal:
        """The line before tax is taken out: unit price × quantity, else `total_price` (which
        some platforms fill with tax included, so it comes second)."""
        if self.price is not None:
            return self.price * self.quantity
        return self.total_price or ZERO


@dataclass(frozen=True)
class StoreTotals:
    """The order's own totals (`totals`, else `total{…}`); None where the store says nothing."""

    total: Decimal | None = None
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    discount: Decimal | None = None


@dataclass(frozen=True)
class LineMoney:
    net: Decimal
    """The line net of tax, before the order's discount, in the currency's unit."""
    tax: Decimal
    discount: Decimal
    tax_rate: Decimal | None


@dataclass(frozen=True)
class StoreMoney:
    """The store order's money as the hub keeps it."""

    lines: tuple[LineMoney, ...]
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    prices_include_tax: bool | None
    note: str
    unit: Decimal = CENT

    @property
    def subtotal(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def line_tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)

    @property
    def rest(self) -> Decimal:
        return self.total - (self.subtotal - self.discount + self.shipping + self.tax)


def read_store_money(
    totals: StoreTotals, lines: Sequence[StoreLine], currency: str = ""
) -> StoreMoney:
    """The store's numbers, with each line's net and tax, and whether prices include tax."""
    unit = quantum(currency)
    tax = rounded(totals.tax or ZERO, unit)
    discount = rounded(abs(totals.discount or ZERO), unit)
    shipping = rounded(totals.shipping or ZERO, unit)
    inclusive, why = prices_include_tax(totals, lines)
    line_tax = _line_taxes(lines, tax, shipping, unit)
    nets = [
        rounded(line.amount, unit) - (line_tax[n] if inclusive else ZERO)
        for n, line in enumerate(lines)
    ]
    subtotal = sum(nets, ZERO)
    other_tax = tax - sum(line_tax, ZERO)
    if inclusive and 0 < other_tax <= shipping:
        shipping -= other_tax  # tax-inclusive shipping holds the tax no line carries
        why += " Shipping read net of its tax."
    total = rounded(totals.total, unit) if totals.total is not None else None
    if total is None:
        total = subtotal - discount + shipping + tax
    rest = total - (subtotal - discount + shipping + tax)
    return StoreMoney(
        lines=tuple(
            LineMoney(
                net=nets[n],
                tax=line_tax[n],
                discount=rounded(abs(line.discount or ZERO), unit),
                tax_rate=line.tax_rate
                if line.tax_rate is not None
                else _rate(line_tax[n], nets[n]),
            )
            for n, line in enumerate(lines)
        ),
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=total,
        prices_include_tax=inclusive,
        note=_note(rest, why),
        unit=unit,
    )


def _note(rest: Decimal, why: str) -> str:
    if not rest:
        return why
    words = "holds" if rest > 0 else "is short of"
    return (
        f"{why} The store's total {words} {abs(rest)} beyond lines − discount + shipping + tax "
        "(fees, wrapping or the platform's rounding); kept as the rest."
    )


def prices_include_tax(totals: StoreTotals, lines: Sequence[StoreLine]) -> tuple[bool | None, str]:
    """Whether the lines' prices include tax, and why the hub thinks so.

    Read from the order's own numbers, first match wins: the lines' `price_inc_tax` against
    their `price`; the store's total against lines − discount + shipping (+ tax or not); the
    store's subtotal against the lines (+ tax or not). No tax, or nothing conclusive: None,
    and the prices are used as they are.
    """
    tax = totals.tax or ZERO
    if not tax or not lines:
        return None, "No tax on the order: prices used as they are."
    said = [(line.price, line.price_inc_tax) for line in lines if line.price_inc_tax is not None]
    if said and all(price is not None for price, _ in said):
        if all(price == gross for price, gross in said):
            return True, "The lines' prices equal their prices with tax: prices include tax."
        if all(price is not None and price < gross for price, gross in said):
            return False, "The lines' prices are below their prices with tax: prices exclude tax."
    lines_sum = sum((line.amount for line in lines), ZERO)
    slack = CENT * (len(lines) + 1)
    if totals.total is not None:
        base = lines_sum - abs(totals.discount or ZERO) + (totals.shipping or ZERO)
        found = _closer(totals.total, without=base + tax, within=base, slack=slack)
        if found is not None:
            return found, (
                "Lines − discount + shipping make the total: prices include tax."
                if found
                else "Lines − discount + shipping + tax make the total: prices exclude tax."
            )
    if totals.subtotal is not None:
        for subtotal in (totals.subtotal, totals.subtotal + abs(totals.discount or ZERO)):
            found = _closer(lines_sum, without=subtotal, within=subtotal + tax, slack=slack)
            if found is not None:
                return found, (
                    "The lines make the subtotal with tax: prices include tax."
                    if found
                    else "The lines make the subtotal: prices exclude tax."
                )
    return None, "The store's numbers do not say whether prices include tax: used as they are."


def _closer(value: Decimal, *, without: Decimal, within: Decimal, slack: Decimal) -> bool | None:
    """True when `value` is what it would be with tax inside the prices (`within`), False when
    it is what it would be with tax added (`without`), by the closer match within `slack`."""
    off_without, off_within = abs(value - without), abs(value - within)
    if min(off_without, off_within) > slack or off_without == off_within:
        return None
    return off_within < off_without


def _line_taxes(
    lines: Sequence[StoreLine], tax: Decimal, shipping: Decimal, unit: Decimal
) -> list[Decimal]:
    """Each line's tax: as the store reports it when every line does (and they fit in the
    order's tax), else the order's tax shared by the lines' amounts and the shipping (whose
    share is the tax no line carries)."""
    reported = [line.tax for line in lines]
    if lines and all(value is not None for value in reported):
        exact = [rounded(value, unit) for value in reported if value is not None]
        if sum(exact, ZERO) <= tax:
            return exact
    weights = [max(line.amount, ZERO) for line in lines] + [max(shipping, ZERO)]
    return allocate(tax, weights, unit)[:-1]


def _rate(tax: Decimal, net: Decimal) -> Decimal | None:
    if not net or not tax:
        return None
    return (tax * 100 / net).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- Tenant parts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartMoney:
    """One tenant's part of the store order's money (docs/adr-0006-order-money.md)."""

    total: Decimal
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    discount: Decimal
    rest: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.subtotal - self.discount + self.shipping + self.tax + self.rest != self.total:
            raise ValueError(f"Part money does not add up: {self}")


def split_money(money: StoreMoney, parts: Sequence[Sequence[int]]) -> list[PartMoney]:
    """Each part (the indexes of its lines in `money.lines`) with its own lines' net and tax,
    plus a share of the discount, shipping, the tax not on any line, and the rest.

    Shares follow the parts' subtotals (equal shares when every line is free) and are rounded to
    the currency's unit by largest remainder, so the parts add up to the store order exactly.
    """
    unit = money.unit
    subtotals = [sum((money.lines[n].net for n in part), ZERO) for part in parts]
    line_tax = [sum((money.lines[n].tax for n in part), ZERO) for part in parts]
    weights = [max(s, ZERO) for s in subtotals]
    if not any(weights):
        weights = [Decimal(1)] * len(parts)
    shipping = allocate(money.shipping, weights, unit)
    discount = allocate(money.discount, weights, unit)
    other_tax = allocate(money.tax - money.line_tax, weights, unit)
    rest = allocate(money.rest, weights, unit)
    split = []
    for n in range(len(parts)):
        tax = line_tax[n] + other_tax[n]
        total = subtotals[n] - discount[n] + shipping[n] + tax + rest[n]
        split.append(PartMoney(total, subtotals[n], shipping[n], tax, discount[n], rest[n]))
    return split


def allocate(amount: Decimal, weights: Sequence[Decimal], unit: Decimal = CENT) -> list[Decimal]:
    """`amount` in the currency's units, shared by `weights`; the leftover units go to the
    largest remainders. Exact: the shares always add up to `amount` (rounded to the unit)."""
    units = int(rounded(amount, unit) / unit)
    whole = sum(weights, ZERO)
    if not weights:
        return []
    if not whole:
        weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    exact = [Decimal(units) * weight / whole for weight in weights]
    floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact]
    leftover = units - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda n: exact[n] - floors[n], reverse=True)
    for n in by_remainder[:leftover]:
        floors[n] += 1
    return [Decimal(share) * unit for share in floors]


# --- What goes out -----------------------------------------------------------------------------


PRICE_UNIT = Decimal("0.0001")
"""Unit prices are kept, and sent to the ERP and ShipStation, with 4 decimals."""


def unit_price_of(line_total: Decimal, quantity: Decimal) -> Decimal:
    """A line's unit price from its total (price × quantity, as Amazon's item-price), to the
    4 decimals prices are kept with (10.00 for 3 is 3.3333 each)."""
    return rounded(line_total / quantity, PRICE_UNIT)


def net_unit_price(
    unit_price: Decimal, quantity: Decimal, tax: Decimal | None, prices_include_tax: bool | None
) -> Decimal:
    """A line's unit price without tax (4 decimals, as the ERP and ShipStation take prices)."""
    if not prices_include_tax or not quantity or not tax:
        return unit_price
    return (unit_price - tax / quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def gross_unit_price(
    unit_price: Decimal, quantity: Decimal, tax: Decimal | None, prices_include_tax: bool | None
) -> Decimal:
    """A line's unit price with tax (4 decimals)."""
    if prices_include_tax or not quantity or not tax:
        return unit_price
    return (unit_price + tax / quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Adjustment:
    """A non-physical ShipStation line (`adjustment: true`) making its total the part's."""

    name: str
    amount: Decimal


def shipstation_adjustment(
    part_total: Decimal,
    items_total: Decimal,
    shipping: Decimal,
    tax: Decimal,
    discount: Decimal,
) -> Adjustment | None:
    """ShipStation computes `orderTotal` itself (items + shipping + tax); the part's discount,
    rest and the items' rounding go in one adjustment line so that total is the part's."""
    amount = part_total - (items_total + shipping + tax)
    if not amount:
        return None
    if discount and amount == -discount:
        return Adjustment("Discount", amount)
    return Adjustment("Discount and adjustments" if discount else "Adjustments", amount)


# --- Reading an API2Cart order -----------------------------------------------------------------


def store_money_of(order: api2cart.Order) -> StoreMoney:
    """An API2Cart order's money (contract §3.5) read the one way the hub reads money."""
    totals = order.totals
    return read_store_money(
        StoreTotals(
            total=totals.total,
            subtotal=totals.subtotal,
            shipping=totals.shipping,
            tax=totals.tax,
            discount=totals.discount,
        ),
        [
            StoreLine(
                quantity=line.quantity,
                price=line.price,
                total_price=line.total_price,
                price_inc_tax=line.price_inc_tax,
                discount=line.discount_amount,
                tax=line.tax_value
                if line.tax_value_after_discount is None
                else line.tax_value_after_discount,
                tax_rate=line.tax_percent,
            )
            for line in order.products
        ],
        order.currency,
    )
