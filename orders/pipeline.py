"""The order pipeline's steps: routed → customer linked → in ERP (then shipping pushes it).

Each attempt advances one order as far as it can. Leasing, retries, parking and the attempt
history are the work-item core's; state changes are `orders.state`'s.
"""

from __future__ import annotations

from integration_hub.core import work
from orders import state
from orders.customers import link_customer
from orders.erp_orders import create_erp_order
from orders.models import Order
from tenant_settings.connection_clients import erp_client
from tenant_settings.models import ConnectionSettings

S = Order.State


def advance_order(order_id: int) -> str:
    """Run the next steps of one order; "skipped" when another worker has it or nothing is due."""
    return work.process(Order, order_id, _advance)


def _advance(order: Order) -> None:
    settings = ConnectionSettings.load()
    erp = erp_client(settings)
    if order.state == S.ROUTED:
        decision = link_customer(order, erp, settings)
        message = f"ERP customer {decision.customer_number} ({decision.how})."
        number = {"erp_customer_number": decision.customer_number}
        if not state.move(
            order, S.CUSTOMER_LINKED, message=message, upstream_ref=decision.customer_number,
            **number,
        ):  # fmt: skip
            state.record_late_result(order, message, decision.customer_number, **number)
            return
    if order.state == S.CUSTOMER_LINKED:
        ref = create_erp_order(order, erp, settings)
        message = f"ERP order {ref.order_number} ({ref.how})."
        number = {"erp_order_number": ref.order_number}
        if not state.move(
            order, S.IN_ERP, message=message, upstream_ref=ref.order_number, **number
        ):
            state.record_late_result(order, message, ref.order_number, **number)
