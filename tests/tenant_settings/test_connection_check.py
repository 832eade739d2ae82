"""The portal's "Test connection" button against the sandbox's ION/M3 and ShipStation."""

from django_tenants.utils import schema_context

from tenant_settings.models import ConnectionSettings


def press_test(portal) -> str:
    with schema_context("acme"):
        pk = ConnectionSettings.load().pk
    page = portal.post(f"/admin/tenant_settings/connectionsettings/{pk}/test/", follow=True)
    assert page.status_code == 200
    return page.content.decode()


def test_the_connection_test_reaches_both_upstreams(demo_world, acme_admin):
    page = press_test(acme_admin)
    assert "ERP: connected to ION tenant ACME_TST." in page
    assert "ShipStation: connected (" in page
    with schema_context("acme"):
        assert "ERP: connected" in ConnectionSettings.load().last_test_result


def test_the_connection_test_names_refused_credentials(demo_world, acme_admin):
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.shipstation_api_secret = "not-the-secret"
        row.save()
    page = press_test(acme_admin)
    assert "ERP: connected" in page
    assert "ShipStation: not reachable" in page
    assert "not-the-secret" not in page
