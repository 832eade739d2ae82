"""Provisioning tenants from the platform admin and the command line."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from orders.models import Order
from portal.flow_lag import refresh_figures
from tenant_settings.roles import ROLE_PERMISSIONS
from tenants.models import ActivityEvent, Domain, Tenant
from tests.support.portal import signed_in


def test_platform_staff_provision_a_usable_tenant_from_the_admin(platform_staff):
    form = platform_staff.get("/admin/tenants/tenant/add/")
    assert form.status_code == 200
    response = platform_staff.post(
        "/admin/tenants/tenant/add/",
        {"name": "Initech", "slug": "initech", "admin_email": "boss@initech.test"},
    )
    assert response.status_code == 200
    assert b"Initech is ready" in response.content
    password = response.context["result"].admin_password
    assert password.encode() in response.content

    tenant = Tenant.objects.get(slug="initech")
    assert schema_exists("initech")
    assert Domain.objects.get(tenant=tenant).domain == "initech.localhost"
    with schema_context("initech"):
        assert set(Group.objects.values_list("name", flat=True)) == set(ROLE_PERMISSIONS)
        Order.objects.create(source="api", store_order_id="1", order_number="1")
        assert Order.objects.count() == 1
    assert ActivityEvent.objects.filter(tenant=tenant, action="tenant.provisioned").exists()

    admin = signed_in("initech.localhost", "boss@initech.test", password)
    assert admin.get("/admin/auth/user/").status_code == 200
    assert admin.get("/admin/tenant_settings/apitoken/").status_code == 200


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("acme", b"already exists"),
        ("admin", b"is reserved"),
        ("public", b"is reserved"),
        ("Bad_Slug", b"lowercase letters"),
        ("x", b"lowercase letters"),
    ],
)
def test_reserved_duplicate_or_malformed_slugs_get_a_form_error(platform_staff, slug, message):
    response = platform_staff.post(
        "/admin/tenants/tenant/add/",
        {"name": "Someone", "slug": slug, "admin_email": "a@b.test"},
    )
    assert response.status_code == 200
    assert message in response.content
    assert not Tenant.objects.filter(name="Someone").exists()


def test_the_command_provisions_and_refuses_duplicates(db, capsys):
    call_command("create_hub_tenant", slug="umbrella", name="Umbrella", admin_email="u@u.test")
    out = capsys.readouterr().out
    assert "http://umbrella.localhost:8000/admin/" in out
    assert "Password:" in out
    assert schema_exists("umbrella")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_hub_tenant", slug="umbrella", name="Again", admin_email="u@u.test")
    connection.set_schema_to_public()


def test_tenant_admin_manages_users_and_roles_but_not_superuser_flags(acme_admin):
    page = acme_admin.get("/admin/auth/user/add/")
    assert page.status_code == 200
    assert b"is_superuser" not in page.content
    with schema_context("acme"):
        viewer = Group.objects.get(name="Viewer")
    response = acme_admin.post(
        "/admin/auth/user/add/",
        {
            "username": "clerk",
            "email": "clerk@acme.test",
            "usable_password": "true",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
            "groups": [viewer.pk],
        },
    )
    assert response.status_code == 302, response.content[:2000]
    clerk = signed_in("acme.localhost", "clerk", "a-long-pass-phrase-1")
    assert clerk.get("/admin/orders/order/").status_code == 200
    assert clerk.get("/admin/auth/user/").status_code == 403
    assert clerk.get("/admin/tenant_settings/connectionsettings/").status_code == 403


def test_roles_carry_the_custom_permissions(acme):
    with schema_context("acme"):
        perms = {
            name: set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
            for name in ROLE_PERMISSIONS
        }
    assert {"retry_order", "replay_order", "cancel_order"} <= perms["Order manager"]
    assert "generate_invoice" in perms["Finance"]
    assert "run_price_sync" in perms["Catalog manager"]
    assert "change_connectionsettings" in perms["Tenant admin"]
    assert "change_connectionsettings" not in perms["Viewer"]
    assert not any(p.startswith(("add_", "change_", "delete_")) for p in perms["Viewer"])


def test_platform_front_page_shows_each_tenants_order_health(platform_staff, acme, globex):
    with schema_context("acme"):
        for n, state in enumerate(["needs_attention", "sent_to_shipstation", "routed"]):
            Order.objects.create(
                source="api", store_order_id=f"H{n}", order_number=f"H{n}", state=state
            )
        refresh_figures()  # the sweeper's visit: the page reads the stored figures
    page = platform_staff.get("/admin/")
    assert page.status_code == 200
    rows = {row.tenant.slug: row for row in page.context["rows"]}
    assert set(rows) == {"acme", "globex"}
    acme_row = rows["acme"]
    assert (acme_row.received_24h, acme_row.needs_attention, acme_row.waiting) == (3, 1, 1)
    assert not acme_row.healthy and rows["globex"].healthy
    assert b"Tenant health" in page.content
