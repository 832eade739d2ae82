"""Figures for the tenant portal's front page: where orders are, how far behind each flow is, what
needs a person and what long work is running (the "orders" panel, `portal.admin`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import Count
from django.urls import reverse

from orders.erp.batch_orders import abandoned_batches
from orders.models import Order
from portal.flow_lag import ATTENTION_STATES, TenantHealth, health_of
from portal.progress import Progress, running_work
from portal.worklist import attention_items


@dataclass(frozen=True)
class StateCount:
    label: str
    count: int
    url: str
    attention: bool


@dataclass(frozen=True)
class OrderDashboard:
    """`open_erp_batches`: unconfirmed ERP batch orders of cancelled or parked orders, which the
    sweeper deletes (cancelled at once, parked after HUB_ERP_BATCH_GRACE_MINUTES)."""

    states: list[StateCount]
    last_24h: int
    attention: list[Order]
    open_erp_batches: int
    health: TenantHealth
    attention_total: int
    long_work: list[Progress]


def order_dashboard() -> OrderDashboard:
    changelist = reverse("tenant_admin:orders_order_changelist")
    counts = dict(Order.objects.values_list("state").annotate(n=Count("pk")))
    states = [
        StateCount(label, counts.get(value, 0), f"{changelist}?state__exact={value}",
                   value in ATTENTION_STATES)
        for value, label in Order.State.choices
    ]  # fmt: skip
    health = health_of(connection.tenant)
    return OrderDashboard(
        states=states,
        last_24h=health.received_24h,
        attention=list(
            Order.objects.filter(state__in=ATTENTION_STATES).order_by("-updated_at")[:10]
        ),
        open_erp_batches=abandoned_batches(timedelta(0)).count(),
        health=health,
        attention_total=len(attention_items()),
        long_work=running_work(),
    )
