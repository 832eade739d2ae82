"""A new tenant onboarded end to end in headless Chromium, with nothing but the portal and the
sandbox's command line (`python -m sandbox add-...`, as the README's walkthrough does): the
platform admin creates the tenant and connects its store, the tenant admin works through the
first-run checklist, and a store order reaches the tenant's ShipStation. Screenshots go to
test-artifacts/browser/ (`onboarding-<step>-desktop.png`).

The hub runs as real processes (web, worker, beat) on the test database, so what the browser
creates is committed; the tenant, its schema and the store are removed again afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from playwright.sync_api import Page, expect, sync_playwright

from inbox.models import InboxItem
from sandbox.testing import SandboxHandle, start_sandbox
from tenants.models import Api2CartAccount, Store, StoreOrderPart, Tenant
from tests.browser.test_admin_in_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
from tests.support.harness import ROOT, HubProcesses, hub_env, wait_until

STAFF = ("onboarding-staff", "onboarding-staff-test-pw-3")
SLUG, STORE = "initech", "initech-shop"


@dataclass
class Hub:
    platform_url: str
    tenant_url: str
    sandbox: SandboxHandle
    work_dir: Path


def sandbox_cli(hub: Hub, *args: str) -> dict[str, str]:
    """Run a sandbox command as a person would; returns the `label: value` lines it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--url", hub.sandbox.url, *args],
        capture_output=True, text=True, cwd=hub.work_dir, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = {}
    for line in done.stdout.splitlines():
        label, sep, value = line.strip().partition(": ")
        if sep:
            printed[label] = value
    return printed


@pytest.fixture(scope="module")
def hub(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Hub]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    processes = None
    try:
        with django_db_blocker.unblock():
            hasher = PBKDF2PasswordHasher()
            get_user_model().objects.create(
                username=STAFF[0], is_staff=True, is_superuser=True,
                password=hasher.encode(STAFF[1], hasher.salt()),
            )  # fmt: skip
            env = hub_env(connection.settings_dict, settings.REDIS_URL)
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
        processes = HubProcesses(env, tmp_path_factory.mktemp("hub-logs"))
        public_url = f"http://localhost:{processes.web_port}"
        processes.env.update(HUB_PUBLIC_URL=public_url, HUB_BASE_DOMAIN="localhost")
        processes.start_web()
        processes.start_worker()
        processes.start_beat()
        yield Hub(
            public_url,
            f"http://{SLUG}.localhost:{processes.web_port}",
            sandbox,
            tmp_path_factory.mktemp("operator"),
        )
    finally:
        if processes is not None:
            processes.stop_all()
        sandbox.stop()
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            for tenant in Tenant.objects.filter(slug=SLUG):
                tenant.delete(force_drop=True)
            InboxItem.objects.filter(store__name=STORE).delete()
            StoreOrderPart.objects.filter(store__name=STORE).delete()
            Store.objects.filter(name=STORE).delete()
            Api2CartAccount.objects.filter(name="sandbox-onboarding").delete()
            get_user_model().objects.filter(username=STAFF[0]).delete()


@pytest.fixture(scope="module")
def page(hub: Hub) -> Iterator[Page]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"onboarding-{name}-desktop.png"), full_page=True)


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()


def save(page: Page) -> None:
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist li.success").first).to_be_visible()


def run_action(page: Page, changelist: str, action: str) -> None:
    """Tick every row of a (one-row) change list and run an admin action on them."""
    page.goto(changelist)
    page.check("#action-toggle")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def choose(page: Page, selector: str, text: str) -> None:
    """Pick an option by its visible text, whether the field is a select or a text input."""
    field = page.locator(selector)
    if field.evaluate("el => el.tagName") == "SELECT":
        field.select_option(label=text)
    else:
        field.fill(text)


def steps_to_do(page: Page) -> list[str]:
    return page.locator("#first-run-checklist tr.to-do th a").all_inner_texts()


def front_page_to_do(page: Page, hub: Hub) -> list[str]:
    page.goto(f"{hub.tenant_url}/admin/")
    return steps_to_do(page)


