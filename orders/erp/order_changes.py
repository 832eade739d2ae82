"""The ERP side of a store change: cancel a cancelled order's lines, move its delivery address.

M3 has no transaction in our contract for either on a confirmed order; docs/m3-order-changes.md
says what Infor documents and how sure we are. Each is therefore the tenant's choice in the
connection settings, off by default. Off, these return None and the change waits for a person
with the next step spelled out; on, the connector acts line by line and any line M3 refuses (or
that is already picked, delivered or invoiced) parks the change with M3's words and what to do.
"""

from __future__ import annotations

from connectors.m3 import M3OrderChange
from core import work
from orders.addresses import erp_address
from orders.models import Order
from tenant_settings.connection_clients import erp_client
from tenant_settings.models import ConnectionSettings


def cancel_in_erp(order: Order) -> str | None:
    """Cancel every open line of the order's ERP order with the tenant's transaction; None when
    the tenant chose none."""
    settings = ConnectionSettings.objects.first()
    transaction = settings.erp_cancel_line_transaction if settings else ""
    if not transaction:
        return None
    done = erp_client(settings).cancel_order_lines(order.erp_order_number, transaction)
    return _done_or_parked(done, "The store cancelled the order, but ")


def readdress_in_erp(order: Order) -> str | None:
    """Point the ERP order's open lines at the order's new ship-to with the tenant's
    transaction; None when the tenant chose none."""
    settings = ConnectionSettings.objects.first()
    transaction = settings.erp_delivery_address_transaction if settings else ""
    if not transaction:
        return None
    done = erp_client(settings).change_delivery_address(
        order.erp_order_number, erp_address(order.ship_to or {}), transaction
    )
    return _done_or_parked(done, "The store changed the ship-to, but ")


def _done_or_parked(done: M3OrderChange, why: str) -> str:
    if not done.complete:
        raise work.NeedsAttention(f"{why}{done.summary()}", hint=done.next_step)
    return done.summary()
