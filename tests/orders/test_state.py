"""The order state machine's transition table (`orders.state.ALLOWED`, `can_move`).

Pure: no database. Orders are unsaved instances; a refused move raises before any query.
"""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.state import (
    ALLOWED,
    IllegalTransition,
    Transition,
    can_move,
    move,
    move_together,
)

S = Order.State

# Today's table, written out: where an order may go from each state.
TABLE = {
    S.ROUTED: {S.CUSTOMER_LINKED, S.NEEDS_ATTENTION, S.FAILED, S.CANCELLED},
    S.CUSTOMER_LINKED: {S.IN_ERP, S.ROUTED, S.NEEDS_ATTENTION, S.FAILED, S.CANCELLED},
    S.IN_ERP: {
        S.SENT_TO_SHIPSTATION,
        S.NEEDS_ATTENTION,
        S.PARTIALLY_SHIPPED,
        S.SHIPPED,
        S.INVOICED,
        S.CANCELLED,  # by the store, before the ShipStation push
    },
    S.SENT_TO_SHIPSTATION: {S.PARTIALLY_SHIPPED, S.SHIPPED, S.INVOICED, S.CANCELLED},
    S.PARTIALLY_SHIPPED: {S.SHIPPED, S.INVOICED},
    S.SHIPPED: {S.INVOICED},
    S.INVOICED: set(),
    S.NEEDS_ATTENTION: {S.ROUTED, S.CUSTOMER_LINKED, S.IN_ERP, S.CANCELLED},
    S.FAILED: {S.ROUTED, S.CUSTOMER_LINKED, S.IN_ERP, S.CANCELLED},
    S.CANCELLED: set(),
    S.HISTORY: set(),
}


def order_in(state: str) -> Order:
    return Order(order_number="T-1", state=state)


def test_the_table_is_todays_and_names_every_state():
    assert set(ALLOWED) == set(S)
    assert ALLOWED == TABLE


@pytest.mark.parametrize("state", list(S))
def test_staying_in_a_state_is_always_allowed(state):
    """A replay or a late result writes the state the order is in."""
    assert can_move(order_in(state), state)


@pytest.mark.parametrize("state", list(S))
def test_can_move_follows_the_table(state):
    allowed = {to for to in S if can_move(order_in(state), to)}

    assert allowed == TABLE[state] | {state}


@pytest.mark.parametrize("state", [S.INVOICED, S.CANCELLED])
def test_invoiced_and_cancelled_orders_go_nowhere(state):
    assert [to for to in S if to != state and can_move(order_in(state), to)] == []


@pytest.mark.parametrize("state", [S.IN_ERP, S.SENT_TO_SHIPSTATION, S.PARTIALLY_SHIPPED, S.SHIPPED])
def test_once_the_erp_has_the_order_it_is_never_sent_back(state):
    order = order_in(state)

    assert not can_move(order, S.ROUTED)
    assert not can_move(order, S.CUSTOMER_LINKED)


@pytest.mark.parametrize(
    ("state", "cancellable"),
    [
        (S.IN_ERP, True),
        (S.SENT_TO_SHIPSTATION, True),
        (S.PARTIALLY_SHIPPED, False),
        (S.SHIPPED, False),
    ],
)
def test_a_store_cancel_may_stop_an_order_until_it_ships(state, cancellable):
    assert can_move(order_in(state), S.CANCELLED) is cancellable


@pytest.mark.parametrize("parked", [S.NEEDS_ATTENTION, S.FAILED])
def test_a_parked_order_resumes_at_a_pipeline_step_or_is_cancelled(parked):
    order = order_in(parked)

    assert {to for to in S if to != parked and can_move(order, to)} == {
        S.ROUTED,
        S.CUSTOMER_LINKED,
        S.IN_ERP,
        S.CANCELLED,
    }


def test_payment_or_delivery_may_come_before_shipstation():
    """An ERP delivery can ship an order ShipStation never saw; payment can come first too."""
    order = order_in(S.IN_ERP)

    assert can_move(order, S.SHIPPED)
    assert can_move(order, S.PARTIALLY_SHIPPED)
    assert can_move(order, S.INVOICED)


def test_an_illegal_move_is_refused_before_any_query():
    with pytest.raises(IllegalTransition, match="invoiced → routed"):
        move(order_in(S.INVOICED), S.ROUTED, message="replay")


def test_an_illegal_move_together_is_refused_before_any_query():
    transitions = [Transition(order_in(S.ROUTED), "ok"), Transition(order_in(S.SHIPPED), "no")]

    with pytest.raises(IllegalTransition):
        move_together(transitions, S.CUSTOMER_LINKED)
