"""A tenant admin in a real browser (headless Chromium): dashboard, an order, needs attention,
and "Generate invoice" against the sandbox's ERP. Screenshots go to test-artifacts/browser/.

The hub runs as its own web process on the test database (as in the end-to-end tests), so the
rows this test arranges are committed and removed again afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect, sync_playwright

from catalog.models import ItemBinding, SyncRun
from connectors.ionapi import parse_ionapi
from connectors.m3 import M3Client, NewM3OrderHead, NewM3OrderLine
from demo.seed import configure_tenant
from invoicing.models import Invoice, StoreStatusUpdate
from orders.models import Order, OrderEvent, OrderLine
from sandbox import demo_data
from sandbox.testing import start_sandbox
from tenants.models import Api2CartAccount, Store
from tests.support.harness import ROOT, HubProcesses, hub_env

# Debian's Chromium, or the one `make test` found or installed (scripts/services.py).
CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
USERNAME, PASSWORD = "browser-admin@acme.test", "browser-admin-test-pw-7"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SHIP_TO = {"name": "Ada Lovelace", "company": "Analytical Engines", "street1": "12 High St",
           "city": "Leeds", "postal_code": "LS1 4AP", "country": "GB"}  # fmt: skip


@dataclass
class Arranged:
    web_url: str
    shipped: Order
    parked: Order


def _erp_order_delivered(sandbox) -> tuple[str, str]:
    """An order confirmed and delivered in the sandbox's M3; returns (order, customer)."""
    acme = demo_data.tenant("acme")
    ionapi = json.dumps(demo_data.ionapi_file("acme", sandbox.url))
    m3 = M3Client(parse_ionapi(ionapi), company=acme.company, division=acme.division)
    item = demo_data.products("acme")[0].sellable_skus[0]
    temporary = m3.add_batch_head(NewM3OrderHead(acme.default_customer, customer_order_ref="BR1"))
    m3.add_batch_lines(temporary, [NewM3OrderLine(item, Decimal(2))])
    erp_order = m3.confirm_order(temporary)
    sandbox.control("m3", "deliver", order=erp_order)
    return erp_order, acme.default_customer


def _tenant_admin() -> None:
    """A tenant admin the web process can check: the tests' own hasher is not in its settings."""
    hasher = PBKDF2PasswordHasher()
    user = get_user_model().objects.create(
        username=USERNAME, is_staff=True, password=hasher.encode(PASSWORD, hasher.salt())
    )
    user.groups.add(Group.objects.get(name="Tenant admin"))


def _orders(erp_order: str, customer: str) -> tuple[Order, Order]:
    item = demo_data.products("acme")[0].sellable_skus[0]
    shipped = Order.objects.create(
        source=Order.Source.API, store_order_id="BROWSER-1", order_number="BROWSER-1",
        state=Order.State.SHIPPED, ship_to=SHIP_TO, customer_email="ada@example.com",
        currency="GBP", subtotal=Decimal("39.98"), total=Decimal("39.98"),
        erp_customer_number=customer, erp_order_number=erp_order,
    )  # fmt: skip
    OrderLine.objects.create(order=shipped, line_number=1, sku=item, name="Demo item",
                             quantity=2, unit_price=Decimal("19.99"))  # fmt: skip
    OrderEvent.objects.create(order=shipped, step="received", message="Received from Order API")
    for attempt in range(1, 13):
        OrderEvent.objects.create(
            order=shipped, step="retry_scheduled", outcome=OrderEvent.Outcome.WARNING,
            message=f"Attempt {attempt} failed (ERP busy); retrying in {attempt * 4} s.",
        )  # fmt: skip
    OrderEvent.objects.create(order=shipped, step="in_erp", message=f"ERP order {erp_order}",
                              upstream_ref=erp_order)  # fmt: skip
    parked = Order.objects.create(
        source=Order.Source.API, store_order_id="BROWSER-2", order_number="BROWSER-2",
        state=Order.State.NEEDS_ATTENTION, ship_to=SHIP_TO, state_message="Unknown item XYZ",
        last_error="Unknown item XYZ",
        last_error_hint="Bind the SKU(s) to ERP items in Catalog › Item bindings, then retry.",
    )  # fmt: skip
    return shipped, parked


