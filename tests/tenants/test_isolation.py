"""Tenant isolation through the tenant domains, as a browser and an API client see it."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_tenants.utils import schema_context

from orders.models import Order
from tenant_settings.models import ApiToken, ConnectionSettings
from tenants.activity import record_activity
from tests.support.portal import Portal, signed_in


def make_user(schema: str, username: str, password: str, role: str = "Viewer"):
    with schema_context(schema):
        user = get_user_model().objects.create_user(username, password=password, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user


def make_order(schema: str, number: str, total: str) -> Order:
    with schema_context(schema):
        return Order.objects.create(
            source=Order.Source.API, store_order_id=number, order_number=number, total=total
        )


def test_same_order_number_and_user_name_stay_separate(acme, globex):
    make_user("acme", "jane", "jane-at-acme-pw")
    make_user("globex", "jane", "jane-at-globex-pw")
    acme_order = make_order("acme", "1001", "10.00")
    globex_order = make_order("globex", "1001", "99.00")

    with schema_context("acme"):
        assert Order.objects.get(order_number="1001").total == Decimal("10.00")
    with schema_context("globex"):
        assert Order.objects.get(order_number="1001").total == Decimal("99.00")

    acme_jane = signed_in("acme.localhost", "jane", "jane-at-acme-pw")
    page = acme_jane.get(f"/admin/orders/order/{acme_order.pk}/change/")
    assert page.status_code == 200
    assert b"10.00" in page.content and b"99.00" not in page.content

    globex_jane = signed_in("globex.localhost", "jane", "jane-at-globex-pw")
    page = globex_jane.get(f"/admin/orders/order/{globex_order.pk}/change/")
    assert b"99.00" in page.content and b"10.00" not in page.content

    wrong_schema = Portal(Client(), "globex.localhost").login("jane", "jane-at-acme-pw")
    assert wrong_schema.status_code == 200
    assert b"Please enter the correct username and password" in wrong_schema.content


def test_tenant_admin_session_is_worthless_at_another_tenant(acme_admin, globex):
    assert acme_admin.get("/admin/").status_code == 200
    # The test client sends the acme session cookie to globex too; globex must not honour it.
    elsewhere = Portal(acme_admin.client, "globex.localhost").get("/admin/")
    assert elsewhere.status_code == 302
    assert elsewhere["Location"].startswith("/admin/login/")
    platform = Portal(acme_admin.client, "localhost").get("/admin/")
    assert platform.status_code == 302


def test_tenant_admin_cannot_log_in_at_another_tenant_or_the_platform(acme):
    for host in ("globex.localhost", "localhost"):
        response = Portal(Client(), host).login("ops@acme.test", "acme-admin-test-pw")
        assert response.status_code == 200, host
        assert b"correct username and password" in response.content


def test_activity_is_only_the_tenants_own(acme_admin, acme, globex):
    with schema_context("globex"):
        secret = record_activity("order.cancelled", actor="globex-user", message="GLOBEX-ONLY")
    with schema_context("acme"):
        mine = record_activity("order.cancelled", actor="acme-user", message="ACME-ONLY")

    page = acme_admin.get("/admin/tenants/activityevent/")
    assert page.status_code == 200
    assert b"ACME-ONLY" in page.content
    assert b"GLOBEX-ONLY" not in page.content
    detail = acme_admin.get(f"/admin/tenants/activityevent/{secret.pk}/change/")
    assert detail.status_code == 302  # "doesn't exist" for this tenant
    assert acme_admin.get(f"/admin/tenants/activityevent/{mine.pk}/change/").status_code == 200


def test_platform_staff_see_every_tenants_activity(platform_staff, acme, globex):
    with schema_context("globex"):
        record_activity("order.cancelled", message="GLOBEX-EVENT")
    with schema_context("acme"):
        record_activity("order.cancelled", message="ACME-EVENT")
    page = platform_staff.get(f"/admin/tenants/activityevent/?tenant__id__exact={globex.pk}")
    assert b"GLOBEX-EVENT" in page.content and b"ACME-EVENT" not in page.content
    page = platform_staff.get("/admin/tenants/activityevent/")
    assert b"GLOBEX-EVENT" in page.content and b"ACME-EVENT" in page.content


def test_credentials_of_another_tenant_are_out_of_reach(acme_admin, acme, globex):
    with schema_context("globex"):
        row = ConnectionSettings.load()
        row.shipstation_api_key = "globex-shipstation-key-XYZ"
        row.save()
    with schema_context("acme"):
        acme_row = ConnectionSettings.load()
    page = acme_admin.get(f"/admin/tenant_settings/connectionsettings/{acme_row.pk}/change/")
    assert page.status_code == 200
    assert b"globex-shipstation-key-XYZ" not in page.content
    assert b"glob" not in page.content.lower().replace(b"global", b"")


def test_api_token_works_only_at_its_own_tenant(acme, globex):
    with schema_context("acme"):
        user = get_user_model().objects.get(username="ops@acme.test")
        token = ApiToken(name="B2B portal", user=user)
        raw = token.issue()
        token.save()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    mine = Client().get("/api/v1/me/", HTTP_HOST="acme.localhost", **auth)
    assert mine.status_code == 200
    assert mine.json() == {"tenant": "acme", "user": "ops@acme.test", "token": "B2B portal"}
    other = Client().get("/api/v1/me/", HTTP_HOST="globex.localhost", **auth)
    assert other.status_code == 401
    assert "Invalid or revoked" in other.json()["detail"]
