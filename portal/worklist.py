"""What waits for a person in this tenant, each with what to do next and where to do it: the
portal's needs-attention worklist.

Parked orders and disconnected stores are read here; shipping and invoicing offer their parked
rows in `WORKLIST_SOURCES` (in their `admin` modules), which this module imports: each source
takes the most rows to return and gives the keyword arguments of `parked_item` for each. The
next step is the hint the work item was parked with, and its link the portal page that hint
names (or else the item's own page, where Retry is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.urls import NoReverseMatch, reverse

from core.models import WorkItem
from invoicing import admin as invoicing_admin
from orders.changes.admin import parked_order_changes
from orders.models import Order
from shipping import admin as shipping_admin
from tenants.models import Store

PLACES = {
    "Catalog › Item bindings": "tenant_admin:catalog_itembinding_changelist",
    "Shipping › Carrier mappings": "tenant_admin:shipping_carriermapping_changelist",
    "Invoicing › Store status mappings": "tenant_admin:invoicing_storestatusmapping_changelist",
    "connection settings": "tenant_admin:tenant_settings_connectionsettings_changelist",
    ".ionapi": "tenant_admin:tenant_settings_connectionsettings_changelist",
}
"""Portal places named in parking hints, and the page each names."""

LIMIT = 200


@dataclass(frozen=True)
class AttentionItem:
    kind: str
    title: str
    url: str
    problem: str
    next_step: str
    next_url: str
    since: datetime | None


ParkedRows = Callable[[int], list[dict[str, Any]]]
"""A lower app's parked rows: `source(limit)` → keyword arguments of `parked_item`, one dict
per row (`item`, `kind`, `title`, `url`, `problem`, `retry_step`)."""


def place_url(hint: str, fallback: str) -> str:
    """The page a hint sends the reader to, if it names one the portal has."""
    for place, name in PLACES.items():
        if place.lower() in hint.lower():
            try:
                return reverse(name)
            except NoReverseMatch:
                continue
    return fallback


def next_step_for(hint: str, state_label: str, fallback: str) -> str:
    if hint:
        return hint
    if state_label == "Failed":
        return "The hub gave up retrying: fix what the error names, then run Retry on its page."
    return fallback


def parked_item(
    item: WorkItem, *, kind: str, title: str, url: str, problem: str, retry_step: str
) -> AttentionItem:
    """A parked work item: its hint says what to do and where, else the retry its page offers."""
    hint = item.last_error_hint
    return AttentionItem(
        kind=kind,
        title=title,
        url=url,
        problem=problem or "No message recorded.",
        next_step=next_step_for(hint, item.get_state_display(), retry_step),
        next_url=place_url(hint, url),
        since=item.updated_at,
    )


def parked_orders(limit: int) -> list[dict[str, Any]]:
    parked = Order.objects.filter(
        state__in=[Order.State.NEEDS_ATTENTION, Order.State.FAILED]
    ).order_by("-updated_at")[:limit]
    return [
        dict(
            item=order,
            kind="Order",
            title=f"{order.order_number} ({order.get_state_display()})",
            url=reverse("tenant_admin:orders_order_change", args=[order.pk]),
            problem=order.state_message or order.last_error,
            retry_step="Fix what the message names, then run Retry on the order's page.",
        )
        for order in parked
    ]


WORKLIST_SOURCES: list[ParkedRows] = [
    parked_orders,
    parked_order_changes,
    *shipping_admin.WORKLIST_SOURCES,
    *invoicing_admin.WORKLIST_SOURCES,
]


def disconnected_stores() -> list[AttentionItem]:
    """A disconnected store sends no orders: the tenant should know, though staff reconnect it."""
    stores = Store.objects.filter(
        memberships__tenant=connection.tenant, status=Store.Status.DISCONNECTED
    )
    home = reverse("tenant_admin:index")
    return [
        AttentionItem(
            kind="Store",
            title=store.display_name,
            url=f"{home}#store-connections",
            problem=store.status_message or "API2Cart reports the store disconnected.",
            next_step="Reconnect the store at API2Cart (store key, app access) or ask platform "
            "staff to; the hub clears this by itself at its next successful poll.",
            next_url=f"{home}#store-connections",
            since=store.status_changed_at,
        )
        for store in stores
    ]


def attention_items() -> list[AttentionItem]:
    """Every source's items, newest first."""
    items = [parked_item(**row) for source in WORKLIST_SOURCES for row in source(LIMIT)]
    items += disconnected_stores()
    return sorted(items, key=lambda item: item.since.timestamp() if item.since else 0, reverse=True)