def shipstation_orders(shipstation: dict[str, str]) -> list[dict]:
    """The orders in the tenant's ShipStation account, read with the key pair it was given."""
    answer = requests.get(
        f"{shipstation['ShipStation base URL']}/orders",
        auth=(shipstation["ShipStation API key"], shipstation["ShipStation API secret"]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["orders"]


def platform_creates_the_tenant_and_connects_its_store(page: Page, hub: Hub) -> tuple[str, str]:
    """Returns the tenant admin's user name and the password shown once."""
    sign_in(page, hub.platform_url, *STAFF)
    page.goto(f"{hub.platform_url}/admin/tenants/tenant/add/")
    page.fill("#id_name", "Initech")
    page.fill("#id_slug", SLUG)
    page.fill("#id_admin_email", "ops@initech.test")
    page.click("input[name=_save]")
    expect(page.locator("h1")).to_have_text("Initech is ready")
    expect(page.locator(f'a[href="{hub.tenant_url}/admin/"]')).to_be_visible()
    password = page.locator("tr:has(th:text('Password')) code").inner_text()
    shot(page, "1-tenant-created")

    page.goto(f"{hub.platform_url}/admin/tenants/api2cartaccount/add/")
    page.fill("#id_name", "sandbox-onboarding")
    page.fill("#id_base_url", hub.sandbox.api_url("api2cart"))
    page.fill("#id_api_key", "sbx-a2c-account-key-7f3e")
    save(page)

    shop = sandbox_cli(hub, "add-store", STORE, "--products", "6", "--currency", "EUR")
    page.goto(f"{hub.platform_url}/admin/tenants/store/connect/")
    page.select_option("#id_platform", "Shopify")
    expect(page.locator("label[for=id_shopify_access_token]")).to_have_text(
        "Shopify Admin API access token:"
    )
    assert page.locator("#id_wc_consumer_key").count() == 0
    page.fill("#id_name", STORE)
    page.fill("#id_display_name", "Initech Shop")
    page.fill("#id_store_url", shop["Store URL"])
    page.fill("#id_shopify_access_token", shop["Shopify Admin API access token"])
    shot(page, "2-connect-store")
    page.click("#connect-store input[type=submit]")
    expect(page.locator("ul.messagelist li.success")).to_contain_text("Connected Initech Shop")

    page.click("text=Add another Store membership")
    page.click(".dynamic-memberships .select2-selection")
    page.fill(".select2-search__field", "Initech")
    page.click(".select2-results__option:has-text('Initech')")
    save(page)
    run_action(page, f"{hub.platform_url}/admin/tenants/store/?q={STORE}", "register_webhooks")
    expect(page.locator("ul.messagelist")).to_contain_text("subscribed order.add, order.update")
    return "ops@initech.test", password


def tenant_enters_its_connections(page: Page, hub: Hub) -> dict[str, str]:
    """Returns what `add-shipstation-account` printed."""
    erp = sandbox_cli(hub, "add-erp-tenant", SLUG, "--store", STORE)
    shipstation = sandbox_cli(hub, "add-shipstation-account", SLUG)
    page.click("#first-run-checklist a:text('ERP credentials')")
    page.set_input_files("#id_ionapi_file", erp["Upload .ionapi file"])
    for field, label in (
        ("erp_company", "ERP company (CONO)"), ("erp_division", "ERP division (DIVI)"),
        ("erp_warehouse", "Default warehouse (WHLO)"), ("erp_order_type", "Order type (ORTP)"),
        ("erp_customer_template", "Customer template (CUNO)"),
        ("erp_default_customer", "Default customer (CUNO)"),
    ):  # fmt: skip
        page.fill(f"#id_{field}", erp[label])
    page.fill("#id_shipstation_base_url", shipstation["ShipStation base URL"])
    page.fill("#id_shipstation_api_key", shipstation["ShipStation API key"])
    page.fill("#id_shipstation_api_secret", shipstation["ShipStation API secret"])
    save(page)
    page.click("button:text('Test connection')")
    messages = page.locator("ul.messagelist")
    expect(messages).to_contain_text("ERP: connected to ION tenant INITECH_TST.")
    expect(messages).to_contain_text("ERP customer template INTEMPLATE: found")
    expect(messages).to_contain_text(f"ERP company {erp['ERP company (CONO)']}: the template")
    expect(messages).to_contain_text("ERP warehouse 500: not checked")
    expect(messages).to_contain_text("ShipStation: connected (1 store(s) on the account).")
    assert page.locator("ul.messagelist li.warning").count() == 0
    shot(page, "4-connection-test")
    return shipstation


def tenant_maps_and_syncs(page: Page, hub: Hub) -> None:
    page.goto(f"{hub.tenant_url}/admin/invoicing/storestatusmapping/add/")
    page.select_option("#id_store", label="Initech Shop")
    choose(page, "#id_invoiced_status", "Completed")
    save(page)
    page.goto(f"{hub.tenant_url}/admin/shipping/carriermapping/add/")
    page.select_option("#id_store", label="Initech Shop")
    page.select_option("#id_origin", "shipstation")
    page.fill("#id_code", "ups")
    page.fill("#id_store_carrier_id", "ups")
    save(page)
    page.goto(f"{hub.tenant_url}/admin/catalog/storesync/add/")
    page.select_option("#id_store", label="Initech Shop")
    save(page)
    run_action(page, f"{hub.tenant_url}/admin/catalog/storesync/", "match_catalog")
    run_action(page, f"{hub.tenant_url}/admin/catalog/storesync/", "full_resync")


def test_a_new_tenant_is_onboarded_in_the_ui_and_its_first_order_reaches_shipstation(
    hub: Hub, page: Page
):
    username, password = platform_creates_the_tenant_and_connects_its_store(page, hub)

    sign_in(page, hub.tenant_url, username, password)
    expect(page.locator("#first-run-checklist")).to_contain_text("Getting started · 1 of 7 done")
    assert steps_to_do(page)[:2] == ["ERP credentials", "ShipStation credentials"]
    shot(page, "3-checklist")

    shipstation = tenant_enters_its_connections(page, hub)
    tenant_maps_and_syncs(page, hub)
    wait_until(lambda: "Catalog sync run" not in front_page_to_do(page, hub), 120, interval=2)
    assert steps_to_do(page) == ["A test order"]
    shot(page, "5-checklist-before-order")

    placed = subprocess.run(
        [sys.executable, "-m", "sandbox", "--url", hub.sandbox.url, "place-orders",
         "--store", STORE, "--count", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert placed.returncode == 0, placed.stderr
    in_shipstation = wait_until(lambda: shipstation_orders(shipstation), 180, interval=2)
    assert len(in_shipstation) == 1
    page.goto(f"{hub.tenant_url}/admin/orders/order/")
    page.locator("#result_list tbody tr a").first.click()
    expect(page.locator("#content")).to_contain_text(in_shipstation[0]["orderNumber"])
    shot(page, "6-first-order")

    wait_until(lambda: not front_page_to_do(page, hub), 60, interval=2)
    expect(page.locator("#order-dashboard")).to_be_visible()
    assert page.locator("#first-run-checklist").count() == 0
    shot(page, "7-ready")
