"""Tenant figures stored in public: the sweeper's visit refreshes a tenant's row at most once a
minute, the platform front page and `/metrics` read the rows (a page at a time, tenants needing
a look first) with as many queries for thirty tenants as for three, and time windows read right
without measuring a quiet tenant again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery import current_app
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from core import sweeper
from core.models import SchemaWakeUp, WorkAttempt
from core.sweeper import sweep, wake
from orders.models import Order
from portal import flow_lag
from portal.tasks import refresh_tenant_figures
from tenants.models import Api2CartAccount, Store, StoreMembership, Tenant, TenantFigures
from tests.operations.test_metrics import samples
from tests.portal.test_dashboards import orders_at

TOKEN = "scrape-token-for-figures-0123456789"


@pytest.fixture
def refreshes(monkeypatch) -> list[str]:
    """Schemas the sweeper sent a figures refresh for (nothing reaches a broker)."""
    for schema in ("acme", "globex"):
        with schema_context(schema):
            cache.delete(flow_lag.REFRESH_KEY)
    sent: list[str] = []

    def send_task(name, args=(), countdown=None, **_):
        if name == flow_lag.REFRESH_TASK:
            sent.append(connection.schema_name)

    monkeypatch.setattr(current_app, "send_task", send_task)
    return sent


def quiet_tenants(count: int, start: int = 0) -> list[Tenant]:
    """Tenants as the public schema sees them (no schema of their own: the pages never enter
    one), each with a store and stored figures copied from a measured tenant."""
    account, _ = Api2CartAccount.objects.get_or_create(
        name="figures-bench", defaults={"api_key": "k"}
    )
    with schema_context("acme"):
        measured = flow_lag.measure_figures(Tenant.objects.get(schema_name="acme"))
    tenants = []
    for n in range(start, start + count):
        tenant = Tenant(schema_name=f"quiet_{n:03d}", slug=f"quiet-{n:03d}", name=f"Quiet {n:03d}")
        tenant.auto_create_schema = False
        tenant.save()
        store = Store.objects.create(
            name=f"quiet-shop-{n:03d}", display_name=f"Quiet shop {n:03d}", platform="Shopify",
            url="https://shop.example", account=account, store_key=f"k{n}",
        )  # fmt: skip
        StoreMembership.objects.create(store=store, tenant=tenant)
        TenantFigures.objects.filter(tenant=tenant).update(
            as_of=measured.as_of, figures=measured.figures
        )
        tenants.append(tenant)
    return tenants


def queries_of(fetch) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200
    connection.set_schema_to_public()
    return len(captured)


def test_a_visit_refreshes_the_tenants_row_at_most_once_a_minute_and_idle_ones_never(
    acme, globex, refreshes
):
    now = timezone.now()
    with schema_context("acme"):
        for number, state, age in (("F1", "routed", 20), ("F2", "failed", 5)):
            order = Order.objects.create(
                source=Order.Source.API, store_order_id=number, order_number=number, state=state
            )
            moment = now - timedelta(minutes=age)
            Order.objects.filter(pk=order.pk).update(created_at=moment, updated_at=moment)
        SchemaWakeUp.objects.all().delete()
        wake(now)  # what a writer of work does
    cache.set(sweeper.LAST_TICK_KEY, time.time())  # no slice of the safety net's full pass
    sweep()
    assert refreshes == ["acme"]  # globex, with nothing to do, is not measured again
    with schema_context("acme"):
        refresh_tenant_figures()  # as a worker runs the message, in the tenant's schema
    row = TenantFigures.objects.get(tenant=acme)
    assert (row.waiting, row.failed, row.needs_attention) == (1, 1, 0)
    assert timezone.now() - row.as_of < timedelta(seconds=30)
    assert timedelta(minutes=19) < timezone.now() - row.oldest_waiting < timedelta(minutes=21)
    flows = {flow["name"]: flow for flow in row.figures["flows"]}
    assert flows["Hub → ERP"]["waiting"] == 1
    assert row.figures["metrics"]["orders"] == {"routed": 1, "failed": 1}
    refreshes.clear()
    with schema_context("acme"):
        wake(now)
    cache.set(sweeper.LAST_TICK_KEY, time.time())
    sweep()
    assert refreshes == []  # within the minute


def test_a_tenant_is_woken_a_minute_on_while_work_is_on_its_way_and_not_once_settled(acme):
    SchemaWakeUp.objects.all().delete()
    with schema_context("acme"):
        flow_lag.refresh_figures(acme)
        assert not SchemaWakeUp.objects.exists()
        Order.objects.create(source=Order.Source.API, store_order_id="W1", order_number="W1")
        SchemaWakeUp.objects.all().delete()
        row = flow_lag.refresh_figures(acme)
    [again] = SchemaWakeUp.objects.filter(schema_name="acme").values_list("due_at", flat=True)
    assert again == row.as_of + timedelta(seconds=flow_lag.REFRESH_SECONDS)


def test_a_new_tenant_has_a_row_at_once_and_pages_never_enter_a_tenants_schema(
    platform_staff, acme
):
    [quiet] = quiet_tenants(1)
    assert TenantFigures.objects.get(tenant=quiet).waiting == 0
    with CaptureQueriesContext(connection) as captured:
        assert platform_staff.get("/admin/").status_code == 200
    connection.set_schema_to_public()
    assert not any("orders_order" in q["sql"] for q in captured)  # a tenant-only table


def test_time_windows_move_on_without_measuring_the_tenant_again(acme):
    orders_at("acme", timedelta(minutes=5), timedelta(hours=3), timedelta(days=2))
    with schema_context("acme"):
        WorkAttempt.objects.create(
            kind="orders.order", item_id=1, number=1, started_at=timezone.now(),
            duration_ms=10, outcome=WorkAttempt.Outcome.RETRY, upstream="m3",
        )  # fmt: skip
        flow_lag.refresh_figures(acme)
    tenant = Tenant.objects.select_related("figures").prefetch_related("store_memberships")
    acme = tenant.get(pk=acme.pk)
    now = flow_lag.stored_health(acme, timezone.now())
    assert (now.received_24h, now.shipped_24h, now.failed_attempts_24h) == (2, 2, 1)
    assert sum(b.count for b in now.daily) == 3
    tomorrow = flow_lag.stored_health(acme, timezone.now() + timedelta(hours=25))
    assert (tomorrow.received_24h, tomorrow.shipped_24h, tomorrow.failed_attempts_24h) == (0, 0, 0)
    assert sum(b.count for b in tomorrow.daily) == 3
    next_week = flow_lag.stored_health(acme, timezone.now() + timedelta(days=8))
    assert sum(b.count for b in next_week.daily) == 0


def test_the_platform_index_costs_the_same_for_three_tenants_or_thirty(platform_staff, acme):
    quiet_tenants(1)
    three = queries_of(lambda: platform_staff.get("/admin/"))
    quiet_tenants(27, start=1)
    thirty = queries_of(lambda: platform_staff.get("/admin/"))
    assert thirty == three
    assert thirty <= 30


def test_metrics_cost_the_same_for_three_tenants_or_thirty(settings, acme):
    settings.HUB_METRICS_TOKEN = TOKEN
    quiet_tenants(1)

    def scrape():
        return Client().get("/metrics", HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    three = queries_of(scrape)
    quiet_tenants(27, start=1)
    response = scrape()
    thirty = queries_of(scrape)
    assert thirty == three
    assert thirty <= 20
    found = samples(response)
    assert (
        found[("hub_work_items_waiting", (("kind", "orders.order"), ("tenant", "quiet-027")))] == 0
    )


def test_the_platform_index_pages_and_searches_tenants_needing_a_look_first(platform_staff, acme):
    quiet_tenants(55)
    TenantFigures.objects.filter(tenant__slug="quiet-042").update(failed=2)
    page = platform_staff.get("/admin/")
    rows = page.context["rows"]
    assert len(rows) == flow_lag.PAGE_SIZE
    assert rows[0].tenant.slug == "quiet-042" and not rows[0].healthy
    html = page.content.decode()
    assert "Page 1 of 2" in html and "tenants_page=2" in html
    assert "figures as of" in html

    second = platform_staff.get("/admin/?tenants_page=2").context["rows"]
    assert len(second) == page.context["health"].page.paginator.count - flow_lag.PAGE_SIZE

    found = platform_staff.get("/admin/?tenants=QUIET-01").context["rows"]
    assert [row.tenant.slug for row in found] == [f"quiet-{n:03d}" for n in range(10, 20)]
    assert [r.store.display_name for r in found[0].stores] == ["Quiet shop 010"]
