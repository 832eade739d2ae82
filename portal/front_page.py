"""Figures for the tenant portal's front page: where orders are, how far behind each flow is, what
needs a person and what long work is running (the "orders" panel, `portal.admin`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count
from django.urls import reverse

from orders.erp.batch_orders import abandoned_batches, customer_order_ref, stray_batch_step
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
class StrayBatchCheck:
    """An order whose request for an ERP batch order got no answer: M3 may hold an open batch
    order under its CUOR that no M3 transaction lists, so a person deletes it in M3."""

    order: Order
    customer_order_ref: str
    since: datetime | None
    m3_step: str


@dataclass(frozen=True)
class StrayBatchChecks:
    orders: list[StrayBatchCheck]
    total: int
    url: str
    """The orders page, showing only these orders (where "M3 batch orders checked" is run)."""


STRAY_BATCHES_LISTED = 20


def stray_batch_checks() -> StrayBatchChecks:
    """The newest flagged orders and how many: at most two statements, on a partial index."""
    flagged = Order.objects.filter(erp_batch_check_since__isnull=False)
    newest = list(flagged.order_by("-erp_batch_check_since")[:STRAY_BATCHES_LISTED])
    total = len(newest) if len(newest) < STRAY_BATCHES_LISTED else flagged.count()
    return StrayBatchChecks(
        orders=[
            StrayBatchCheck(
                order,
                customer_order_ref(order),
                order.erp_batch_check_since,
                stray_batch_step(order),
            )
            for order in newest
        ],
        total=total,
        url=reverse("tenant_admin:orders_order_changelist")
        + "?erp_batch_check_since__isnull=False",
    )


@dataclass(frozen=True)
class OrderDashboard:
    """`open_erp_batches`: unconfirmed ERP batch orders of cancelled or parked orders, which the
    sweeper deletes (cancelled at once, parked after HUB_ERP_BATCH_GRACE_MINUTES).
    `stray_batches`: orders for which M3 may hold batch orders the hub cannot see or delete."""

    states: list[StateCount]
    last_24h: int
    attention: list[Order]
    open_erp_batches: int
    stray_batches: StrayBatchChecks
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
        stray_batches=stray_batch_checks(),
        health=health,
        attention_total=len(attention_items()),
        long_work=running_work(),
    )
