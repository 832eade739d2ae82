"""What waits for a person in this tenant, each with what to do next and where to do it: the
portal's needs-attention worklist.

Parked orders and disconnected stores are read here; the inbox, shipping and invoicing offer
their parked rows in `WORKLIST_SOURCES` (in their `admin` modules), which this module imports:
each source takes the most rows to return and gives the keyword arguments of `parked_item` for
each. The next step is the hint the work item was parked with, and its link the portal page that
hint names (or else the item's own page). Items with the same problem are shown as one group,
and each row (or group) can be retried in place with the retry action of its own admin page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from core.admin_sites import tenant_admin
from core.models import WorkItem
from inbox import admin as inbox_admin
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


RetryAction = str | Callable[[admin.ModelAdmin, HttpRequest, Any], None]
"""How a parked row is retried: the name of an action of its model's tenant admin, or (for rows
the tenant admin does not show, such as the store's inbox events) the admin action itself."""


@dataclass(frozen=True)
class AttentionItem:
    kind: str
    title: str
    url: str
    problem: str
    next_step: str
    next_url: str
    since: datetime | None
    retry_key: str = ""
    """`app_label.model:pk` when the row can be retried in place, else empty."""
    retry_action: RetryAction | None = field(default=None, compare=False, repr=False)


@dataclass
class AttentionGroup:
    """Items of one kind with the same problem and next step: one row with a count."""

    kind: str
    problem: str
    next_step: str
    next_url: str
    items: list[AttentionItem]

    @property
    def since(self) -> datetime | None:
        return max((item.since for item in self.items if item.since), default=None)

    @property
    def retry_keys(self) -> list[str]:
        return [item.retry_key for item in self.items if item.retry_key]


ParkedRows = Callable[[int], list[dict[str, Any]]]
"""A lower app's parked rows: `source(limit)` → keyword arguments of `parked_item`, one dict
per row (`item`, `kind`, `title`, `url`, `problem`, `retry_step`, and `retry_action` when the
row can be retried in place)."""


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
    item: WorkItem,
    *,
    kind: str,
    title: str,
    url: str,
    problem: str,
    retry_step: str,
    retry_action: RetryAction | None = None,
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
        since=getattr(item, "updated_at", None) or getattr(item, "received_at", None),
        retry_key=f"{item._meta.label_lower}:{item.pk}" if retry_action else "",
        retry_action=retry_action,
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
            retry_action="retry_orders",
        )
        for order in parked
    ]


WORKLIST_SOURCES: list[ParkedRows] = [
    parked_orders,
    parked_order_changes,
    *inbox_admin.WORKLIST_SOURCES,
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


def attention_groups(items: Iterable[AttentionItem]) -> list[AttentionGroup]:
    """Identical problems (same kind, problem and next step) as one group, newest group first."""
    groups: dict[tuple[str, str, str], AttentionGroup] = {}
    for item in items:
        key = (item.kind, item.problem, item.next_step)
        if key not in groups:
            groups[key] = AttentionGroup(
                item.kind, item.problem, item.next_step, item.next_url, items=[]
            )
        groups[key].items.append(item)
    return list(groups.values())


def retry_in_place(request: HttpRequest, keys: Iterable[str], modeladmin: admin.ModelAdmin) -> int:
    """Retry the chosen rows that are still on the worklist, each through its own admin's retry
    action, so permissions, the audit and the retry schedule are that action's. Keys of rows no
    longer listed are ignored. Returns how many rows were handed to an action."""
    wanted = set(keys)
    chosen: dict[str, list[AttentionItem]] = {}
    for item in attention_items():
        if item.retry_key in wanted:
            chosen.setdefault(item.retry_key.split(":")[0], []).append(item)
    handed = 0
    for label, items in chosen.items():
        model = apps.get_model(label)
        queryset = model.objects.filter(pk__in=[int(i.retry_key.split(":")[1]) for i in items])
        action = items[0].retry_action
        if isinstance(action, str):
            # The model's own tenant admin, whose get_actions leaves out what the user may not do.
            owner = tenant_admin._registry.get(model)
            found = owner.get_actions(request).get(action) if owner else None
            if found is None:
                continue
            found[0](owner, request, queryset)
        else:
            # A row the tenant admin does not show: the action's permissions are asked of the
            # order admin this page belongs to.
            allowed = getattr(action, "allowed_permissions", ())
            if not all(getattr(modeladmin, f"has_{p}_permission")(request) for p in allowed):
                continue
            action(modeladmin, request, queryset)
        handed += len(items)
    return handed
