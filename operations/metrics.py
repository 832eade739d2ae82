"""Prometheus metrics for operators.

Two sources, both safe with many server processes:

* Webhook answers are counted where they happen (`count_webhooks` wraps the webhook views). With
  `PROMETHEUS_MULTIPROC_DIR` set (gunicorn and other pre-forking servers) prometheus_client keeps
  each process's counts in files there and a scrape adds them up; without it, the one process's
  counts are served.
* Everything else is read from the database and Redis at scrape time (`HubCollector`): orders by
  state, upstream calls with their errors and latency, inbox items, queue depth and the age of
  the oldest waiting work item, per tenant. Nothing to keep in step between processes.

A scrape never enters a tenant's schema: the per-tenant figures are measured there by
`tenant_series` when the sweeper visits the tenant (at most once a minute; the portal stores them
in the public `TenantFigures` row under `FIGURES_KEY`) and read back for every tenant in one
query, so a scrape costs the same with three tenants or a thousand. What depends on the time of
the scrape is kept as moments and per-minute counts: an age is "now" minus the moment, and the
recent calls are the minutes still inside the window.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncMinute
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.models import Alert
from core import work
from core.models import WorkAttempt
from core.sweeper import active_tenants
from inbox.models import InboxItem
from invoicing.models import StoreStatusUpdate
from orders.models import CsvImport, Order
from reconciliation.models import Finding, ReconciliationRun
from shipping.models import Shipment
from tenants.models import Store, TenantFigures

RECENT = timedelta(minutes=15)
"""Upstream calls are reported over this window (attempt rows are pruned, so no lifetime total)."""

WEBHOOKS = Counter(
    "hub_webhooks",
    "Webhook deliveries answered, by source and outcome (accepted or refused).",
    ["source", "outcome"],
    registry=None,
)

TENANT_WORK = (Order, Shipment, StoreStatusUpdate, CsvImport)
"""Kinds of work kept in tenant schemas whose waiting items are reported."""

FIGURES_KEY = "metrics"
"""Where `tenant_series` is kept in a tenant's stored figures (`TenantFigures.figures`)."""


