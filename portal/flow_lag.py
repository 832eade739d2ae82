"""How far behind each of a tenant's flows is, with the order figures around them (orders per
hour and per day, failures, what waits, its stores): the tenant front page shows its own, the
platform front page every tenant's. Not `/healthz`, which says whether the hub's services answer.

The tenant front page measures its own tenant live (`health_of`). The platform front page reads
every tenant's figures from the public `TenantFigures` table, a page at a time, so it costs the
same with three tenants or a thousand: the sweeper refreshes a tenant's row when it visits the
tenant's schema, at most once a minute (`due_refresh`, `refresh_figures`), so an idle tenant is
never measured again. Time windows ("last 24 h", "waiting for") are worked out when the row is
read, from the moments and per-hour counts it keeps.

Each flow's lag is the age of the oldest thing still waiting in it. The order flows are measured
here; shipping and invoicing offer theirs in `FLOW_PROBES` (in their `admin` modules), which this
module imports: `probe(tenant)` runs in the tenant's schema and gives the keyword arguments of
`FlowLag` (`name`, `waiting`, `oldest`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncHour
from django.utils import timezone

from core import sweeper
from core.models import WorkAttempt
from inbox.models import InboxItem
from invoicing import admin as invoicing_admin
from operations import metrics
from orders.models import Order
from orders.state import WAITING_STATES, WORK_STATES
from reconciliation.models import ReconciliationRun
from shipping import admin as shipping_admin
from tenants.models import Store, StoreMembership, Tenant, TenantFigures

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
    as_of: datetime | None = None
    """When the figures were measured (the platform page's stored figures); None when live."""

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


REFRESH_TASK = "portal.refresh_tenant_figures"
REFRESH_KEY = "portal:tenant-figures"
REFRESH_SECONDS = 60
"""A visited tenant's stored figures are measured again at most this often."""
PAGE_SIZE = 50
"""Tenants per page of the platform front page's health table."""


def hourly_counts(rows: Iterable[tuple[datetime, int]]) -> dict[str, int]:
    """{hour start as ISO text: count}, the shape the stored figures keep."""
    return {start.isoformat(): n for start, n in rows if n}


def per_hour(queryset, moment: str, since: datetime) -> dict[str, int]:
    """How many rows of `queryset` per hour of `moment` since `since`: one query."""
    return hourly_counts(
        queryset.filter(**{f"{moment}__gte": since})
        .annotate(bucket=TruncHour(moment, tzinfo=timezone.get_current_timezone()))
        .values_list("bucket")
        .annotate(n=Count("pk"))
        .order_by()
    )


def last_reconciliation() -> dict[str, Any] | None:
    run = ReconciliationRun.objects.filter(state=ReconciliationRun.State.DONE).first()
    if run is None:
        return None
    return {
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "store_orders": run.store_orders,
        "mismatches": run.mismatches,
        "counts": run.counts or {},
    }


def measure_figures(tenant: Tenant, now: datetime | None = None) -> TenantFigures:
    """The tenant's figures to store, measured in the current schema (the tenant's): counts as
    they are now, and what time windows need as moments and per-hour counts."""
    now = now or timezone.now()
    day = timedelta(days=1)
    figures = Order.objects.aggregate(
        waiting=Count("pk", filter=Q(state__in=WAITING_STATES)),
        oldest_waiting=Min("created_at", filter=Q(state__in=WAITING_STATES)),
        needs_attention=Count("pk", filter=Q(state=Order.State.NEEDS_ATTENTION)),
        failed=Count("pk", filter=Q(state=Order.State.FAILED)),
    )
    first_hour = truncate_to(now, timedelta(hours=1)) - timedelta(hours=23)
    first_day = truncate_to(now, day) - day * 6
    flows = [FlowLag(**probe(tenant)) for probe in FLOW_PROBES]
    return TenantFigures(
        tenant=tenant,
        as_of=now,
        oldest_in_flows=min((flow.oldest for flow in flows if flow.oldest), default=None),
        figures={
            "received": per_hour(Order.objects.all(), "created_at", first_day),
            "shipped": per_hour(
                Order.objects.filter(state__in=ON_ITS_WAY_OUT), "updated_at", first_hour
            ),
            "failed_attempts": per_hour(
                WorkAttempt.objects.exclude(outcome=WorkAttempt.Outcome.SUCCEEDED),
                "started_at",
                first_hour,
            ),
            "flows": [
                {
                    "name": flow.name,
                    "waiting": flow.waiting,
                    "oldest": flow.oldest.isoformat() if flow.oldest else None,
                }
                for flow in flows
            ],
            "reconciliation": last_reconciliation(),
            "reconciliation_queued": ReconciliationRun.objects.filter(
                state=ReconciliationRun.State.QUEUED
            ).exists(),
            metrics.FIGURES_KEY: metrics.tenant_series(now),
        },
        **figures,
    )


def refresh_figures(tenant: Tenant | None = None) -> TenantFigures:
    """Measure the current schema's tenant and store its row (one upsert). While work is on its
    way (orders, any flow, a reconciliation run) the schema is woken again a minute later, so
    the row follows the work to its end even when nothing else brings the sweeper back; a
    settled tenant is left alone."""
    if tenant is None:
        tenant = connection.tenant
        if not isinstance(tenant, Tenant):  # a schema_context gives a stand-in without a pk
            tenant = Tenant.objects.get(schema_name=connection.schema_name)
    row = measure_figures(tenant)
    TenantFigures.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["tenant"],
        update_fields=[
            "as_of", "waiting", "needs_attention", "failed", "oldest_waiting", "oldest_in_flows",
            "figures",
        ],
    )  # fmt: skip
    if (
        row.waiting
        or any(flow["waiting"] for flow in row.figures["flows"])
        or row.figures["reconciliation_queued"]
    ):
        sweeper.wake(row.as_of + timedelta(seconds=REFRESH_SECONDS))
    return row


