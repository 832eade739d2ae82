"""The portal's main pages in headless Chromium at a desktop (1440×900) and a phone (390×844):
each is styled (its stylesheets load), no wider than the screen, with no text squeezed to a
letter per line, and shows its key content, the order list its state and date columns in view.
Screenshots go to test-artifacts/browser/ (`layout-<page>-desktop.png`, `-phone.png`).

The hub runs as its own web process on the test database, so the rows arranged here are
committed and removed again afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from playwright.sync_api import Browser, Page, Request, Response, sync_playwright

from inbox.models import InboxItem
from invoicing.models import Invoice
from orders.models import CsvImport, Order
from tenants.models import Api2CartAccount, Store, StoreMembership, Tenant
from tests.browser.test_admin_in_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
from tests.support.harness import HubProcesses, hub_env

TENANT_ADMIN = ("layout-admin@acme.test", "layout-admin-test-pw-3")
PLATFORM_STAFF = ("layout-platform", "layout-platform-test-pw-5")
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
ERP_REFUSAL = (
    "The ERP refused the order head: code 109, status 'Invoiced' is not a valid order status "
    "for this store (OIS100MI/AddBatchHead). "
)
SHIP_TO = {"name": "Ada Lovelace", "street1": "12 High St", "city": "Leeds",
           "postal_code": "LS1 4AP", "country": "GB"}  # fmt: skip


@dataclass
class Site:
    platform_url: str
    tenant_url: str
    parked: Order
    invoice_id: int


def _user(username: str, password: str, **flags: bool):
    """A user the web process can check: the tests' own hasher is not in its settings."""
    hasher = PBKDF2PasswordHasher()
    return get_user_model().objects.create(
        username=username, is_staff=True, password=hasher.encode(password, hasher.salt()), **flags
    )


def _orders() -> Order:
    """Parked orders with long messages, and ones on their way; returns a parked one."""
    for number, state, repeat in (
        ("LAYOUT-1", Order.State.NEEDS_ATTENTION, 3),
        ("LAYOUT-2", Order.State.FAILED, 1),
        ("LAYOUT-3", Order.State.SENT_TO_SHIPSTATION, 0),
        ("LAYOUT-4", Order.State.SHIPPED, 0),
    ):
        Order.objects.create(
            source=Order.Source.API, store_order_id=number, order_number=number, state=state,
            ship_to=SHIP_TO, currency="GBP", total=Decimal("12.50"),
            state_message=ERP_REFUSAL * repeat, last_error=ERP_REFUSAL * repeat,
            last_error_hint="Fix Invoicing › Store status mappings, then retry." if repeat else "",
            erp_order_number="" if repeat else f"100000{number[-1]}",
        )  # fmt: skip
    shipped = Order.objects.get(order_number="LAYOUT-4")
    Invoice.objects.create(
        order=shipped, erp_invoice_number="LAYOUT-INV-1", year=2026, currency="GBP",
        amount=Decimal("12.50"), remaining_amount=Decimal("12.50"),
    )  # fmt: skip
    return Order.objects.get(order_number="LAYOUT-1")


def _disconnected_store() -> Store:
    account = Api2CartAccount.objects.create(name="layout-test", api_key="k")
    store = Store.objects.create(
        name="layout-northwind-market", display_name="Northwind Market Layout Test",
        platform="Shopify", url="https://layout.example", account=account, store_key="k",
        status=Store.Status.DISCONNECTED, status_changed_at=timezone.now(),
        status_message="API2Cart: store key not valid or app access revoked (code 12); "
        "reconnect the store in API2Cart's panel",
    )  # fmt: skip
    StoreMembership.objects.create(store=store, tenant=Tenant.objects.get(slug="acme"))
    InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK, dedupe_key="layout-1", store=store, entity="order",
        action="add", entity_id="L1", state=InboxItem.State.NEEDS_ATTENTION,
        last_error="No tenant owns the SKU ZZ-1 of this order.",
    )  # fmt: skip
    return store


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Site]:
    web = None
    try:
        with django_db_blocker.unblock():
            _user(*PLATFORM_STAFF, is_superuser=True)
            _disconnected_store()
            with schema_context("acme"):
                _user(*TENANT_ADMIN).groups.add(Group.objects.get(name="Tenant admin"))
                parked = _orders()
                invoice_id = Invoice.objects.get(erp_invoice_number="LAYOUT-INV-1").pk
            env = hub_env(connection.settings_dict, settings.REDIS_URL)
        web = HubProcesses(env, tmp_path_factory.mktemp("web-logs"))
        web.start_web()
        yield Site(
            f"http://localhost:{web.web_port}",
            f"http://acme.localhost:{web.web_port}",
            parked,
            invoice_id,
        )
    finally:
        if web is not None:
            web.stop_all()
        with django_db_blocker.unblock():
            with schema_context("acme"):
                Invoice.objects.filter(erp_invoice_number__startswith="LAYOUT-").delete()
                CsvImport.objects.filter(uploaded_by=TENANT_ADMIN[0]).delete()
                Order.objects.filter(order_number__startswith="LAYOUT-").delete()
                get_user_model().objects.filter(username=TENANT_ADMIN[0]).delete()
            get_user_model().objects.filter(username=PLATFORM_STAFF[0]).delete()
            InboxItem.objects.filter(dedupe_key__startswith="layout-").delete()
            Store.objects.filter(name="layout-northwind-market").delete()
            Api2CartAccount.objects.filter(name="layout-test").delete()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