def count_webhooks(source: str) -> Callable:
    """Count each answer of a webhook view: 2xx accepted, anything else refused."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        # Both series are looked up once: `labels()` takes a lock and builds a key per call.
        accepted = WEBHOOKS.labels(source, "accepted")
        refused = WEBHOOKS.labels(source, "refused")

        @functools.wraps(view)
        def counted(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            (accepted if 200 <= response.status_code < 300 else refused).inc()
            return response

        return counted

    return decorate


def tenant_series(now: datetime) -> dict[str, Any]:
    """The current schema's (a tenant's) figures for `/metrics`, as stored between scrapes:
    orders by state, recent upstream calls per minute, waiting work with its oldest moment and
    the last finished reconciliation's mismatches."""
    calls = (
        WorkAttempt.objects.filter(started_at__gte=now - RECENT)
        .exclude(upstream="")
        .annotate(minute=TruncMinute("started_at"))
        .values_list("minute", "upstream", "outcome")
        .annotate(n=Count("pk"), total=Sum("duration_ms"), top=Max("duration_ms"))
        .order_by()
    )
    waiting = {}
    for model in TENANT_WORK:
        try:
            kind = work.kind_of(model)
        except KeyError:  # a kind whose app did not register it in this process
            continue
        figures = model.objects.filter(state__in=kind.work_states).aggregate(
            n=Count("pk"), first=Min(kind.age_field)
        )
        first = figures["first"].isoformat() if figures["first"] else None
        waiting[kind.label] = [figures["n"], first]
    counts = (
        ReconciliationRun.objects.filter(state=ReconciliationRun.State.DONE)
        .values_list("counts", flat=True)
        .first()
    )
    return {
        "orders": dict(Order.objects.values_list("state").annotate(n=Count("pk")).order_by()),
        "calls": [
            [minute.isoformat(), upstream, outcome, n, total, top]
            for minute, upstream, outcome, n, total, top in calls
        ],
        "waiting": waiting,
        "mismatches": counts,
    }


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class HubCollector(Collector):
    """Reads the hub's state at scrape time: every active tenant's stored figures in one query,
    then the public schema's own figures and the broker."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        orders = _gauge("hub_orders", "Orders by state.", ["tenant", "state"])
        calls = _gauge(
            "hub_upstream_calls_recent",
            "Work attempts that called an upstream in the last 15 minutes, by outcome.",
            ["tenant", "upstream", "outcome"],
        )
        latency = _gauge(
            "hub_upstream_call_seconds_recent",
            "Duration of those attempts in the last 15 minutes (avg and max).",
            ["tenant", "upstream", "stat"],
        )
        oldest = _gauge(
            "hub_oldest_work_item_age_seconds",
            "Age of the oldest item still waiting for a worker, by kind.",
            ["tenant", "kind"],
        )
        waiting = _gauge(
            "hub_work_items_waiting", "Items waiting for a worker.", ["tenant", "kind"]
        )
        mismatches = _gauge(
            "hub_reconciliation_mismatches",
            "Mismatches the last finished reconciliation found, by kind (its stored counts).",
            ["tenant", "kind"],
        )
        stored = (
            TenantFigures.objects.filter(tenant__in=active_tenants())
            .order_by("tenant__slug")
            .values_list("tenant__slug", f"figures__{FIGURES_KEY}")
        )
        for slug, series in stored:
            if not series:
                continue
            for state, n in series["orders"].items():
                orders.add_metric([slug, state], n)
            self._calls(slug, now, series["calls"], calls, latency)
            for label, (n, first) in series["waiting"].items():
                waiting.add_metric([slug, label], n)
                age = (now - datetime.fromisoformat(first)).total_seconds() if first else 0.0
                oldest.add_metric([slug, label], age)
            self._mismatches(slug, series["mismatches"], mismatches)
        self._waiting("", InboxItem, now, oldest, waiting)
        yield from (orders, calls, latency, oldest, waiting, mismatches)
        yield from self._platform()

    def _mismatches(self, tenant: str, counts: dict | None, mismatches) -> None:
        """Every kind, 0 included, once a run has finished: an alert can watch `> 0`."""
        if counts is None:
            return
        for kind in Finding.Kind.values:
            mismatches.add_metric([tenant, kind], counts.get(kind, 0))

    def _calls(self, tenant: str, now: datetime, minutes: list, calls, latency) -> None:
        """The stored minutes still inside the window (the one it starts in included)."""
        window = now - RECENT - timedelta(minutes=1)
        counted: dict[tuple[str, str], int] = {}
        spans: dict[str, tuple[float, float, int]] = {}
        for minute, upstream, outcome, n, total_ms, top_ms in minutes:
            if datetime.fromisoformat(minute) <= window:
                continue
            counted[upstream, outcome] = counted.get((upstream, outcome), 0) + n
            total, top, count = spans.get(upstream, (0.0, 0.0, 0))
            spans[upstream] = (total + total_ms, max(top, top_ms), count + n)
        for (upstream, outcome), n in counted.items():
            calls.add_metric([tenant, upstream, outcome], n)
        for upstream, (total, top, n) in spans.items():
            latency.add_metric([tenant, upstream, "avg"], total / n / 1000)
            latency.add_metric([tenant, upstream, "max"], top / 1000)

    def _waiting(self, tenant: str, model, now, oldest, waiting) -> None:
        try:
            kind = work.kind_of(model)
        except KeyError:  # a kind whose app did not register it in this process
            return
        figures = model.objects.filter(state__in=kind.work_states).aggregate(
            n=Count("pk"), first=Min(kind.age_field)
        )
        waiting.add_metric([tenant, kind.label], figures["n"])
        age = (now - figures["first"]).total_seconds() if figures["first"] else 0.0
        oldest.add_metric([tenant, kind.label], age)

    def _platform(self) -> Iterator[GaugeMetricFamily]:
        inbox = _gauge("hub_inbox_items", "Inbox items by source and state.", ["source", "state"])
        for source, state, n in InboxItem.objects.values_list("source", "state").annotate(
            n=Count("pk")
        ):
            inbox.add_metric([source, state], n)
        stores = _gauge("hub_stores", "Stores by connection state.", ["status"])
        for status, n in Store.objects.values_list("status").annotate(n=Count("pk")):
            stores.add_metric([status], n)
        alerts = _gauge(
            "hub_alerts_open", "Alert episodes still open, by tenant and kind.", ["tenant", "kind"]
        )
        open_alerts = Alert.objects.filter(resolved_at__isnull=True)
        for slug, kind, n in open_alerts.values_list("tenant__slug", "kind").annotate(
            n=Count("pk")
        ):
            alerts.add_metric([slug or "", kind], n)
        queues = _gauge("hub_queue_depth", "Messages waiting in each Celery queue.", ["queue"])
        up = _gauge("hub_broker_up", "1 when the Celery broker answered this scrape.", [])
        try:
            broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
            with broker.pipeline(transaction=False) as pipe:
                names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
                for name in names:
                    pipe.llen(name)
                depths = pipe.execute()
            for name, depth in zip(names, depths, strict=True):
                queues.add_metric([name], depth)
            up.add_metric([], 1)
        except redis.RedisError:
            up.add_metric([], 0)
        yield from (inbox, stores, alerts, queues, up)


def exposition() -> bytes:
    """The text a scrape gets: webhook counters of every process, then the hub's state."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(WEBHOOKS)
    registry.register(HubCollector())
    return generate_latest(registry)
