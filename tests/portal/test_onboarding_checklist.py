"""The first-run checklist on a tenant's front page: each step's state follows the rows that
make it done, every step links to where it is done, and the panel goes once all are done."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_tenants.utils import schema_context, tenant_context

from catalog.models import SyncRun
from invoicing.models import StoreStatusMapping
from orders.models import Order
from portal.onboarding import first_run_checklist
from shipping.models import CarrierMapping
from tenant_settings.models import ConnectionSettings
from tenants.models import StoreMembership
from tests.support.portal import signed_in
from tests.support.stores import make_store


def steps(page: str) -> dict[str, str]:
    """Step title → "done" or "to do", as the front page shows them."""
    rows = re.findall(
        r'class="onboarding-step (done|to-do)">\s*<th scope="row"><a href="([^"]*)">([^<]+)</a>',
        page,
    )
    return {title: state.replace("-", " ") for state, _, title in rows}


@pytest.fixture
def new_tenant(acme) -> None:
    """acme as it is right after provisioning: nothing entered, nothing connected."""
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.erp_ionapi = row.shipstation_api_key = row.shipstation_api_secret = ""
        row.erp_customer_template = row.erp_default_customer = ""
        row.save()


def test_a_new_tenant_sees_every_step_to_do_with_its_link(new_tenant, acme_admin, settings):
    settings.HUB_PUBLIC_URL = "http://localhost:8123"
    page = acme_admin.get("/admin/").content.decode()
    assert "Getting started · 0 of 7 done" in page
    assert set(steps(page).values()) == {"to do"}
    assert list(steps(page)) == [
        "ERP credentials", "ShipStation credentials", "A store connected",
        "Customer policy chosen", "Carrier and status mappings", "Catalog sync run",
        "A test order",
    ]  # fmt: skip
    with schema_context("acme"):
        pk = ConnectionSettings.load().pk
    assert f'href="/admin/tenant_settings/connectionsettings/{pk}/change/">ERP credentials' in page
    assert 'href="http://localhost:8123/admin/tenants/store/connect/">A store connected' in page
    assert 'href="/admin/catalog/storesync/">Catalog sync run' in page
    assert "Upload the .ionapi file" in page


def test_each_step_is_done_by_the_rows_it_needs(new_tenant, acme, acme_admin, account):
    store = make_store(account)
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.erp_ionapi = '{"ti": "ACME_TST"}'
        row.shipstation_api_key, row.shipstation_api_secret = "key", "secret"
        row.missing_customer_policy = ConnectionSettings.MissingCustomerPolicy.DEFAULT
        row.erp_customer_template = "ACTEMPLATE"  # not what the "default" policy needs
        row.save()
    page = acme_admin.get("/admin/").content.decode()
    assert steps(page)["ERP credentials"] == steps(page)["ShipStation credentials"] == "done"
    assert steps(page)["A store connected"] == "to do"
    assert steps(page)["Customer policy chosen"] == "to do"

    StoreMembership.objects.create(store=store, tenant=acme)
    with schema_context("acme"):
        row.erp_default_customer = "ACWEB00001"
        row.save()
        StoreStatusMapping.objects.create(store=store, invoiced_status="Completed")
    page = acme_admin.get("/admin/").content.decode()
    assert steps(page)["A store connected"] == steps(page)["Customer policy chosen"] == "done"
    assert steps(page)["Carrier and status mappings"] == "to do"  # no carrier mapping yet

    with schema_context("acme"):
        CarrierMapping.objects.create(store=store, origin="shipstation", code="ups",
                                      store_carrier_id="ups")  # fmt: skip
        SyncRun.objects.create(store=store, state=SyncRun.State.PUSHING)
        Order.objects.create(source=Order.Source.API, store_order_id="FIRST-1",
                             order_number="FIRST-1", state=Order.State.IN_ERP)  # fmt: skip
    page = acme_admin.get("/admin/").content.decode()
    assert steps(page)["Carrier and status mappings"] == "done"
    assert steps(page)["Catalog sync run"] == steps(page)["A test order"] == "to do"
    assert "Getting started · 5 of 7 done" in page

    with schema_context("acme"):
        SyncRun.objects.update(state=SyncRun.State.DONE)
        Order.objects.filter(order_number="FIRST-1").update(state=Order.State.SENT_TO_SHIPSTATION)
    page = acme_admin.get("/admin/").content.decode()
    assert "first-run-checklist" not in page and "Getting started" not in page


def test_the_checklist_costs_a_handful_of_queries(new_tenant, acme, django_assert_max_num_queries):
    with tenant_context(acme), django_assert_max_num_queries(8):
        checklist = first_run_checklist()
    assert checklist is not None and checklist.done == 0


def test_people_who_cannot_change_the_settings_do_not_see_it(new_tenant, acme):
    with schema_context("acme"):
        viewer = get_user_model().objects.create_user("viewer@acme.test", password="viewer-pw-1")
        viewer.is_staff = True
        viewer.save()
        viewer.groups.add(Group.objects.get(name="Viewer"))
    portal = signed_in("acme.localhost", "viewer@acme.test", "viewer-pw-1")
    page = portal.get("/admin/").content.decode()
    assert "Getting started" not in page


def test_the_portal_registers_the_checklist_for_people_who_change_the_settings():
    from core.admin_sites import tenant_admin
    from portal.onboarding import PERMISSION

    panels = [(p.name, p.permission, p.figures) for p in tenant_admin.front_page_panels]
    assert ("onboarding", PERMISSION, first_run_checklist) in panels
    assert PERMISSION == "tenant_settings.change_connectionsettings"