SQUEEZED_TEXT = """() => Array.from(document.querySelectorAll('body *')).filter(el => {
    const own = Array.from(el.childNodes)
        .filter(n => n.nodeType === Node.TEXT_NODE)
        .map(n => n.textContent.trim()).join('');
    if (own.length < 3) return false;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const em = parseFloat(style.fontSize);
    const inner = box.width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (!box.width || style.visibility === 'hidden') return false;
    return inner < 1.5 * em && box.height > 2 * em;  // room for two letters at most, wrapped
}).map(el => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`)"""

CELL_IN_VIEW = """cell => {
    const box = cell.getBoundingClientRect();
    const results = cell.closest('.results').getBoundingClientRect();
    return box.width > 0 && box.left >= results.left - 1 && box.right <= results.right + 1
        && box.right <= window.innerWidth;
}"""


class PageCheck:
    """What one visit found wrong, gathered so a run reports every page and width at once."""

    def __init__(self, page: Page, width: str) -> None:
        self.page, self.width = page, width
        self.problems: list[str] = []
        self.failed_static: list[str] = []
        self.outside: list[str] = []
        page.on("response", self._response)
        page.on("request", self._request)

    def _response(self, response: Response) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.failed_static.append(f"{response.status} {response.url}")

    def _request(self, request: Request) -> None:
        if not request.url.startswith(("http://localhost:", "http://acme.localhost:", "data:")):
            self.outside.append(request.url)

    def visit(self, name: str, url: str, key_content: Callable[[Page], list[str]]) -> None:
        """Open `url`, leave its screenshot, note what is wrong with it."""
        page = self.page
        self.failed_static.clear()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"layout-{name}-{self.width}.png"), full_page=True)
        problems = [*self.failed_static]
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > page.viewport_size["width"]:
            problems.append(f"page is {scroll_width} px wide")
        problems += [f"squeezed: {text}" for text in page.evaluate(SQUEEZED_TEXT)]
        problems += key_content(page)
        self.problems += [f"{name} ({self.width}): {problem}" for problem in problems]


STYLED = """() => getComputedStyle(document.getElementById('header')).display === 'flex'
    && Array.from(document.styleSheets).some(s => (s.href || '').endsWith('/hub/portal.css'))"""


def admin_styled(page: Page) -> list[str]:
    """Admin's stylesheet applies (its header is a flex box) and the portal's is loaded."""
    styled = page.evaluate(STYLED)
    return [] if styled else ["the admin's and the portal's stylesheets are not applied"]


def shows(selector: str, *texts: str) -> Callable[[Page], list[str]]:
    """The first element `selector` finds is visible, and all it finds hold `texts`."""

    def check(page: Page) -> list[str]:
        found = page.locator(selector)
        if not found.count() or not found.first.is_visible():
            return [f"{selector} not shown"]
        content = "\n".join(found.all_inner_texts())
        return [f"{selector} lacks {text!r}" for text in texts if text not in content]

    return check


def all_of(*checks: Callable[[Page], list[str]]) -> Callable[[Page], list[str]]:
    return lambda page: [problem for check in checks for problem in check(page)]


