"""The order pipeline's steps: routed → customer linked → in ERP (then shipping pushes it).

Orders advance in batches: one attempt takes every order it claimed as far as it can, with one
query for the customer links, three ERP bulk calls for all their ERP orders, and one state change
per step for all of them. Leasing, retries, parking and the attempt history are the work-item
core's; state changes are `orders.state`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core import work
from orders import state
from orders.erp.batch_orders import create_erp_orders
from orders.erp.customers import link_customers
from orders.models import Order
from tenant_settings.connection_clients import erp_client
from tenant_settings.models import ConnectionSettings

State = Order.State


def advance_orders(order_ids: Iterable[int]) -> dict[int, str]:
    """Run the next steps of these orders and, up to a batch, of other orders that are due."""
    return work.process_batch(Order, order_ids, _advance)


def _advance(orders: list[Order]) -> dict[int, Exception]:
    """Each order's failure, if it had one; the others moved as far as they could."""
    settings = ConnectionSettings.load()
    erp = erp_client(settings)
    failures: dict[int, Exception] = {}
    by_pk = {order.pk: order for order in orders}
    routed = [order for order in orders if order.state == State.ROUTED]
    decisions = link_customers(routed, erp, settings)
    _move_or_keep(
        [
            _step_done(by_pk[pk], "ERP customer", "erp_customer_number", d.customer_number, d.how)
            for pk, d in _successes(decisions, failures).items()
        ],
        State.CUSTOMER_LINKED,
    )
    ready = [o for o in orders if o.state == State.CUSTOMER_LINKED and o.pk not in failures]
    refs = create_erp_orders(ready, erp, settings)
    _move_or_keep(
        [
            _step_done(by_pk[pk], "ERP order", "erp_order_number", ref.order_number, ref.how)
            for pk, ref in _successes(refs, failures).items()
        ],
        State.IN_ERP,
    )
    return failures


def _successes(results: dict[int, Any], failures: dict[int, Exception]) -> dict[int, Any]:
    """The results that are not exceptions; the exceptions join `failures`."""
    failures.update({pk: r for pk, r in results.items() if isinstance(r, Exception)})
    return {pk: r for pk, r in results.items() if not isinstance(r, Exception)}


def _step_done(order: Order, what: str, field: str, number: str, how: str) -> state.Transition:
    return state.Transition(
        order, f"{what} {number} ({how}).", upstream_ref=number, fields={field: number}
    )


def _move_or_keep(transitions: list[state.Transition], to: str) -> None:
    """Move the orders together; one that somebody changed meanwhile keeps the step's result."""
    moved = {order.pk for order in state.move_together(transitions, to)}
    for transition in transitions:
        if transition.order.pk not in moved:
            state.record_late_result(
                transition.order,
                transition.message,
                transition.upstream_ref,
                **transition.fields,
            )
