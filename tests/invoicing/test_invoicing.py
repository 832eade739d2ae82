"""Invoices: read from the sandbox's M3, Invoiced when paid, one store status update, generate.

The hub's services run in-process against the sandbox over HTTP (M3 through the tap); arranging
"already in the ERP" and paying go straight to the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_tenants.utils import schema_context

from connectors.m3 import NewM3OrderHead, NewM3OrderLine
from demo.seed import connect_store
from invoicing import services
from invoicing.models import Invoice, StoreStatusMapping, StoreStatusUpdate
from orders.models import Order
from sandbox import demo_data
from tenant_settings.roles import FINANCE, VIEWER
from tenants.models import Api2CartAccount, Store
from tenants.store_clients import api2cart_for_store
from tests.support.orders_api import ApiClient, issue_token
from tests.support.portal import Portal, signed_in
from tests.support.world import World, connect_tenants, make_order, sku_of, start_world

S = Order.State
HOST = "acme.localhost"
PASSWORD = "invoice-test-pass-9"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_store(world: World, db) -> Iterator[Store]:
    """Acme's ERP at the tap, its sandbox store connected; the test body runs in acme's schema."""
    world.calm()
    connect_tenants(world)
    account, _ = Api2CartAccount.objects.update_or_create(
        name="sandbox",
        defaults={
            "base_url": world.sandbox.api_url("api2cart"),
            "api_key": demo_data.API2CART_API_KEY,
        },
    )
    store = connect_store(demo_data.store("acme-outlet"), account)
    with schema_context("acme"):
        yield store


def status_updates(world: World) -> int:
    return world.status()["api2cart"]["order_status_updates"]


def order_in_erp(world: World, store: Store | None, *, financial_status: str = "pending") -> Order:
    """A store order placed in the sandbox, in M3 (confirmed) and shipped, as the hub keeps it."""
    placed = world.sandbox.control(
        "api2cart",
        "place-orders",
        store="acme-outlet",
        count=1,
        financial_status=financial_status,
    )["orders"][0]
    direct = world.direct_m3("acme")
    customer = demo_data.tenant("acme").default_customer
    temporary = direct.add_batch_head(
        NewM3OrderHead(customer, customer_order_ref=f"INV{placed['id']}")
    )
    direct.add_batch_lines(temporary, [NewM3OrderLine(sku_of("acme"), Decimal(2))])
    erp_order = direct.confirm_order(temporary)
    return make_order(
        store=store,
        source=Order.Source.WEBHOOK if store else Order.Source.API,
        store_order_id=str(placed["id"]),
        order_number=str(placed["order_id"]),
        state=S.SHIPPED,
        erp_customer_number=customer,
        erp_order_number=erp_order,
        payload={"financial_status": financial_status},
    )


def deliver(world: World, order: Order) -> str:
    [delivered] = world.sandbox.control("m3", "deliver", order=order.erp_order_number)["delivered"]
    return delivered["invoice"]


def run_store_updates() -> None:
    for pk in StoreStatusUpdate.objects.values_list("pk", flat=True):
        services.push_store_status(pk)


def user_portal(role: str) -> Portal:
    username = f"{role.lower()}@acme.test"
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return signed_in(HOST, username, PASSWORD)


def test_paid_in_the_erp_makes_the_order_invoiced_and_updates_the_store_once(
    world: World, acme_store: Store
):
    order = order_in_erp(world, acme_store)
    invoice_number = deliver(world, order)
    before = status_updates(world)

    services.read_invoices()
    order.refresh_from_db()
    [invoice] = Invoice.objects.filter(order=order)
    assert invoice.erp_invoice_number == invoice_number
    assert invoice.remaining_amount == invoice.amount > 0
    assert (invoice.currency, invoice.due_date is not None) == ("EUR", True)
    assert order.state == S.SHIPPED  # invoiced in M3, but the money is not in yet

    world.sandbox.control("m3", "pay", all=True)
    for _ in range(2):  # the scheduled read and the store update both run again
        services.read_invoices()
        run_store_updates()

    order.refresh_from_db()
    assert order.state == S.INVOICED
    assert Invoice.objects.filter(order=order).count() == 1
    assert Invoice.objects.get(order=order).remaining_amount == 0
    assert status_updates(world) == before + 1
    update = StoreStatusUpdate.objects.get(order=order)
    assert update.state == StoreStatusUpdate.State.SENT, update.last_error
    assert invoice_number in update.comment
    assert update.order_status == "Completed"  # default from the store's order.status.list
    mapping = StoreStatusMapping.objects.get(store_id=acme_store.pk)
    assert mapping.invoiced_status == "Completed"
    assert order.events.filter(step="invoiced").count() == 1


def test_the_store_reporting_the_order_paid_is_enough(world: World, acme_store: Store):
    StoreStatusMapping.objects.create(store_id=acme_store.pk, invoiced_status="Shipped")
    order = order_in_erp(world, acme_store, financial_status="paid")
    deliver(world, order)

    services.read_invoices()
    run_store_updates()

    order.refresh_from_db()
    assert order.state == S.INVOICED
    assert StoreStatusUpdate.objects.get(order=order).order_status == "Shipped"


def test_generate_invoice_as_finance_in_the_admin(world: World, acme_store: Store):
    order = order_in_erp(world, acme_store)
    invoice_number = deliver(world, order)
    finance = user_portal(FINANCE)

    response = finance.post(
        "/admin/orders/order/",
        {"action": "generate_invoices", "_selected_action": [order.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert f"ERP invoice {invoice_number}" in response.content.decode()
    assert Invoice.objects.filter(order=order, erp_invoice_number=invoice_number).exists()
    page = finance.get(f"/admin/orders/order/{order.pk}/change/")
    assert invoice_number in page.content.decode()


def test_generate_invoice_as_viewer_is_refused_in_the_admin(world: World, acme_store: Store):
    order = order_in_erp(world, acme_store)
    viewer = user_portal(VIEWER)

    response = viewer.post(
        "/admin/orders/order/", {"action": "generate_invoices", "_selected_action": [order.pk]}
    )

    assert response.status_code == 403
    assert not order.events.filter(step="generate_invoice").exists()


def test_generate_invoice_through_the_api(world: World, acme_store: Store):
    order = order_in_erp(world, acme_store)
    invoice_number = deliver(world, order)
    finance = ApiClient(HOST, issue_token("acme", role=FINANCE, username="fin-api@acme.test"))
    viewer = ApiClient(HOST, issue_token("acme", role=VIEWER, username="view-api@acme.test"))
    path = f"/api/v1/orders/{order.pk}/invoice"

    refused = viewer.post(path, None)
    done = finance.post(path, None)

    assert refused.status_code == 403
    assert done.status_code == 200
    body = done.json()
    assert [i["erp_invoice_number"] for i in body["invoices"]] == [invoice_number]
    assert invoice_number in body["detail"]


def test_the_erp_not_ready_to_invoice_says_why(world: World, acme_store: Store):
    order = order_in_erp(world, acme_store)  # confirmed in M3, nothing delivered yet
    finance = ApiClient(HOST, issue_token("acme", role=FINANCE, username="fin-2@acme.test"))

    response = finance.post(f"/api/v1/orders/{order.pk}/invoice", None)

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith("The ERP cannot invoice yet")
    assert f"order {order.erp_order_number} has status" in detail
    assert not Invoice.objects.filter(order=order).exists()
    portal = user_portal(FINANCE)
    shown = portal.post(
        "/admin/orders/order/",
        {"action": "generate_invoices", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "The ERP cannot invoice yet" in shown.content.decode()


def test_printable_invoice_and_pdf(world: World, acme_store: Store):
    order = order_in_erp(world, acme_store)
    invoice_number = deliver(world, order)
    services.read_invoices()
    invoice = Invoice.objects.get(order=order)
    finance = user_portal(FINANCE)

    page = finance.get(f"/admin/invoicing/invoice/{invoice.pk}/print/")
    pdf = finance.get(f"/admin/invoicing/invoice/{invoice.pk}/pdf/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f"Invoice {invoice_number}" in html
    assert "Acme" in html
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert invoice_number in pdf["Content-Disposition"]


def test_the_openapi_schema_documents_generate_invoice(world: World, acme_store: Store):
    token = issue_token("acme")
    schema = ApiClient(HOST, token).get("/api/schema/", format="json")
    assert "/api/v1/orders/{id}/invoice" in schema.content.decode()


def test_the_scheduled_read_takes_every_open_order_in_one_bulk_call(
    world: World, acme_store: Store
):
    orders = [order_in_erp(world, acme_store) for _ in range(3)]
    for order in orders[:2]:
        deliver(world, order)
    gone = make_order(
        store=None, source=Order.Source.API, state=S.SHIPPED, erp_order_number="9999999"
    )  # an order number M3 does not know
    world.tap.clear()

    report = services.read_invoices()

    [call] = [c for c in world.tap.calls("m3") if "/M3/m3api-rest/" in c.path]
    assert {t.name for t in call.transactions} == {"OIS350MI/LstAllInvByCO"}
    assert {t.inputs["ORNO"] for t in call.transactions} >= {
        *(o.erp_order_number for o in orders), gone.erp_order_number,
    }  # fmt: skip
    assert [Invoice.objects.filter(order=o).count() for o in orders] == [1, 1, 0]
    assert report.orders >= 4 and report.invoices == 2


def test_capped_reads_take_the_open_orders_in_turn(world: World, acme_store: Store):
    orders = [order_in_erp(world, acme_store) for _ in range(3)]
    for order in orders:
        deliver(world, order)

    first = services.read_invoices(limit=2)
    second = services.read_invoices(limit=2)

    assert (first.orders, second.orders) == (2, 2)
    assert [Invoice.objects.filter(order=o).count() for o in orders] == [1, 1, 1]


def test_equal_ids_in_two_tenants_on_a_shared_store_both_update_the_store(world: World, db):
    """API2Cart answers a repeated idempotency key on a store from its cache without applying
    it; keys carry the tenant, and the status is read back before the update counts as sent."""
    world.calm()
    connect_tenants(world)
    account, _ = Api2CartAccount.objects.update_or_create(
        name="sandbox",
        defaults={
            "base_url": world.sandbox.api_url("api2cart"),
            "api_key": demo_data.API2CART_API_KEY,
        },
    )
    store = connect_store(demo_data.store("northwind"), account)
    placed = world.sandbox.control("api2cart", "place-orders", store="northwind", count=2)
    for slug, store_order in zip(("acme", "globex"), placed["orders"], strict=True):
        with schema_context(slug):
            StoreStatusMapping.objects.create(store_id=store.pk, invoiced_status="Completed")
            order = make_order(
                pk=4242, slug=slug, store=store, source=Order.Source.WEBHOOK,
                store_order_id=str(store_order["id"]), order_number=str(store_order["order_id"]),
                state=S.SHIPPED,
            )  # fmt: skip
            invoice = Invoice.objects.create(
                order=order, erp_invoice_number=f"9{order.pk}", year=2026, amount=Decimal("10"),
                remaining_amount=Decimal("0"),
            )  # fmt: skip
            StoreStatusUpdate.objects.create(pk=77, order=order, invoice=invoice)
            services.push_store_status(77)
            update = StoreStatusUpdate.objects.get(pk=77)
            assert update.state == StoreStatusUpdate.State.SENT, update.last_error
    client = api2cart_for_store(store)
    for store_order in placed["orders"]:
        assert client.order_status(str(store_order["order_id"])).id == "Completed"
