"""When a tenant's shipment polls are needed, for the sweeper.

A poll costs upstream calls and, for an idle tenant, a visit of its schema; it runs only while
it can find something (docs/adr-0014-idle-tenants.md):
- ShipStation shipments: orders sent to ShipStation and not yet fully shipped, and the
  tenant's ShipStation keys set;
- ERP deliveries: orders in M3 that are still open for a delivery.
While needed, each runs at most every `HUB_SHIPMENT_POLL_SECONDS` per tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings

from core import sweeper
from orders.models import Order
from shipping.receiving import OPEN_FOR_DELIVERIES
from tenant_settings.models import ConnectionSettings

SHIPSTATION_KEY = "shipping:poll-shipstation"
ERP_DELIVERIES_KEY = "shipping:poll-erp-deliveries"
AWAITING_LABELS = (Order.State.SENT_TO_SHIPSTATION, Order.State.PARTIALLY_SHIPPED)


def shipstation_poll_needed() -> bool:
    if not Order.objects.filter(state__in=AWAITING_LABELS).exists():
        return False
    keys = ConnectionSettings.objects.filter(pk=1).values_list(
        "shipstation_api_key", "shipstation_api_secret"
    )
    return any(all(pair) for pair in keys)


def erp_deliveries_poll_needed() -> bool:
    orders = Order.objects.filter(state__in=OPEN_FOR_DELIVERIES).exclude(erp_order_number="")
    return orders.exists()


def due(key: str, needed: Callable[[], bool]) -> Callable[[datetime, datetime], list[tuple]]:
    """The sweep job's `find`: one poll when needed and the interval has passed."""

    def find(now: datetime, stale: datetime) -> list[tuple]:
        if not needed():
            return []
        return sweeper.once_every(key, settings.HUB_SHIPMENT_POLL_SECONDS)

    return find


def next_due(key: str, needed: Callable[[], bool]) -> Callable[[datetime], datetime | None]:
    """The sweep job's `next_due`: the interval's end while needed, None otherwise."""

    def when(now: datetime) -> datetime | None:
        return sweeper.next_time(key, now) if needed() else None

    return when
