"""The VAT figures of a printed invoice, worked out from the store order (docs/vat-invoices.md).

The ERP's invoice mirror carries only the amount including VAT, so each line's net price, VAT
rate and VAT amount come from the store order's lines. The store's own per-line figures win when
it gives them; what is left of the order's tax is shared by the lines' amounts, to the cent, so
the lines always add up to the order's tax. Pure: no database, no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from orders.money import allocate

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
MIXED = "mixed"
UNKNOWN = "—"


@dataclass(frozen=True)
class StoreLine:
    """One line as the store reported it: prices with tax when the order's prices include it."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = ZERO
    tax_amount: Decimal | None = None
    tax_rate: Decimal | None = None
    """Percent, e.g. 20."""
    reference: str = ""
    """The item's code (ERP item or SKU), printed under the description."""

    @property
    def amount(self) -> Decimal:
        return cents(self.quantity * self.unit_price - self.discount)


@dataclass(frozen=True)
class VatLine:
    """One printed line: everything net of VAT, with its VAT rate and amount."""

    description: str
    quantity: Decimal
    unit_net: Decimal
    discount_net: Decimal
    net: Decimal
    vat: Decimal
    rate: Decimal | None
    """Percent: the store's own rate, else worked out from the amounts; None when no net."""
    reference: str = ""

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    @property
    def rate_label(self) -> str:
        return percent(self.rate)


@dataclass(frozen=True)
class VatTotals:
    """The invoice's totals: the gross is always the ERP's; net and VAT when they can be told."""

    gross: Decimal
    net: Decimal | None
    vat: Decimal | None
    rate_label: str
    from_lines: bool
    """True when the store order's lines add up to the ERP's amount (then they are shown as
    they are); False when the ERP invoiced something else and its figures stand alone."""
    lines_gross: Decimal


@dataclass(frozen=True)
class SupplyDate:
    """The time of supply printed, and what it is."""

    on: date | None
    basis: str


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(rate: Decimal | None) -> str:
    """20 → "20%", 17.5 → "17.5%": a whole or one-decimal percent, as invoices print rates."""
    if rate is None:
        return UNKNOWN
    shown = rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if shown == shown.to_integral_value():
        shown = shown.to_integral_value()
    return f"{shown}%"


def vat_lines(
    lines: Sequence[StoreLine], *, prices_include_tax: bool | None, order_tax: Decimal | None
) -> list[VatLine]:
    """Each line net of VAT with its VAT: the line's own tax, else its rate × its amount, else a
    share (by amount, largest remainder) of what the order's tax leaves. With the order's tax
    unknown, or less than the lines' own, the other lines' VAT is unknown (printed as none, rate
    "—"), and the ERP's totals stand alone."""
    inclusive = bool(prices_include_tax)
    vats = [_known_vat(line, inclusive) for line in lines]
    unknown = [n for n, vat in enumerate(vats) if vat is None]
    left = None
    if order_tax is not None:
        left = cents(order_tax) - sum((vat for vat in vats if vat is not None), ZERO)
    if unknown and left is not None and left >= 0:
        for n, share in zip(
            unknown, allocate(left, [lines[n].amount for n in unknown]), strict=True
        ):
            vats[n] = share
    return [_vat_line(line, vat, inclusive) for line, vat in zip(lines, vats, strict=True)]


def _known_vat(line: StoreLine, inclusive: bool) -> Decimal | None:
    if line.tax_amount is not None:
        return cents(line.tax_amount)
    if line.tax_rate is None:
        return None
    if inclusive:
        return cents(line.amount * line.tax_rate / (HUNDRED + line.tax_rate))
    return cents(line.amount * line.tax_rate / HUNDRED)


def _vat_line(line: StoreLine, known_vat: Decimal | None, inclusive: bool) -> VatLine:
    """Tax-inclusive prices are taken net by the line's own net/gross ratio, so the unit price,
    the discount and the amount agree whatever the discount."""
    amount = line.amount
    vat = known_vat or ZERO
    net = amount - vat if inclusive else amount
    ratio = Decimal(1)
    if inclusive and amount:
        ratio = net / amount
    elif inclusive and line.tax_rate is not None:
        ratio = HUNDRED / (HUNDRED + line.tax_rate)
    rate = line.tax_rate
    if rate is None and net and known_vat is not None:
        rate = vat * HUNDRED / net
    return VatLine(
        description=line.description,
        quantity=line.quantity,
        unit_net=line.unit_price * ratio,
        discount_net=cents(line.discount * ratio),
        net=net,
        vat=vat,
        rate=rate,
        reference=line.reference,
    )


def rate_label(lines: Iterable[VatLine]) -> str:
    """The one rate every line with an amount carries, "mixed" when they differ, "—" when a
    line's VAT is not known."""
    labels = {line.rate_label for line in lines if line.net}
    if not labels or UNKNOWN in labels:
        return UNKNOWN
    return labels.pop() if len(labels) == 1 else MIXED


def invoice_totals(erp_gross: Decimal, lines: Sequence[VatLine]) -> VatTotals:
    """The ERP's amount is the legal gross. When the lines add up to it, their net and VAT are
    the split; else, at one rate, the split is worked out from the ERP's amount, and with mixed
    rates it is left to the ERP's own invoice."""
    label = rate_label(lines)
    lines_gross = sum((line.gross for line in lines), ZERO)
    if lines and label != UNKNOWN and lines_gross == erp_gross:
        net = sum((line.net for line in lines), ZERO)
        return VatTotals(erp_gross, net, erp_gross - net, label, True, lines_gross)
    if label in (MIXED, UNKNOWN):
        return VatTotals(erp_gross, None, None, label, False, lines_gross)
    rate = Decimal(label.rstrip("%"))
    vat = cents(erp_gross * rate / (HUNDRED + rate))
    return VatTotals(erp_gross, erp_gross - vat, vat, label, False, lines_gross)


def time_of_supply(deliveries: Iterable[date], invoice_date: date | None) -> SupplyDate:
    """The delivery date (the basic tax point for goods): the last delivery on or before the
    invoice date. An invoice issued before any recorded delivery is its own tax point, and so is
    one with no delivery recorded at all."""
    before = [day for day in deliveries if invoice_date is None or day <= invoice_date]
    if before:
        return SupplyDate(max(before), "delivery date")
    if invoice_date is None:
        return SupplyDate(None, "not known: no delivery recorded and no invoice date")
    return SupplyDate(invoice_date, "the invoice date: no earlier delivery recorded in the hub")
