"""How the fake's stores price an order: each line's discount and tax, then the order's totals.

Every amount is worked out in cents line by line, and the order's totals are sums of those
cents, so `subtotal − discount + shipping + tax = total` holds exactly in the stored document
(contract §3.5). The stored document is the store's truth; a platform profile only reshapes how
it is reported (`profiles.py`: Walmart's tax-inclusive line totals, Etsy's subtotal after the
discount).

The rule is chosen by the store's profile when the order is priced:
- a web shop (`clean`): 8.25% sales tax on each line after the line's discount, 10% off a line
  of 3 or more, free shipping from a subtotal of 100 (else 4.95);
- a marketplace (every other profile): 8% tax on the order's subtotal, shared among the lines
  to the cent, flat 7.50 shipping, and a 2.00 promotion on orders of several lines that the
  marketplace funds, so it does not lower the tax.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from sandbox.api2cart.shared import money

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)

SHOP_TAX_PERCENT = Decimal("8.25")
BULK_QUANTITY = 3
BULK_DISCOUNT_PERCENT = Decimal(10)
FREE_SHIPPING_FROM = Decimal(100)
SHOP_SHIPPING = Decimal("4.95")

MARKETPLACE_TAX_PERCENT = Decimal(8)
MARKETPLACE_SHIPPING = Decimal("7.50")
MARKETPLACE_PROMOTION = Decimal("2.00")


def cents(value: Decimal) -> Decimal:
    """Rounded to the cent, half up, as carts round a line's tax and discount."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineMoney:
    net: Decimal
    """Unit price × quantity, before discount and tax."""
    discount: Decimal
    tax_percent: Decimal
    tax: Decimal
    """The tax on the whole net amount (API2Cart's `tax_value`)."""
    tax_after_discount: Decimal
    """The tax charged: on the net amount less the line's discount."""


@dataclass(frozen=True)
class OrderMoney:
    lines: list[LineMoney]
    promotion: Decimal
    """An order-level discount on top of the lines' own."""
    shipping: Decimal
    discounts: list[dict]
    """`discounts[{code, value, type}]` as the order lists them."""

    @property
    def subtotal(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def discount(self) -> Decimal:
        return sum((line.discount for line in self.lines), self.promotion)

    @property
    def tax(self) -> Decimal:
        return sum((line.tax_after_discount for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.shipping + self.tax


def line_net(line: dict) -> Decimal:
    return Decimal(str(line["price"])) * int(line["quantity"])


def shop_money(lines: list[dict]) -> OrderMoney:
    """A web shop: each line taxed after its own bulk discount."""
    priced = []
    for line in lines:
        net = line_net(line)
        discount = ZERO
        if int(line["quantity"]) >= BULK_QUANTITY:
            discount = cents(net * BULK_DISCOUNT_PERCENT / HUNDRED)
        priced.append(
            LineMoney(
                net=net,
                discount=discount,
                tax_percent=SHOP_TAX_PERCENT,
                tax=cents(net * SHOP_TAX_PERCENT / HUNDRED),
                tax_after_discount=cents((net - discount) * SHOP_TAX_PERCENT / HUNDRED),
            )
        )
    subtotal = sum((line.net for line in priced), ZERO)
    shipping = ZERO if subtotal >= FREE_SHIPPING_FROM else SHOP_SHIPPING
    discounts = []
    if any(line.discount for line in priced):
        discounts.append(
            {"code": "BULK10", "value": float(BULK_DISCOUNT_PERCENT), "type": "percent"}
        )
    return OrderMoney(priced, ZERO, shipping, discounts)


def marketplace_money(lines: list[dict]) -> OrderMoney:
    """A marketplace: the order's tax shared among its lines, a promotion on several lines."""
    nets = [line_net(line) for line in lines]
    tax = cents(sum(nets, ZERO) * MARKETPLACE_TAX_PERCENT / HUNDRED)
    shares = allocated(tax, nets)
    priced = [
        LineMoney(net, ZERO, MARKETPLACE_TAX_PERCENT, share, share)
        for net, share in zip(nets, shares, strict=True)
    ]
    promotion = MARKETPLACE_PROMOTION if len(lines) > 1 else ZERO
    discounts = []
    if promotion:
        discounts.append({"code": "MULTIBUY", "value": float(promotion), "type": "fixed"})
    return OrderMoney(priced, promotion, MARKETPLACE_SHIPPING, discounts)


def allocated(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` shared in proportion to `weights`, in cents that add up to it exactly: each
    share rounded down, the cents left over going to the largest remainders (first wins)."""
    whole = sum(weights, ZERO)
    if not whole:
        return [ZERO for _ in weights]
    exact = [amount * weight / whole for weight in weights]
    shares = [value.quantize(CENT, rounding=ROUND_FLOOR) for value in exact]
    left = int((amount - sum(shares, ZERO)) / CENT)
    by_remainder = sorted(range(len(exact)), key=lambda n: (shares[n] - exact[n], n))
    for n in by_remainder[:left]:
        shares[n] += CENT
    return shares


def write_line(line: dict, priced: LineMoney) -> None:
    """The line's money fields (§3.5 `order_products[]`), from its price and quantity."""
    rate = priced.tax_percent / HUNDRED
    line["total_price"] = money(priced.net)
    line["price_inc_tax"] = money(cents(Decimal(str(line["price"])) * (1 + rate)))
    line["discount_amount"] = money(priced.discount)
    line["tax_percent"] = float(priced.tax_percent)
    line["tax_value"] = money(priced.tax)
    line["tax_value_after_discount"] = money(priced.tax_after_discount)


def price_order(store: dict, order: dict) -> None:
    """Lines, `totals`, `total`, `discounts` and `total_weight`, the way a new order is priced;
    a paid order has paid its new total, any other keeps what it had paid."""
    lines = order["order_products"]
    marketplace = store.get("profile", "clean") != "clean"
    priced = marketplace_money(lines) if marketplace else shop_money(lines)
    for line, line_money in zip(lines, priced.lines, strict=True):
        write_line(line, line_money)
    weight = sum((Decimal(str(line["weight"])) * line["quantity"] for line in lines), ZERO)
    if order["financial_status"] == "paid":
        paid = priced.total
    else:
        paid = Decimal(str((order.get("total") or {}).get("total_paid") or 0))
    order["discounts"] = priced.discounts
    order["totals"] = {
        "total": money(priced.total),
        "subtotal": money(priced.subtotal),
        "shipping": money(priced.shipping),
        "tax": money(priced.tax),
        "discount": money(priced.discount),
    }
    order["total"] = {
        "subtotal_ex_tax": money(priced.subtotal),
        "wrapping_ex_tax": 0.0,
        "shipping_ex_tax": money(priced.shipping),
        "total_discount": money(priced.discount),
        "total_tax": money(priced.tax),
        "total": money(priced.total),
        "total_paid": money(paid),
    }
    order["total_weight"] = float(weight)
