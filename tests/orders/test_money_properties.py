"""The money module's promises, over generated store orders (`orders.money`, docs/adr-0006).

Orders of 1–50 lines split into 1–3 tenant parts, with discounts, free lines, tax-inclusive and
-exclusive prices, lines that report their tax or not, zero and large amounts, in 0-, 2- and
3-decimal currencies. Pure: no database.

The default run tries 300 orders per property; the documented 10,000-order run is
`HYPOTHESIS_PROFILE=money-10k .venv/bin/python -m pytest tests/orders/test_money_properties.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.money import (
    PartMoney,
    StoreLine,
    StoreTotals,
    allocate,
    net_unit_price,
    quantum,
    read_store_money,
    rounded,
    shipstation_adjustment,
    split_money,
)

settings.register_profile(
    "money-default", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "money-10k", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "money-default"))

ZERO = Decimal(0)
FIELDS = ("total", "subtotal", "shipping", "tax", "discount", "rest")


@dataclass(frozen=True)
class Generated:
    """A store order whose numbers add up (plus an optional fee), and how it was made."""

    currency: str
    totals: StoreTotals
    lines: list[StoreLine]
    parts: list[list[int]]
    inclusive: bool
    fee: Decimal
    line_tax: Decimal


@st.composite
def store_orders(draw) -> Generated:
    currency = draw(st.sampled_from(["GBP", "JPY", "KWD", "EUR"]))
    unit = quantum(currency)
    inclusive = draw(st.booleans())
    reports_tax = draw(st.booleans())
    count = draw(st.integers(1, 50))
    lines, line_taxes = [], []
    for _ in range(count):
        quantity = Decimal(draw(st.integers(1, 20)))
        price = Decimal(draw(st.integers(0, 1_000_000))) * unit
        rate = draw(st.sampled_from([Decimal(0), Decimal(5), Decimal(20)]))
        amount = price * quantity
        if inclusive:
            tax = rounded(amount * rate / (100 + rate), unit)
        else:
            tax = rounded(amount * rate / 100, unit)
        line_taxes.append(tax)
        lines.append(
            StoreLine(
                quantity=quantity,
                price=price,
                total_price=amount,
                tax=tax if reports_tax else None,
                tax_rate=rate if reports_tax else None,
            )
        )
    subtotal = sum((line.price * line.quantity for line in lines), ZERO)
    discount = Decimal(draw(st.integers(0, int(subtotal / unit)))) * unit
    shipping = Decimal(draw(st.integers(0, 5_000))) * unit
    shipping_tax = Decimal(draw(st.integers(0, 1_000))) * unit if reports_tax else ZERO
    if inclusive:  # tax-inclusive shipping holds its tax
        shipping_tax = min(shipping_tax, shipping)
    tax = sum(line_taxes, ZERO) + shipping_tax
    total = subtotal - discount + shipping + (ZERO if inclusive else tax)
    fee = Decimal(draw(st.sampled_from([0, 0, 0, 150]))) * unit
    parts_count = draw(st.integers(1, min(3, count)))
    owner = [n % parts_count for n in range(count)]
    owner = draw(st.permutations(owner))
    parts = [[n for n in range(count) if owner[n] == p] for p in range(parts_count)]
    totals = StoreTotals(
        total=total + fee, subtotal=subtotal, shipping=shipping, tax=tax, discount=discount
    )
    return Generated(currency, totals, lines, parts, inclusive, fee, sum(line_taxes, ZERO))


def split(order: Generated) -> tuple:
    money = read_store_money(order.totals, order.lines, order.currency)
    return money, split_money(money, order.parts)


@given(store_orders())
def test_the_parts_add_up_to_the_store_order_field_by_field(order: Generated):
    money, parts = split(order)

    for name in FIELDS:
        assert sum((getattr(part, name) for part in parts), ZERO) == getattr(money, name), name
    assert money.total == rounded(order.totals.total, money.unit)
    assert money.tax == order.totals.tax and money.discount == order.totals.discount


@given(store_orders())
def test_each_part_adds_up_and_only_the_rest_may_be_negative(order: Generated):
    money, parts = split(order)

    for part in parts:
        assert part.subtotal - part.discount + part.shipping + part.tax + part.rest == part.total
        assert min(part.subtotal, part.shipping, part.tax, part.discount) >= 0
        assert all(getattr(part, name) % money.unit == 0 for name in FIELDS)


@given(store_orders())
def test_the_rest_is_zero_when_the_stores_numbers_add_up_and_else_the_fee(order: Generated):
    money, _ = split(order)

    if order.totals.tax and bool(money.prices_include_tax) is not order.inclusive:
        assert order.fee or order.line_tax <= Decimal("0.01") * (len(order.lines) + 1) * 2
        return  # a fee or a cent of tax hid which way the prices are: the rest holds it
    assert money.rest == order.fee


@given(store_orders())
def test_whether_prices_include_tax_is_read_from_the_numbers(order: Generated):
    money, _ = split(order)
    if order.line_tax <= Decimal("0.01") * (len(order.lines) + 1) * 2 or order.fee:
        return  # too little tax on the lines to tell, or a fee muddying the total
    assert money.prices_include_tax is order.inclusive


@given(store_orders())
def test_a_one_part_order_keeps_the_stores_own_amounts(order: Generated):
    money = read_store_money(order.totals, order.lines, order.currency)
    [part] = split_money(money, [list(range(len(order.lines)))])

    assert part.total == order.totals.total
    assert part.tax == order.totals.tax
    assert part.discount == order.totals.discount
    if not money.prices_include_tax:  # tax-inclusive shipping is kept net of its tax
        assert part.shipping == order.totals.shipping
    assert part.rest == money.rest


@given(store_orders())
def test_shipstations_own_total_is_the_parts_total(order: Generated):
    money, parts = split(order)
    for part, indexes in zip(parts, order.parts, strict=True):
        items = sum(
            (
                rounded(
                    net_unit_price(
                        order.lines[n].price,
                        order.lines[n].quantity,
                        money.lines[n].tax,
                        money.prices_include_tax,
                    )
                )
                * order.lines[n].quantity
                for n in indexes
            ),
            ZERO,
        )
        adjustment = shipstation_adjustment(
            part.total, items, part.shipping, part.tax, part.discount
        )
        computed = items + part.shipping + part.tax + (adjustment.amount if adjustment else ZERO)
        assert computed == part.total


@given(
    st.integers(-10_000, 10_000),
    st.lists(st.integers(0, 1_000), min_size=1, max_size=5),
    st.sampled_from(["GBP", "JPY", "KWD"]),
)
def test_allocation_is_exact_in_the_currencys_unit(units: int, weights: list[int], currency):
    unit = quantum(currency)
    shares = allocate(Decimal(units) * unit, [Decimal(w) for w in weights], unit)
    assert sum(shares, ZERO) == Decimal(units) * unit
    assert all(share % unit == 0 for share in shares)


def test_part_money_refuses_amounts_that_do_not_add_up():

    with pytest.raises(ValueError, match="does not add up"):
        PartMoney(
            total=Decimal("10"), subtotal=Decimal("9"), shipping=ZERO, tax=ZERO, discount=ZERO
        )
