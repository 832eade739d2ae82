"""Erasure of one customer on request: what is found first, then erased for the requesting
tenant only (a shared store's other tenant keeps its own part), audited without the person's
values, with what outside systems still hold; idempotent; the same search exports as JSON."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict
from django_tenants.utils import schema_context

from inbox.models import InboxItem
from orders.models import CustomerLink, Order, OrderEvent
from privacy.erasure import Person, erase, export_customer, find_customer
from privacy.models import Erasure
from tenants.models import ActivityEvent, Store, StoreMembership, Tenant
from tests.support.world import make_order

EMAIL = "Ann.Lee@Example.test"
SHIP_TO = {
    "name": "Ann Lee", "street1": "9 Elm Row", "city": "York", "postal_code": "YO1 7HH",
    "country": "GB", "phone": "07700 900123",
}  # fmt: skip
PERSONAL = ("ann.lee@example.test", "Ann Lee", "9 Elm Row", "07700 900123", "C-ANN")


def store_order(ids: str = "SO-9") -> dict:
    return {
        "id": ids, "order_id": f"#{ids}",
        "customer": {"id": "C-ANN", "email": EMAIL, "first_name": "Ann", "last_name": "Lee"},
        "shipping_address": {"first_name": "Ann", "last_name": "Lee", "address1": "9 Elm Row"},
        "order_products": [{"model": "SKU-1", "quantity": 1, "price": 10}],
        "totals": {"total": 10},
    }  # fmt: skip


@pytest.fixture
def shared_store(store: Store, acme: Tenant, globex: Tenant) -> Store:
    for tenant in (acme, globex):
        StoreMembership.objects.create(store=store, tenant=tenant)
    return store


def part(slug: str, store: Store, **fields) -> Order:
    with schema_context(slug):
        order = make_order(
            slug=slug, store=store, source=Order.Source.WEBHOOK, store_order_id="SO-9",
            order_number="#SO-9", customer_email=EMAIL, store_customer_id="C-ANN",
            ship_to=dict(SHIP_TO), payload=store_order(), **fields,
        )  # fmt: skip
        OrderEvent.objects.create(order=order, step="received", message=f"From {EMAIL}")
        return order


def inbox_item(store: Store, state: str, key: str) -> InboxItem:
    return InboxItem.objects.create(
        source=InboxItem.Source.POLL, store=store, entity="order", action="poll",
        entity_id="SO-9", dedupe_key=key, body=json.dumps(store_order()), state=state,
    )  # fmt: skip


def values_in(text: str) -> list[str]:
    return [value for value in PERSONAL if value.lower() in text.lower()]


@pytest.mark.django_db
def test_erasure_across_a_shared_store_order_touches_only_the_requesting_tenants_part(
    shared_store, acme, globex
):
    mine = part(
        "acme", shared_store, erp_customer_number="ACME01", erp_order_number="1000009",
        shipstation_order_key="acme-order-9", total="10.00",
    )  # fmt: skip
    theirs = part("globex", shared_store, erp_customer_number="GLX01")
    with schema_context("acme"):
        CustomerLink.objects.create(
            store=shared_store, store_customer_id="C-ANN", email=EMAIL,
            erp_customer_number="ACME01", origin=CustomerLink.Origin.CREATED,
        )  # fmt: skip
    accepted = inbox_item(shared_store, InboxItem.State.DONE, "accepted")
    waiting = inbox_item(shared_store, InboxItem.State.NEEDS_ATTENTION, "waiting")

    with schema_context("acme"):
        findings = find_customer(Person(email="ann.lee@example.test"))
        assert findings.records == {
            "orders": 1, "order events": 1, "order changes": 0, "shipments": 0,
            "customer links": 1, "inbox items": 1,
        }  # fmt: skip
        assert findings.shared_inbox_waiting == 1
        assert findings.open_orders == 1  # routed, not done: the page warns first
        outside = {held.system: held.references for held in findings.outside}
        assert outside["ERP customer (M3)"] == ("ACME01",)
        assert outside["ERP orders (M3)"] == ("1000009",)
        assert outside["ShipStation orders"] == ("acme-order-9",)
        assert outside[f"Store: {shared_store.display_name}"] == ("#SO-9",)

        erasure = erase(findings, actor="ops@acme.test", via="portal")

        mine.refresh_from_db()
        assert (mine.customer_email, mine.store_customer_id, mine.ship_to) == (
            "",
            "",
            {"country": "GB"},
        )
        assert values_in(str(mine.payload)) == []
        assert str(mine.total) == "10.00" and mine.erp_order_number == "1000009"
        assert values_in(OrderEvent.objects.get(order=mine).message) == []
        assert not CustomerLink.objects.exists()
    with schema_context("globex"):
        theirs.refresh_from_db()
        assert theirs.customer_email == EMAIL and theirs.ship_to == SHIP_TO
        assert theirs.personal_data_removed_at is None
        assert OrderEvent.objects.get(order=theirs).message == f"From {EMAIL}"
    accepted.refresh_from_db()
    waiting.refresh_from_db()
    assert values_in(accepted.body) == [] and accepted.personal_data_removed_at is not None
    assert json.loads(accepted.body)["id"] == "SO-9"
    assert waiting.body == json.dumps(store_order()) and waiting.personal_data_removed_at is None

    # The audit row and its activity line hold counts, never the person.
    row = Erasure.objects.get()
    assert row.pk == erasure.pk and row.tenant == acme and row.requested_by == "ops@acme.test"
    assert row.records == {"orders": 1, "order events": 1, "customer links": 1, "inbox items": 1}
    assert row.outside == {"ERP customer (M3)": 1, "ERP orders (M3)": 1, "ShipStation orders": 1,
                           "Store": 1}  # fmt: skip
    activity = ActivityEvent.objects.get(action="privacy.customer_erased")
    audited = json.dumps(model_to_dict(row), default=str) + str(model_to_dict(activity))
    assert values_in(audited) == [] and "ACME01" not in audited

    # Again: nothing left to find, nothing erased, no second audit row.
    with schema_context("acme"):
        again = find_customer(Person(email=EMAIL))
        assert not again.found_anything
        assert erase(again, actor="ops@acme.test", via="portal") is None
        assert not find_customer(Person(customer_id="C-ANN")).found_anything
    assert Erasure.objects.count() == 1


@pytest.mark.django_db
def test_the_command_exports_then_erases_by_customer_id_once(store, acme, tmp_path):
    StoreMembership.objects.create(store=store, tenant=acme)
    order = part("acme", store)
    inbox_item(store, InboxItem.State.PENDING, "pending")  # this tenant's store alone: cut too
    export = tmp_path / "ann.json"
    out = StringIO()

    call_command("erase_customer", "--tenant", "acme", "--customer-id", "C-ANN", "--dry-run",
                 "--export", str(export), stdout=out)  # fmt: skip

    assert "Found in acme: 1 orders, 1 order events, 1 inbox items." in out.getvalue()
    assert "Nothing erased." in out.getvalue()
    data = json.loads(export.read_text())
    assert data["orders"][0]["email"] == EMAIL and data["orders"][0]["ship_to"] == SHIP_TO
    assert data["orders"][0]["lines"][0]["quantity"] == "2.000"
    assert json.loads(data["store_deliveries"][0]["body"])["customer"]["id"] == "C-ANN"
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.customer_email == EMAIL

    out = StringIO()
    call_command(
        "erase_customer", "--tenant", "acme", "--customer-id", "C-ANN", "--yes", stdout=out
    )
    assert "Erased (1 orders, 1 order events, 1 inbox items)" in out.getvalue()
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.personal_data_removed_at is not None and order.customer_email == ""
        assert export_customer(find_customer(Person(customer_id="C-ANN")))["orders"] == []

    out = StringIO()
    call_command(
        "erase_customer", "--tenant", "acme", "--customer-id", "C-ANN", "--yes", stdout=out
    )
    assert "Found in acme: nothing." in out.getvalue() and Erasure.objects.count() == 1


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_tenant(acme):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No tenant"):
        call_command("erase_customer", "--tenant", "nobody", "--email", EMAIL)


@pytest.mark.django_db
def test_a_tenant_admin_finds_confirms_erases_and_downloads_on_the_page(acme_admin, store, acme):
    StoreMembership.objects.create(store=store, tenant=acme)
    order = part("acme", store)
    url = "/admin/privacy/erasure/add/"

    assert acme_admin.get(url).status_code == 200
    both = acme_admin.post(url, {"email": EMAIL, "customer_id": "C-ANN", "do": "find"})
    assert both.status_code == 200 and b"one of them" in both.content
    bad = acme_admin.post(url, {"email": "not-an-email", "do": "find"})
    assert bad.status_code == 200 and b"valid email" in bad.content

    found = acme_admin.post(url, {"email": EMAIL, "do": "find"})
    assert found.status_code == 200
    assert b"Still held outside the hub" in found.content and b"I confirm" in found.content
    assert b"still on their way" in found.content
    download = acme_admin.post(url, {"email": EMAIL, "do": "export"})
    assert download["Content-Disposition"] == 'attachment; filename="customer-data.json"'
    assert json.loads(download.content)["orders"][0]["email"] == EMAIL

    unconfirmed = acme_admin.post(url, {"email": EMAIL, "do": "erase"})
    assert unconfirmed.status_code == 200 and b"Tick the confirmation" in unconfirmed.content
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.customer_email == EMAIL

    erased = acme_admin.post(url, {"email": EMAIL, "do": "erase", "confirmed": "yes"})
    assert erased.status_code == 200 and b"Erased: 1 orders" in erased.content
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.customer_email == "" and order.personal_data_removed_at is not None
        page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/")
        assert b"Personal data removed on" in page.content
    listing = acme_admin.get("/admin/privacy/erasure/")
    assert listing.status_code == 200 and b"ops@acme.test" in listing.content


@pytest.mark.django_db
def test_platform_staff_erase_for_any_tenant_and_see_every_tenants_audit(
    platform_staff, globex_admin, store, globex
):
    StoreMembership.objects.create(store=store, tenant=globex)
    order = part("globex", store)
    url = "/admin/privacy/erasure/add/"
    missing = platform_staff.post(url, {"email": EMAIL, "do": "find"})
    assert missing.status_code == 200 and b"This field is required" in missing.content

    erased = platform_staff.post(
        url, {"tenant": globex.pk, "email": EMAIL, "do": "erase", "confirmed": "yes"}
    )

    assert erased.status_code == 200 and b"Erased: 1 orders" in erased.content
    with schema_context("globex"):
        order.refresh_from_db()
        assert order.customer_email == ""
    assert Erasure.objects.get().requested_by == "platform"
    assert b"Globex" in platform_staff.get("/admin/privacy/erasure/").content
    assert b"platform" in globex_admin.get("/admin/privacy/erasure/").content
