"""Front pages: orders per hour and per day as charts, flow lag, store connections, isolation."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from core.models import WorkAttempt
from orders.models import Order
from portal.flow_lag import refresh_figures
from tenants.models import Api2CartAccount, Store, StoreMembership


def orders_at(schema: str, *ages: timedelta, state: str = Order.State.SENT_TO_SHIPSTATION) -> None:
    now = timezone.now()
    with schema_context(schema):
        for n, age in enumerate(ages):
            order = Order.objects.create(
                source=Order.Source.API, store_order_id=f"D{n}", order_number=f"D{n}", state=state
            )
            Order.objects.filter(pk=order.pk).update(created_at=now - age, updated_at=now - age)


def store_of(tenant, status: str = Store.Status.CONNECTED) -> Store:
    account = Api2CartAccount.objects.create(name=f"acc-{tenant.slug}", api_key="k")
    store = Store.objects.create(
        name=f"{tenant.slug}-shop", display_name=f"{tenant.name} shop", platform="Shopify",
        url="https://shop.example", account=account, store_key="k", status=status,
        status_message="API2Cart refused the store key" if status != "connected" else "",
        last_polled_at=timezone.now() - timedelta(minutes=3),
    )  # fmt: skip
    StoreMembership.objects.create(store=store, tenant=tenant)
    return store


def bars(html: str) -> list[str]:
    return re.findall(r"<title>([^<]*order[^<]*)</title>", html)


def test_the_tenant_front_page_charts_orders_per_hour_and_day(acme_admin, acme):
    ages = (timedelta(minutes=1), timedelta(minutes=2), timedelta(hours=3), timedelta(days=3),
            timedelta(days=9))  # fmt: skip
    orders_at("acme", *ages)
    now = timezone.now()
    this_hour = sum(now - age >= now.replace(minute=0, second=0, microsecond=0) for age in ages)
    today = sum(now - age >= now.replace(hour=0, minute=0, second=0, microsecond=0) for age in ages)
    page = acme_admin.get("/admin/")
    assert page.status_code == 200
    health = page.context["orders"].health
    assert health.hourly[-1].count == this_hour
    assert sum(b.count for b in health.hourly) == 3 and len(health.hourly) == 24
    assert sum(b.count for b in health.daily) == 4 and len(health.daily) == 7
    assert health.daily[-1].count == today
    html = page.content.decode()
    assert html.count('<svg class="bar-chart"') == 2
    assert len(bars(html)) == 24 + 7
    assert any(
        title.startswith(health.daily[-1].start.strftime("%a")) and f": {today} order" in title
        for title in bars(html)
    )
    assert 'data-live-refresh="30"' in html and "X-Live-Refresh" in html


def test_flow_lag_failures_and_store_connection_show_on_the_tenant_page(acme_admin, acme):
    orders_at("acme", timedelta(minutes=40), state=Order.State.ROUTED)
    store_of(acme, Store.Status.DISCONNECTED)
    with schema_context("acme"):
        WorkAttempt.objects.create(
            kind="orders.order", item_id=1, number=1, started_at=timezone.now(),
            duration_ms=12, outcome=WorkAttempt.Outcome.RETRY, upstream="m3", error="timeout",
        )  # fmt: skip
    page = acme_admin.get("/admin/")
    health = page.context["orders"].health
    flows = {flow.name: flow for flow in health.flows}
    assert {"Store → hub", "Hub → ERP", "ERP → ShipStation", "Shipments → store",
            "Invoiced → store"} <= set(flows)  # fmt: skip
    assert flows["Hub → ERP"].waiting == 1 and flows["Hub → ERP"].behind
    assert not flows["ERP → ShipStation"].behind
    assert health.failed_attempts_24h == 1
    assert health.disconnected_stores == 1 and not health.healthy
    html = page.content.decode()
    assert "Disconnected</span> API2Cart refused the store key" in html
    assert "last polled" in html
    assert '<a href="/admin/core/workattempt/?outcome=failures">1</a>' in html
    attempts = acme_admin.get("/admin/core/workattempt/?outcome=failures")
    assert attempts.status_code == 200
    listed = attempts.content.decode()
    assert "timeout" in listed and 'href="/admin/orders/order/1/change/"' in listed


def test_a_tenant_sees_only_its_own_figures(globex_admin, acme, globex):
    orders_at("acme", timedelta(minutes=5))
    store_of(acme)
    page = globex_admin.get("/admin/")
    health = page.context["orders"].health
    assert sum(b.count for b in health.hourly) == 0
    assert health.stores == []
    assert "Acme Ltd shop" not in page.content.decode()


def test_the_platform_page_charts_every_tenant(platform_staff, acme, globex):
    """From the figures stored when the sweeper last visited each tenant."""
    orders_at("acme", timedelta(minutes=5), timedelta(hours=30))
    store_of(globex, Store.Status.DISCONNECTED)
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            refresh_figures(tenant)
    page = platform_staff.get("/admin/")
    assert page.status_code == 200
    rows = {row.tenant.slug: row for row in page.context["rows"]}
    assert sum(b.count for b in rows["acme"].hourly) == 1
    assert sum(b.count for b in rows["acme"].daily) == 2
    assert rows["acme"].shipped_24h == 1
    assert rows["acme"].healthy and not rows["globex"].healthy
    html = page.content.decode()
    assert html.count('<svg class="bar-chart"') == 4
    assert 'id="tenant-health" data-live-refresh="60"' in html


def test_the_portal_registers_the_front_page_panel_with_every_apps_flows():
    """The tenant site knows no business app: the portal registers the panel it draws, and reads
    the flows shipping and invoicing offer."""
    from core.admin_sites import tenant_admin
    from invoicing.admin import invoiced_to_store
    from portal import flow_lag
    from portal.front_page import order_dashboard
    from shipping.admin import shipments_to_store

    panels = [(p.name, p.permission, p.figures) for p in tenant_admin.front_page_panels]
    assert ("orders", "orders.view_order", order_dashboard) in panels
    assert flow_lag.FLOW_PROBES[-2:] == [shipments_to_store, invoiced_to_store]
