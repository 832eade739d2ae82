"""A store order's money shared among its tenants' parts (`orders.money`, ADR 0006).

Pure: no database, no sandbox. The amounts pin today's behaviour: shares follow the parts'
subtotals, are rounded to the cent by largest remainder (ties to the earlier part), and the parts
always add up to the store order exactly.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from connectors.api2cart import OrderProduct, OrderTotals
from orders.money import PartMoney, split_money

D = Decimal


def line(price: str, quantity: str = "1", total_price: str | None = None) -> OrderProduct:
    return OrderProduct(
        order_product_id="",
        product_id="",
        variant_id="",
        sku="SKU",
        name="",
        price=D(price),
        quantity=D(quantity),
        total_price=None if total_price is None else D(total_price),
    )


def money(total: str, subtotal: str, shipping: str, tax: str, discount: str) -> PartMoney:
    return PartMoney(D(total), D(subtotal), D(shipping), D(tax), D(discount))


def test_two_parts_share_in_proportion_to_their_subtotals() -> None:
    totals = OrderTotals(total=D("47.21"), shipping=D("5.00"), tax=D("3.21"), discount=D("1.00"))

    parts = split_money(totals, [(line("10.00", "3"),), (line("10.00"),)])

    # 3:1 by subtotal; the tax's odd cent (240.75 / 80.25) goes to the larger remainder.
    assert parts == [
        money("35.41", "30.00", "3.75", "2.41", "0.75"),
        money("11.80", "10.00", "1.25", "0.80", "0.25"),
    ]
    assert sum(part.total for part in parts) == D("47.21")


def test_three_parts_the_leftover_cent_goes_to_the_largest_remainder() -> None:
    totals = OrderTotals(shipping=D("1.00"), tax=D("0.10"))

    parts = split_money(totals, [(line("1.00"),), (line("2.00"),), (line("3.00"),)])

    # 100 cents by 1:2:3 is 16.67 / 33.33 / 50: the cent goes to the smallest part, whose
    # remainder is the largest; the same for the tax's 1.67 / 3.33 / 5.
    assert [part.shipping for part in parts] == [D("0.17"), D("0.33"), D("0.50")]
    assert [part.tax for part in parts] == [D("0.02"), D("0.03"), D("0.05")]
    assert sum(part.shipping for part in parts) == D("1.00")
    assert sum(part.tax for part in parts) == D("0.10")
    # No store total: no "rest", each part's total is its own sum.
    assert [part.total for part in parts] == [D("1.19"), D("2.36"), D("3.55")]


def test_equal_remainders_give_the_cent_to_the_earlier_part() -> None:
    parts = split_money(
        OrderTotals(shipping=D("10.00")), [(line("5"),), (line("5"),), (line("5"),)]
    )

    assert [part.shipping for part in parts] == [D("3.34"), D("3.33"), D("3.33")]


def test_free_lines_share_equally() -> None:
    totals = OrderTotals(total=D("5.01"), shipping=D("5.01"))

    parts = split_money(totals, [(line("0.00", "2"),), (line("0.00"), line("0.00"))])

    assert parts == [
        money("2.51", "0.00", "2.51", "0.00", "0.00"),
        money("2.50", "0.00", "2.50", "0.00", "0.00"),
    ]


def test_a_negative_rest_is_shared_too() -> None:
    # The store's total is a cent below lines + shipping + tax - discount (its own rounding).
    totals = OrderTotals(total=D("39.99"))

    parts = split_money(totals, [(line("20.00"),), (line("20.00"),)])

    assert [part.total for part in parts] == [D("20.00"), D("19.99")]
    assert [part.subtotal for part in parts] == [D("20.00"), D("20.00")]
    assert sum(part.total for part in parts) == D("39.99")


def test_a_single_part_keeps_the_store_total() -> None:
    # 3 x 9.99 of lines, shipping, tax and a discount, and 3.58 the store adds (fees, wrapping).
    totals = OrderTotals(total=D("40.00"), shipping=D("4.95"), tax=D("2.00"), discount=D("0.50"))

    parts = split_money(totals, [(line("9.99", "3"),)])

    assert parts == [money("40.00", "29.97", "4.95", "2.00", "0.50")]


def test_a_line_total_is_rounded_half_up_to_the_cent() -> None:
    parts = split_money(OrderTotals(), [(line("0", total_price="10.005"),), (line("0.004"),)])

    assert [part.subtotal for part in parts] == [D("10.01"), D("0.00")]
    assert [part.total for part in parts] == [D("10.01"), D("0.00")]


cents = st.integers(min_value=0, max_value=10**7).map(lambda n: D(n) / 100)


@given(
    subtotals=st.lists(cents, min_size=1, max_size=6),
    shipping=cents,
    tax=cents,
    discount=cents,
    rest=st.integers(min_value=-(10**4), max_value=10**4).map(lambda n: D(n) / 100),
)
def test_the_parts_always_add_up_to_the_store_order(
    subtotals: list[Decimal], shipping: Decimal, tax: Decimal, discount: Decimal, rest: Decimal
) -> None:
    total = sum(subtotals) + shipping + tax - discount + rest
    totals = OrderTotals(total=total, shipping=shipping, tax=tax, discount=discount)

    parts = split_money(totals, [(line(str(subtotal)),) for subtotal in subtotals])

    assert [part.subtotal for part in parts] == subtotals
    assert sum(part.shipping for part in parts) == shipping
    assert sum(part.tax for part in parts) == tax
    assert sum(part.discount for part in parts) == discount
    assert sum(part.total for part in parts) == total
