"""A store order's money read and shared among its tenants' parts (`orders.money`, ADR 0006):
the platform shapes the issue found, with their real numbers.

Pure: no database, no sandbox. The generated-order properties are in test_money_properties.py.
"""

from __future__ import annotations

from decimal import Decimal

from orders.money import (
    PartMoney,
    StoreLine,
    StoreTotals,
    net_unit_price,
    read_store_money,
    shipstation_adjustment,
    split_money,
)

D = Decimal


def line(price: str, quantity: str = "1", **fields: str) -> StoreLine:
    return StoreLine(
        quantity=D(quantity),
        price=D(price),
        **{name: D(value) for name, value in fields.items()},
    )


def test_walmart_line_totals_with_tax_do_not_inflate_the_subtotal() -> None:
    """Walmart's `total_price` includes tax: 529.71 of lines is 499.99 net + 29.72 tax."""
    totals = StoreTotals(total=D("529.71"), subtotal=D("499.99"), tax=D("29.72"), shipping=D(0))
    lines = [line("199.99", total_price="211.88"), line("300.00", total_price="317.83")]

    money = read_store_money(totals, lines, "USD")

    assert money.subtotal == D("499.99") and money.tax == D("29.72")
    assert money.rest == 0 and money.prices_include_tax is False
    [part] = split_money(money, [[0, 1]])
    assert part == PartMoney(D("529.71"), D("499.99"), D(0), D("29.72"), D(0))


def test_etsy_reports_the_subtotal_after_the_discount() -> None:
    """Lines 22.99, discount 2.30, Etsy's subtotal 20.69: nothing is lost or counted twice."""
    totals = StoreTotals(
        total=D("24.69"), subtotal=D("20.69"), discount=D("2.30"), shipping=D("4.00"), tax=D(0)
    )
    money = read_store_money(totals, [line("22.99")], "GBP")

    [part] = split_money(money, [[0]])
    assert part == PartMoney(D("24.69"), D("22.99"), D("4.00"), D(0), D("2.30"))


def test_a_uk_shop_with_prices_including_vat() -> None:
    """£12.00 incl. 20% VAT: net 10.00; shipping £3.60 incl. £0.60 VAT; total £15.60."""
    totals = StoreTotals(
        total=D("15.60"), subtotal=D("12.00"), shipping=D("3.60"), tax=D("2.60"), discount=D(0)
    )
    lines = [line("12.00", tax="2.00", tax_rate="20")]

    money = read_store_money(totals, lines, "GBP")

    assert money.prices_include_tax is True
    [part] = split_money(money, [[0]])
    assert part == PartMoney(D("15.60"), D("10.00"), D("3.00"), D("2.60"), D(0))
    assert net_unit_price(D("12.00"), D(1), D("2.00"), True) == D("10.0000")


def test_two_parts_share_discount_shipping_and_tax_by_their_subtotals() -> None:
    totals = StoreTotals(total=D("47.21"), shipping=D("5.00"), tax=D("3.21"), discount=D("1.00"))
    money = read_store_money(totals, [line("10.00", "3"), line("10.00")], "GBP")

    first, second = split_money(money, [[0], [1]])

    assert first == PartMoney(D("35.41"), D("30.00"), D("3.75"), D("2.41"), D("0.75"))
    assert second == PartMoney(D("11.80"), D("10.00"), D("1.25"), D("0.80"), D("0.25"))


def test_lines_that_report_their_tax_keep_it_in_their_part() -> None:
    """A 20% line and a zero-rated line: the tax stays with the line that bears it."""
    totals = StoreTotals(total=D("32.00"), tax=D("2.00"), shipping=D(0))
    lines = [line("10.00", tax="2.00"), line("20.00", tax="0.00")]
    money = read_store_money(totals, lines, "GBP")

    taxed, zero_rated = split_money(money, [[0], [1]])

    assert (taxed.tax, zero_rated.tax) == (D("2.00"), D(0))
    assert (taxed.total, zero_rated.total) == (D("12.00"), D("20.00"))


def test_a_store_total_that_does_not_add_up_is_kept_as_the_rest_and_said() -> None:
    totals = StoreTotals(total=D("10.50"), shipping=D(0), tax=D(0))
    money = read_store_money(totals, [line("10.00")], "GBP")

    assert money.rest == D("0.50")
    assert "holds 0.50 beyond" in money.note


def test_currencies_without_cents_and_with_three_decimals() -> None:
    yen = read_store_money(StoreTotals(total=D(1000), shipping=D(0)), [line("1000")], "JPY")
    dinar = read_store_money(StoreTotals(total=D("1.235")), [line("1.235")], "KWD")

    assert split_money(yen, [[0]])[0].total == D(1000)
    assert split_money(dinar, [[0]])[0].subtotal == D("1.235")


def test_shipstations_total_is_the_parts_through_one_adjustment_line() -> None:
    part = PartMoney(D("16.38"), D("17.53"), D(0), D(0), D("1.15"))
    adjustment = shipstation_adjustment(part.total, D("17.53"), D(0), D(0), part.discount)

    assert adjustment is not None
    assert (adjustment.name, adjustment.amount) == ("Discount", D("-1.15"))
    assert shipstation_adjustment(D("10.00"), D("10.00"), D(0), D(0), D(0)) is None