def order_list_columns(page: Page) -> list[str]:
    """The customer, the state and the age of an order are in view, not scrolled away."""
    row = page.locator("#result_list tbody tr", has_text="LAYOUT-1")
    problems = []
    for field in ("customer", "state_badge", "age"):
        cell = row.locator(f"td.field-{field}")
        if not cell.count() or not cell.evaluate(CELL_IN_VIEW):
            problems.append(f"the {field} column of LAYOUT-1 is out of view")
    if "Needs attention" not in row.inner_text():
        problems.append("LAYOUT-1's state is not shown")
    return problems


ORDER_FILE = (
    "Order Number,Email,Ship Name,Street,Town,Postcode,Country,SKU,Quantity,Price Each\n"
    "LAYOUT-F1,ada@example.com,Ada Lovelace,12 St James's Square,London,SW1Y 4JH,GB,AC-1,2,9.50\n"
)


def uploaded_preview(page: Page, tenant: str) -> str:
    """Upload a small order file as a person would; the preview page it opens."""
    page.goto(f"{tenant}/admin/orders/order/upload-csv/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "orders.csv", "mimeType": "text/csv", "buffer": ORDER_FILE.encode()}],
    )
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    return page.url


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_main_pages_fit_the_screen_styled(site: Site, browser: Browser, width: str):
    viewport = dict(zip(("width", "height"), VIEWPORTS[width], strict=True))
    problems: list[str] = []
    outside: list[str] = []

    context = browser.new_context(viewport=viewport)
    check = PageCheck(context.new_page(), width)
    sign_in(check.page, site.platform_url, *PLATFORM_STAFF)
    check.visit(
        "platform-dashboard", f"{site.platform_url}/admin/",
        all_of(admin_styled,
               shows("#needs-attention", "Northwind Market Layout Test", "Inbox items needing"),
               shows("#tenant-health", "Acme Ltd")),
    )  # fmt: skip
    problems += check.problems
    outside += check.outside
    context.close()

    context = browser.new_context(viewport=viewport)
    check = PageCheck(context.new_page(), width)
    sign_in(check.page, site.tenant_url, *TENANT_ADMIN)
    tenant = site.tenant_url
    pages = [
        ("tenant-dashboard", f"{tenant}/admin/",
         all_of(admin_styled, shows("#order-dashboard", "Needs attention", "LAYOUT-1"),
                shows("#flow-lag", "Hub → ERP"), shows("#store-connections", "Disconnected"))),
        ("order-list", f"{tenant}/admin/orders/order/", all_of(admin_styled, order_list_columns)),
        ("order", f"{tenant}/admin/orders/order/{site.parked.pk}/change/",
         all_of(admin_styled, shows("#content", "LAYOUT-1"))),
        ("needs-attention", f"{tenant}/admin/orders/order/needs-attention/",
         all_of(admin_styled, shows("tr.attention-item", "LAYOUT-1", "Store status mappings"))),
        ("api-docs", f"{tenant}/api/docs/", shows(".swagger-ui .opblock-tag", "orders")),
        ("order-file-upload", f"{tenant}/admin/orders/order/upload-csv/",
         all_of(admin_styled, shows("#content", "Upload"))),
        ("catalog-sync", f"{tenant}/admin/catalog/storesync/", admin_styled),
        ("activity-log", f"{tenant}/admin/tenants/activityevent/?kind=changes",
         all_of(admin_styled, shows("#changelist-filter", "Sign-ins"))),
        ("attempts", f"{tenant}/admin/core/workattempt/?outcome=failures", admin_styled),
        ("reconciliation", f"{tenant}/admin/reconciliation/reconciliationrun/", admin_styled),
        ("connection-settings", f"{tenant}/admin/tenant_settings/connectionsettings/",
         all_of(admin_styled, shows("#content", "Alerts"))),
    ]  # fmt: skip
    for name, url, key_content in pages:
        check.visit(name, url, key_content)
    check.visit("order-file-preview", uploaded_preview(check.page, tenant),
                all_of(admin_styled, shows("#content", "LAYOUT-F1")))  # fmt: skip
    check.visit("invoice-print", f"{tenant}/admin/invoicing/invoice/{site.invoice_id}/print/",
                shows("h1", "Invoice LAYOUT-INV-1"))  # fmt: skip
    problems += check.problems
    outside += check.outside
    context.close()

    assert not problems, "\n".join(problems)
    assert outside == [], "pages loaded files from outside the hub"
