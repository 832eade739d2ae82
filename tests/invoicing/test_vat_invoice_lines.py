"""The invoice's VAT figures from the store order's lines (`invoicing.vat_lines`): pure, no
database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicing.vat_lines import (
    StoreLine,
    invoice_totals,
    percent,
    time_of_supply,
    vat_lines,
)
from orders.money import allocate

D = Decimal


def line(quantity: str, price: str, **fields) -> StoreLine:
    return StoreLine("Widget", D(quantity), D(price), **fields)


def test_tax_inclusive_prices_are_printed_net_with_the_discount_net_too():
    [printed] = vat_lines(
        [line("2", "12.00", discount=D("2.40"), tax_rate=D(20))],
        prices_include_tax=True,
        order_tax=D("3.60"),
    )

    assert (printed.net, printed.vat, printed.gross) == (D("18.00"), D("3.60"), D("21.60"))
    assert round(printed.unit_net, 2) == D("10.00")
    assert printed.discount_net == D("2.00")
    assert printed.rate_label == "20%"


def test_net_prices_stay_as_they_are_and_take_the_rate_on_top():
    [printed] = vat_lines(
        [line("3", "10.00", tax_rate=D(5))], prices_include_tax=False, order_tax=None
    )

    assert (printed.unit_net, printed.net, printed.vat) == (D("10.00"), D("30.00"), D("1.50"))
    assert printed.rate_label == "5%"


def test_the_lines_own_tax_wins_over_their_rate():
    [printed] = vat_lines(
        [line("1", "10.00", tax_amount=D("1.75"), tax_rate=D(20))],
        prices_include_tax=False,
        order_tax=D("9.99"),
    )

    assert printed.vat == D("1.75")
    assert printed.rate_label == "20%"  # the store's rate is printed as the store gave it


def test_the_order_tax_is_shared_to_the_cent_and_the_rate_worked_out():
    printed = vat_lines(
        [line("1", "10.00"), line("1", "10.00"), line("1", "10.00")],
        prices_include_tax=False,
        order_tax=D("1.00"),
    )

    assert [p.vat for p in printed] == [D("0.34"), D("0.33"), D("0.33")]
    assert sum(p.vat for p in printed) == D("1.00")
    assert [p.rate_label for p in printed] == ["3.4%", "3.3%", "3.3%"]


def test_only_what_the_lines_with_their_own_tax_leave_is_shared():
    goods, shipping = vat_lines(
        [line("2", "24.00", tax_rate=D(20)), StoreLine("Shipping", D(1), D("6.00"))],
        prices_include_tax=True,
        order_tax=D("9.00"),
    )

    assert (goods.net, goods.vat) == (D("40.00"), D("8.00"))
    assert (shipping.net, shipping.vat, shipping.rate_label) == (D("5.00"), D("1.00"), "20%")


def test_with_the_order_tax_unknown_a_line_without_its_own_is_not_guessed():
    goods, shipping = vat_lines(
        [line("1", "12.00", tax_rate=D(20)), StoreLine("Shipping", D(1), D("6.00"))],
        prices_include_tax=True,
        order_tax=None,
    )

    assert (shipping.vat, shipping.rate_label) == (D(0), "—")
    totals = invoice_totals(D("18.00"), [goods, shipping])
    assert (totals.net, totals.vat, totals.from_lines) == (None, None, False)


def test_rates_print_whole_or_with_one_decimal():
    assert [percent(D(20)), percent(D("17.5")), percent(D("19.996")), percent(None)] == [
        "20%",
        "17.5%",
        "20%",
        "—",
    ]


def test_totals_are_the_lines_when_they_add_up_to_the_erp_amount():
    printed = vat_lines(
        [line("1", "12.00", tax_rate=D(20)), line("1", "10.50", tax_rate=D(5))],
        prices_include_tax=True,
        order_tax=None,
    )

    totals = invoice_totals(D("22.50"), printed)

    assert (totals.net, totals.vat, totals.gross) == (D("20.00"), D("2.50"), D("22.50"))
    assert (totals.rate_label, totals.from_lines) == ("mixed", True)


def test_totals_are_the_erps_when_the_lines_differ():
    one_rate = vat_lines(
        [line("1", "12.00", tax_rate=D(20))], prices_include_tax=True, order_tax=None
    )
    mixed = vat_lines(
        [line("1", "12.00", tax_rate=D(20)), line("1", "10.50", tax_rate=D(5))],
        prices_include_tax=True,
        order_tax=None,
    )

    derived = invoice_totals(D("30.00"), one_rate)
    unsplit = invoice_totals(D("30.00"), mixed)

    assert (derived.gross, derived.net, derived.vat, derived.from_lines) == (
        D("30.00"),
        D("25.00"),
        D("5.00"),
        False,
    )
    assert (unsplit.gross, unsplit.net, unsplit.vat) == (D("30.00"), None, None)
    assert unsplit.lines_gross == D("22.50")


def test_shares_add_up_whatever_the_weights():
    assert allocate(D("0.05"), [D(0), D(0)]) == [D("0.03"), D("0.02")]
    assert allocate(D("-0.10"), [D(1), D(2)]) == [D("-0.03"), D("-0.07")]
    assert allocate(D("1.00"), []) == []


def test_time_of_supply_is_the_last_delivery_on_or_before_the_invoice_date():
    deliveries = [date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 20)]

    supplied = time_of_supply(deliveries, date(2026, 3, 10))
    before_any = time_of_supply(deliveries, date(2026, 3, 1))
    none = time_of_supply([], date(2026, 3, 10))

    assert (supplied.on, supplied.basis) == (date(2026, 3, 6), "delivery date")
    assert before_any.on == date(2026, 3, 1)
    assert before_any.basis.startswith("the invoice date")
    assert (none.on, none.basis.startswith("the invoice date")) == (date(2026, 3, 10), True)
    assert time_of_supply([], None).on is None
