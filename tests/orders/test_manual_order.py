"""Orders › Add: a person types an order; the API's rules decide; the pipeline takes it."""

from __future__ import annotations

from decimal import Decimal

from django_tenants.utils import schema_context

from catalog.models import ItemBinding
from orders.models import Order
from tenants.models import ActivityEvent, Api2CartAccount, Store

FORM = {
    "order_number": "HAND-1", "email": "buyer@example.com", "currency": "eur",
    "ship_to-name": "Ada Buyer", "ship_to-street1": "1 High St", "ship_to-city": "Leeds",
    "ship_to-postal_code": "LS1 4AP", "ship_to-country": "GB",
    "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0",
    "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "500",
    "lines-0-sku": "AC-1001", "lines-0-name": "Anvil", "lines-0-quantity": "2",
    "lines-0-unit_price": "9.50",
    "lines-2-sku": "AC-1002", "lines-2-quantity": "1", "lines-2-unit_price": "3",
}  # fmt: skip


def test_add_order_opens_a_form_with_the_tenants_skus(acme_admin, acme):
    account = Api2CartAccount.objects.create(name="a", api_key="k")
    store = Store.objects.create(
        name="s", display_name="S", platform="Shopify", url="https://s.example",
        account=account, store_key="k",
    )  # fmt: skip
    with schema_context("acme"):
        ItemBinding.objects.create(store=store, sku="AC-1001", erp_item_number="ITEM1001")
    page = acme_admin.get("/admin/orders/order/add/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="manual-order-form"' in html
    assert '<option value="AC-1001">ERP item ITEM1001</option>' in html
    assert 'list="tenant-skus"' in html


def test_the_sku_picker_searches_the_tenants_bindings(acme_admin, globex_admin, acme):
    account = Api2CartAccount.objects.create(name="a", api_key="k")
    store = Store.objects.create(
        name="s", display_name="S", platform="Shopify", url="https://s.example",
        account=account, store_key="k",
    )  # fmt: skip
    with schema_context("acme"):
        for sku in ("AC-1001", "AC-1002", "ZZ-9"):
            ItemBinding.objects.create(store=store, sku=sku, erp_item_number=f"I{sku}")
    found = acme_admin.get("/admin/orders/order/skus/?q=ac-10").json()
    assert found == {"skus": [["AC-1001", "IAC-1001"], ["AC-1002", "IAC-1002"]]}
    assert globex_admin.get("/admin/orders/order/skus/?q=AC").json() == {"skus": []}


def test_a_typed_order_goes_through_intake_and_into_the_pipeline(acme_admin, acme):
    response = acme_admin.post("/admin/orders/order/add/", FORM)
    assert response.status_code == 302
    with schema_context("acme"):
        order = Order.objects.get(order_number="HAND-1")
        assert response["Location"] == f"/admin/orders/order/{order.pk}/change/"
        assert order.state == Order.State.ROUTED and order.next_attempt_at is not None
        assert order.source == Order.Source.MANUAL
        assert order.currency == "EUR" and order.ship_to["city"] == "Leeds"
        assert [(line.sku, line.quantity) for line in order.lines.all()] == [
            ("AC-1001", Decimal("2")), ("AC-1002", Decimal("1"))
        ]  # fmt: skip
        assert order.events.get(step="received").actor == "ops@acme.test"
    assert ActivityEvent.objects.filter(tenant=acme, action="order.manual_entered").exists()


def test_the_api_rules_refuse_a_bad_order_next_to_the_fields(acme_admin, acme):
    bad = {**FORM, "ship_to-country": "Narnia", "lines-2-quantity": "1.5", "currency": "EURO"}
    page = acme_admin.post("/admin/orders/order/add/", bad)
    assert page.status_code == 200
    html = page.content.decode()
    assert "is not an ISO 3166-1 alpha-2 country code" in html
    assert "Must be a whole number" in html
    assert "three-letter ISO 4217 code" in html
    forms = page.context["forms"]
    assert "quantity" in forms.lines.forms[2].errors
    assert "country" in forms.ship_to.errors
    with schema_context("acme"):
        assert not Order.objects.filter(order_number="HAND-1").exists()


def test_an_order_needs_lines_and_a_free_number(acme_admin, acme):
    empty = {k: v for k, v in FORM.items() if not k.startswith("lines-") or "FORMS" in k}
    page = acme_admin.post("/admin/orders/order/add/", empty)
    assert "Lines:" in page.content.decode()
    acme_admin.post("/admin/orders/order/add/", FORM)
    again = acme_admin.post("/admin/orders/order/add/", FORM)
    assert again.status_code == 200
    assert "Order HAND-1 already exists" in again.content.decode()


def test_viewers_cannot_add_orders(acme):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from tests.support.portal import signed_in

    with schema_context("acme"):
        viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
        viewer.groups.add(Group.objects.get(name="Viewer"))
    portal = signed_in("acme.localhost", "viewer", "pw")
    assert portal.get("/admin/orders/order/add/").status_code == 403
    assert portal.post("/admin/orders/order/add/", FORM).status_code == 403
    assert portal.get("/admin/orders/order/skus/?q=A").status_code == 403
