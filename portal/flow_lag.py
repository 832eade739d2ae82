"""How far behind each of a tenant's flows is, with the order figures around them (orders per
hour and per day, failures, what waits, its stores): the tenant front page shows its own, the
platform front page every tenant's. Not `/healthz`, which says whether the hub's services answer.

Each flow's lag is the age of the oldest thing still waiting in it. The order flows are measured
here; shipping and invoicing offer theirs in `FLOW_PROBES` (in their `admin` modules), which this
module imports: `probe(tenant)` runs in the tenant's schema and gives the keyword arguments of
`FlowLag` (`name`, `waiting`, `oldest`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django_tenants.utils import schema_context

from core.models import WorkAttempt
from core.sweeper import active_tenants
from inbox.models import InboxItem
from invoicing import admin as invoicing_admin
from orders.models import Order
from orders.state import WAITING_STATES, WORK_STATES
from shipping import admin as shipping_admin
from tenants.models import Store, Tenant

LAGGING = timedelta(minutes=15)
"""A flow whose oldest waiting item is older than this is shown as behind."""

ATTENTION_STATES = (Order.State.NEEDS_ATTENTION, Order.State.FAILED)
ON_ITS_WAY_OUT = (
    Order.State.SENT_TO_SHIPSTATION,
    Order.State.PARTIALLY_SHIPPED,
    Order.State.SHIPPED,
    Order.State.INVOICED,
)
"""States of an order that reached ShipStation or shipped."""


@dataclass(frozen=True)
class FlowLag:
    name: str
    waiting: int
    oldest: datetime | None

    @property
    def lag(self) -> timedelta | None:
        return timezone.now() - self.oldest if self.oldest else None

    @property
    def behind(self) -> bool:
        return bool(self.lag and self.lag > LAGGING)


FlowProbe = Callable[[Tenant], dict[str, Any]]
"""`probe(tenant)` runs in the tenant's schema and measures one flow: `FlowLag`'s keywords."""


@dataclass(frozen=True)
class Bucket:
    start: datetime
    count: int


@dataclass(frozen=True)
class StoreState:
    store: Store
    poll_lag: timedelta | None

    @property
    def connected(self) -> bool:
        return self.store.status == Store.Status.CONNECTED


@dataclass(frozen=True)
class TenantHealth:
    tenant: Tenant
    received_24h: int
    shipped_24h: int
    waiting: int
    oldest_waiting: datetime | None
    needs_attention: int
    failed: int
    hourly: list[Bucket] = field(default_factory=list)
    daily: list[Bucket] = field(default_factory=list)
    failed_attempts_24h: int = 0
    flows: list[FlowLag] = field(default_factory=list)
    stores: list[StoreState] = field(default_factory=list)

    @property
    def lag(self) -> timedelta | None:
        """How long the oldest order still on its way has been waiting."""
        return timezone.now() - self.oldest_waiting if self.oldest_waiting else None

    @property
    def disconnected_stores(self) -> int:
        return sum(not s.connected for s in self.stores)

    @property
    def healthy(self) -> bool:
        return (
            not (self.needs_attention or self.failed or self.disconnected_stores)
            and (self.lag is None or self.lag < LAGGING)
            and not any(flow.behind for flow in self.flows)
        )


def truncate_to(moment: datetime, step: timedelta) -> datetime:
    moment = timezone.localtime(moment)
    if step >= timedelta(days=1):
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def order_buckets(now: datetime | None = None) -> tuple[list[Bucket], list[Bucket]]:
    """Orders received per hour over the last 24 hours and per day over the last 7 days, oldest
    first, empty ones as zero: one query, per hour over the week, folded into days here."""
    now = now or timezone.now()
    hour, day = timedelta(hours=1), timedelta(days=1)
    first_day = truncate_to(now, day) - day * 6
    per_hour = dict(
        Order.objects.filter(created_at__gte=first_day)
        .annotate(bucket=TruncHour("created_at", tzinfo=timezone.get_current_timezone()))
        .values_list("bucket")
        .annotate(n=Count("pk"))
    )
    last_hour = truncate_to(now, hour)
    hourly = [
        Bucket(start, per_hour.get(start, 0))
        for start in (last_hour - hour * (23 - i) for i in range(24))
    ]
    per_day: dict[datetime, int] = {}
    for start, n in per_hour.items():
        key = truncate_to(start, day)
        per_day[key] = per_day.get(key, 0) + n
    daily = [Bucket(first_day + day * i, per_day.get(first_day + day * i, 0)) for i in range(7)]
    return hourly, daily


def tenant_stores(tenant: Tenant) -> list[StoreState]:
    now = timezone.now()
    stores = Store.objects.filter(memberships__tenant=tenant).order_by("display_name")
    return [StoreState(s, now - s.last_polled_at if s.last_polled_at else None) for s in stores]


def store_intake(tenant: Tenant) -> dict[str, Any]:
    figures = InboxItem.objects.filter(
        store__memberships__tenant=tenant, state=InboxItem.State.PENDING
    ).aggregate(waiting=Count("pk"), oldest=Min("received_at"))
    return {"name": "Store → hub", **figures}


def to_erp(tenant: Tenant) -> dict[str, Any]:
    figures = Order.objects.filter(state__in=WORK_STATES).aggregate(
        waiting=Count("pk"), oldest=Min("created_at")
    )
    return {"name": "Hub → ERP", **figures}


def to_shipstation(tenant: Tenant) -> dict[str, Any]:
    figures = Order.objects.filter(state=Order.State.IN_ERP).aggregate(
        waiting=Count("pk"), oldest=Min("updated_at")
    )
    return {"name": "ERP → ShipStation", **figures}


FLOW_PROBES: list[FlowProbe] = [
    store_intake,
    to_erp,
    to_shipstation,
    *shipping_admin.FLOW_PROBES,
    *invoicing_admin.FLOW_PROBES,
]


def health_of(tenant: Tenant) -> TenantHealth:
    """The tenant's figures; runs in the current schema, which must be the tenant's."""
    now = timezone.now()
    since = now - timedelta(hours=24)
    figures = Order.objects.aggregate(
        received_24h=Count("pk", filter=Q(created_at__gte=since)),
        shipped_24h=Count("pk", filter=Q(updated_at__gte=since, state__in=ON_ITS_WAY_OUT)),
        waiting=Count("pk", filter=Q(state__in=WAITING_STATES)),
        oldest_waiting=Min("created_at", filter=Q(state__in=WAITING_STATES)),
        needs_attention=Count("pk", filter=Q(state=Order.State.NEEDS_ATTENTION)),
        failed=Count("pk", filter=Q(state=Order.State.FAILED)),
    )
    failed_attempts = (
        WorkAttempt.objects.filter(started_at__gte=since)
        .exclude(outcome=WorkAttempt.Outcome.SUCCEEDED)
        .count()
    )
    hourly, daily = order_buckets(now)
    return TenantHealth(
        tenant=tenant,
        **figures,
        hourly=hourly,
        daily=daily,
        failed_attempts_24h=failed_attempts,
        flows=[FlowLag(**probe(tenant)) for probe in FLOW_PROBES],
        stores=tenant_stores(tenant),
    )


def tenant_health() -> list[TenantHealth]:
    """Every active tenant's health, each measured in its own schema."""
    rows = []
    for tenant in active_tenants().order_by("name"):
        with schema_context(tenant.schema_name):
            rows.append(health_of(tenant))
    return rows