@pytest.fixture(scope="module")
def arranged(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Arranged]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    web = None
    try:
        with django_db_blocker.unblock():
            configure_tenant(demo_data.tenant("acme"), sandbox.url)
            erp_order, customer = _erp_order_delivered(sandbox)
            account = Api2CartAccount.objects.create(name="browser-test", api_key="k")
            store = Store.objects.create(
                name="browser-shop", display_name="Browser shop", platform="Shopify",
                url="https://shop.example", account=account, store_key="k",
            )  # fmt: skip
            with schema_context("acme"):
                _tenant_admin()
                shipped, parked = _orders(erp_order, customer)
                for sku in ("BR-ANVIL", "BR-BOLT"):
                    ItemBinding.objects.create(store=store, sku=sku, erp_item_number=sku[3:])
                SyncRun.objects.create(
                    store=store, mode=SyncRun.Mode.FULL, state=SyncRun.State.PUSHING,
                    items_total=400, items_done=100,
                    started_at=timezone.now() - timedelta(minutes=1),
                )  # fmt: skip
            env = hub_env(connection.settings_dict, settings.REDIS_URL)
        web = HubProcesses(env, tmp_path_factory.mktemp("web-logs"))
        web.start_web()
        yield Arranged(f"http://acme.localhost:{web.web_port}", shipped, parked)
    finally:
        if web is not None:
            web.stop_all()
        sandbox.stop()
        with django_db_blocker.unblock():
            with schema_context("acme"):
                StoreStatusUpdate.objects.all().delete()
                Invoice.objects.all().delete()
                Order.objects.filter(order_number__startswith="BROWSER-").delete()
                ItemBinding.objects.filter(sku__startswith="BR-").delete()
                SyncRun.objects.filter(store__name="browser-shop").delete()
                get_user_model().objects.filter(username=USERNAME).delete()
            Store.objects.filter(name="browser-shop").delete()
            Api2CartAccount.objects.filter(name="browser-test").delete()


@pytest.fixture(scope="module")
def page(arranged: Arranged) -> Iterator[Page]:
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: apt-get install chromium (`make test` does)"
    )
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()


def shot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_a_tenant_admin_works_through_the_portal_in_a_browser(arranged: Arranged, page: Page):
    page.goto(f"{arranged.web_url}/admin/login/?next=/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    expect(page.locator("#order-dashboard")).to_be_visible()
    assert page.locator("#order-dashboard svg.bar-chart").count() == 2
    expect(page.locator("#flow-lag")).to_contain_text("Hub → ERP")
    assert shot(page, "1-dashboard").stat().st_size > 10_000
    work = page.locator("#long-work tr.long-work-item")
    expect(work).to_contain_text("100 / 400 (25 %)")
    expect(work).to_contain_text(re.compile(r"about \d+ min left"))
    page.wait_for_selector("#long-work[data-refreshed-at]", state="attached", timeout=15_000)
    expect(work).to_contain_text("Full reconciliation")

    page.goto(f"{arranged.web_url}/admin/orders/order/{arranged.shipped.pk}/change/")
    expect(page.locator("#ship-to address")).to_contain_text("Analytical Engines")
    expect(page.locator("#order-timeline")).to_contain_text("seen 12 times")
    assert page.locator("#order-timeline tr.timeline-row").count() == 3
    assert page.locator("input[name=_save]").count() == 0
    shot(page, "2-order")

    page.goto(f"{arranged.web_url}/admin/orders/order/needs-attention/")
    item = page.locator("tr.attention-item", has_text="BROWSER-2")
    expect(item).to_contain_text("Bind the SKU(s)")
    assert item.locator("a.next-step").get_attribute("href") == "/admin/catalog/itembinding/"
    shot(page, "3-needs-attention")

    page.goto(f"{arranged.web_url}/admin/orders/order/{arranged.shipped.pk}/change/")
    page.select_option("#order-action", "generate_invoices")
    page.click("#order-actions button[type=submit]")
    expect(page.locator("ul.messagelist")).to_contain_text("ERP invoice")
    assert page.url.endswith(f"/admin/orders/order/{arranged.shipped.pk}/change/")
    expect(page.locator("#order-timeline")).to_contain_text("Generate invoice")
    shot(page, "4-invoice-generated")

    page.goto(f"{arranged.web_url}/admin/invoicing/invoice/")
    assert page.locator("#result_list tbody tr", has_text="BROWSER-1").count() == 1
    shot(page, "5-invoices")

    page.goto(f"{arranged.web_url}/admin/orders/order/add/")
    for field, value in {
        "#id_order_number": "BROWSER-3", "#id_email": "grace@example.com",
        "#id_currency": "GBP", "#id_ship_to-name": "Grace Hopper",
        "#id_ship_to-street1": "1 Navy Way", "#id_ship_to-city": "Arlington",
        "#id_ship_to-postal_code": "22202", "#id_ship_to-country": "US",
        "#id_lines-0-quantity": "3", "#id_lines-0-unit_price": "4.25",
    }.items():  # fmt: skip
        page.fill(field, value)
    page.locator("#id_lines-0-sku").press_sequentially("anv")
    expect(page.locator("#tenant-skus option")).to_have_count(1)
    assert page.locator("#tenant-skus option").get_attribute("value") == "BR-ANVIL"
    page.fill("#id_lines-0-sku", "BR-ANVIL")
    page.click("#add-line")
    page.fill("#id_lines-3-sku", "BR-BOLT")
    page.fill("#id_lines-3-quantity", "1")
    page.fill("#id_lines-3-unit_price", "0.80")
    shot(page, "6-add-order")
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist")).to_contain_text("BROWSER-3 accepted")
    expect(page.locator("#ship-to address")).to_contain_text("Grace Hopper")
    expect(page.locator("#order-lines")).to_contain_text("BR-ANVIL")
    expect(page.locator("#order-lines")).to_contain_text("BR-BOLT")
    shot(page, "7-order-typed-in")