def due_refresh(now: datetime, stale: datetime) -> list[tuple]:
    """The sweep job's question in a visited schema: one refresh a minute at most. The sweeper
    visits only tenants with work (or woken by `refresh_figures`), so an idle tenant's row is
    left as it is, and stays true: its windows move on when it is read."""
    return sweeper.once_every(REFRESH_KEY, REFRESH_SECONDS)


def figures_for_new_tenant(sender: type, instance: Tenant, created: bool, **kwargs: Any) -> None:
    """A new tenant has nothing yet: its row is written at once, without entering its schema."""
    if created and not instance.is_template and instance.schema_name != "public":
        TenantFigures.objects.get_or_create(tenant=instance, defaults={"as_of": timezone.now()})


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _hours(counts: dict[str, int] | None) -> dict[datetime, int]:
    return {datetime.fromisoformat(start): n for start, n in (counts or {}).items()}


def stored_health(tenant: Tenant, now: datetime) -> TenantHealth:
    """The platform page's row for `tenant`: its stored figures read at `now` (the hourly chart
    and the 24 h figures are this hour and the 23 before), with its stores as they are."""
    hour, day = timedelta(hours=1), timedelta(days=1)
    stores = [
        StoreState(m.store, now - m.store.last_polled_at if m.store.last_polled_at else None)
        for m in tenant.store_memberships.all()
    ]
    row: TenantFigures | None = getattr(tenant, "figures", None)
    if row is None:
        return TenantHealth(tenant, 0, 0, 0, None, 0, 0, stores=stores)
    figures = row.figures or {}
    received = _hours(figures.get("received"))
    last_hour = truncate_to(now, hour)
    starts = [last_hour - hour * (23 - i) for i in range(24)]
    hourly = [Bucket(start, received.get(start, 0)) for start in starts]
    zone = timezone.get_current_timezone()
    per_day: dict[date, int] = {}
    for start, n in received.items():
        local_day = start.astimezone(zone).date()
        per_day[local_day] = per_day.get(local_day, 0) + n
    days = [truncate_to(now, day) - day * (6 - i) for i in range(7)]
    daily = [Bucket(start, per_day.get(start.date(), 0)) for start in days]
    shipped = _hours(figures.get("shipped"))
    failed_attempts = _hours(figures.get("failed_attempts"))
    return TenantHealth(
        tenant=tenant,
        received_24h=sum(b.count for b in hourly),
        shipped_24h=sum(shipped.get(start, 0) for start in starts),
        waiting=row.waiting,
        oldest_waiting=row.oldest_waiting,
        needs_attention=row.needs_attention,
        failed=row.failed,
        hourly=hourly,
        daily=daily,
        failed_attempts_24h=sum(failed_attempts.get(start, 0) for start in starts),
        flows=[
            FlowLag(flow["name"], flow["waiting"], _moment(flow["oldest"]))
            for flow in figures.get("flows", [])
        ],
        stores=sorted(stores, key=lambda s: s.store.display_name),
        as_of=row.as_of,
    )


@dataclass(frozen=True)
class HealthPage:
    """One page of the platform's tenant health table, tenants needing a look first."""

    rows: list[TenantHealth]
    page: Page
    search: str

    @property
    def figures_as_of(self) -> str:
        """When this page's figures were measured: "10:42", "10:40–10:45", with the date when
        not today ("" when none are)."""
        moments = sorted(timezone.localtime(row.as_of) for row in self.rows if row.as_of)
        if not moments:
            return ""
        today = timezone.localdate()
        oldest, newest = (
            f"{m:%H:%M}" if m.date() == today else f"{m:%Y-%m-%d %H:%M}"
            for m in (moments[0], moments[-1])
        )
        return oldest if oldest == newest else f"{oldest}–{newest}"


def tenants_by_attention(search: str = "", now: datetime | None = None):
    """Active tenants, those needing a look first (parked or failed orders, a flow behind, a
    store not connected), then by name; `search` matches name or slug."""
    now = now or timezone.now()
    behind = now - LAGGING
    not_connected = StoreMembership.objects.filter(tenant=OuterRef("pk")).exclude(
        store__status=Store.Status.CONNECTED
    )
    tenants = sweeper.active_tenants()
    if search:
        tenants = tenants.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    return (
        tenants.select_related("figures")
        .prefetch_related(
            Prefetch("store_memberships", StoreMembership.objects.select_related("store"))
        )
        .annotate(
            attention=Case(
                When(
                    Q(figures__needs_attention__gt=0)
                    | Q(figures__failed__gt=0)
                    | Q(figures__oldest_waiting__lt=behind)
                    | Q(figures__oldest_in_flows__lt=behind)
                    | Exists(not_connected),
                    then=Value(0),
                ),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("attention", "name", "pk")
    )


def health_page(search: str = "", number: int | str = 1, per_page: int = PAGE_SIZE) -> HealthPage:
    """A page of stored tenant health: a count, the page's tenants with their figures, and their
    stores (three queries, whatever the number of tenants)."""
    now = timezone.now()
    page = Paginator(tenants_by_attention(search, now), per_page).get_page(number)
    return HealthPage([stored_health(t, now) for t in page.object_list], page, search)


def tenant_health() -> list[TenantHealth]:
    """The first page of every active tenant's stored health."""
    return health_page().rows
