"""The portal's "Test connection" button against the sandbox's ION/M3 and ShipStation: each
upstream is connected, not configured, refused or not reachable, and the ERP's customer
template, company and division are read; warehouse and order type are shown as not checked."""

from django_tenants.utils import schema_context

from tenant_settings.models import ConnectionSettings
from tests.support.harness import free_port


def change(**values: str) -> None:
    """Each test's changes are rolled back with its transaction (the `db` fixture)."""
    with schema_context("acme"):
        row = ConnectionSettings.load()
        for name, value in values.items():
            setattr(row, name, value)
        row.save()


def press_test(portal) -> str:
    with schema_context("acme"):
        pk = ConnectionSettings.load().pk
    page = portal.post(f"/admin/tenant_settings/connectionsettings/{pk}/test/", follow=True)
    assert page.status_code == 200
    return page.content.decode()


def test_the_connection_test_reaches_both_upstreams(demo_world, acme_admin):
    change(erp_order_type="B2C")
    page = press_test(acme_admin)
    assert "ERP: connected to ION tenant ACME_TST." in page
    assert "ERP customer template ACTEMPLATE: found (CRS610MI/GetBasicData)." in page
    assert "ERP company 100: the template answered for it." in page
    assert "ERP division AAA: the customer template belongs to it." in page
    assert "ERP warehouse 100: not checked" in page
    assert "ERP order type B2C: not checked" in page
    assert "ShipStation: connected (" in page
    with schema_context("acme"):
        assert "ERP: connected" in ConnectionSettings.load().last_test_result


def test_nothing_entered_yet_reads_not_configured(demo_world, acme_admin):
    change(erp_ionapi="", shipstation_api_key="", shipstation_api_secret="")
    calls = demo_world.sandbox.status()["m3"]["token_requests"]
    page = press_test(acme_admin)
    assert "ERP: not configured: upload the tenant&#x27;s .ionapi file." in page
    assert "ShipStation: not configured: enter the ShipStation API key and secret." in page
    assert "not reachable" not in page
    assert demo_world.sandbox.status()["m3"]["token_requests"] == calls


def test_the_connection_test_names_refused_credentials(demo_world, acme_admin):
    change(shipstation_api_secret="not-the-secret")
    page = press_test(acme_admin)
    assert "ERP: connected" in page
    assert "ShipStation: refused: " in page
    assert "not-the-secret" not in page


def test_an_upstream_that_does_not_answer_is_not_reachable(demo_world, acme_admin):
    change(shipstation_base_url=f"http://127.0.0.1:{free_port()}/shipstation")
    page = press_test(acme_admin)
    assert "ShipStation: not reachable: " in page


def test_a_wrong_company_division_or_template_is_refused(demo_world, acme_admin):
    change(erp_company="999")
    assert "ERP company 999: refused: " in press_test(acme_admin)
    change(erp_company="100", erp_division="ZZZ")
    page = press_test(acme_admin)
    assert "ERP division ZZZ: refused: the customer template belongs to division AAA." in page
    change(erp_division="AAA", erp_customer_template="NOSUCH")
    page = press_test(acme_admin)
    assert "ERP customer template NOSUCH: refused: the ERP has no customer NOSUCH" in page
