"""Credentials are ciphertext in the database, never shown back, and survive key rotation."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from sandbox.demo_data import ionapi_file
from tenant_settings.models import ConnectionSettings
from tenants.models import Api2CartAccount, Store

IONAPI = json.dumps(ionapi_file("acme", "http://127.0.0.1:8900"))


def raw_row(table: str, pk: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [c.name for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def store_with_secrets() -> Store:
    account = Api2CartAccount.objects.create(name="main", api_key="a2c-account-key-PLAIN")
    return Store.objects.create(
        name="shop",
        display_name="Shop",
        platform="Shopify",
        url="https://shop.example",
        account=account,
        store_key="store-key-PLAIN",
    )


def test_credentials_are_ciphertext_in_the_database(acme):
    store = store_with_secrets()
    raw = raw_row("tenants_store", store.pk)
    assert raw["store_key"].startswith("fernet:")
    assert "PLAIN" not in json.dumps(raw, default=str)
    assert Store.objects.get(pk=store.pk).store_key == "store-key-PLAIN"

    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.erp_ionapi = IONAPI
        row.shipstation_api_secret = "ss-secret-PLAIN"
        row.save()
        raw = raw_row("tenant_settings_connectionsettings", row.pk)
    assert "ss-secret-PLAIN" not in json.dumps(raw, default=str)
    assert "sbx-client-secret-acme" not in json.dumps(raw, default=str)
    assert raw["erp_ionapi"].startswith("fernet:")


def test_credentials_decrypt_after_key_rotation(acme, settings):
    old_key = settings.HUB_ENCRYPTION_KEYS[0]
    store = store_with_secrets()
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.shipstation_api_key = "ss-key-before-rotation"
        row.save()
    before = raw_row("tenants_store", store.pk)["store_key"]

    new_key = Fernet.generate_key().decode()
    settings.HUB_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    after = raw_row("tenants_store", store.pk)["store_key"]
    assert after != before

    settings.HUB_ENCRYPTION_KEYS = [new_key]  # the old key is gone for good
    assert Store.objects.get(pk=store.pk).store_key == "store-key-PLAIN"
    assert Api2CartAccount.objects.get().api_key == "a2c-account-key-PLAIN"
    with schema_context("acme"):
        assert ConnectionSettings.load().shipstation_api_key == "ss-key-before-rotation"


def test_a_removed_key_fails_loudly_not_silently(acme, settings):
    store = store_with_secrets()
    settings.HUB_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="rotate_encryption_keys"):
        Store.objects.get(pk=store.pk)


def test_connection_settings_page_never_shows_secrets_back(acme_admin, acme):
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.erp_ionapi = IONAPI
        row.shipstation_api_key = "sbx-ss-acme-key"
        row.shipstation_api_secret = "sbx-ss-acme-secret"
        row.save()
    page = acme_admin.get(f"/admin/tenant_settings/connectionsettings/{row.pk}/change/")
    assert page.status_code == 200
    for secret in (
        b"sbx-ss-acme-secret",
        b"sbx-client-secret-acme",
        b"sbx-service-secret-acme",
        b"sbx-ss-acme-key",
    ):
        assert secret not in page.content
    assert b"ION tenant ACME_TST" in page.content
    assert b"sbx-\xe2\x80\xa6ey" in page.content  # masked API key


def connection_form(**overrides) -> dict:
    data = {
        "erp_company": "100",
        "erp_division": "AAA",
        "erp_warehouse": "100",
        "erp_order_type": "",
        "erp_customer_template": "",
        "erp_default_customer": "ACWEB00001",
        "missing_customer_policy": "create",
        "sku_is_erp_item": "on",
        "shipstation_base_url": "https://ssapi.shipstation.com",
        "alert_attention_threshold": "10",
        "shipstation_api_key": "",
        "shipstation_api_secret": "",
        "ionapi_text": "",
    }
    data.update(overrides)
    return data


def test_ionapi_upload_is_validated_and_stored(acme_admin, acme):
    with schema_context("acme"):
        pk = ConnectionSettings.load().pk
    url = f"/admin/tenant_settings/connectionsettings/{pk}/change/"
    broken = {k: v for k, v in json.loads(IONAPI).items() if k != "ci"}
    response = acme_admin.post(
        url,
        connection_form(ionapi_file=SimpleUploadedFile("bad.ionapi", json.dumps(broken).encode())),
    )
    assert response.status_code == 200
    assert b"missing the key(s): ci" in response.content

    response = acme_admin.post(url, connection_form(ionapi_text="{not json"))
    assert b"not valid JSON" in response.content

    response = acme_admin.post(
        url,
        connection_form(
            ionapi_file=SimpleUploadedFile("acme.ionapi", IONAPI.encode()),
            shipstation_api_key="new-ss-key",
            shipstation_api_secret="new-ss-secret",
        ),
    )
    assert response.status_code == 302
    with schema_context("acme"):
        row = ConnectionSettings.load()
        assert row.ionapi.tenant == "ACME_TST"
        assert row.shipstation_api_secret == "new-ss-secret"

    # Blank secret inputs keep what is stored.
    acme_admin.post(url, connection_form(erp_division="BBB"))
    with schema_context("acme"):
        row = ConnectionSettings.load()
        assert (row.erp_division, row.shipstation_api_secret) == ("BBB", "new-ss-secret")
        assert row.ionapi.tenant == "ACME_TST"


def test_a_pathological_ionapi_paste_is_a_form_error_and_never_echoed(acme_admin, acme):
    with schema_context("acme"):
        pk = ConnectionSettings.load().pk
    url = f"/admin/tenant_settings/connectionsettings/{pk}/change/"
    deep = acme_admin.post(url, connection_form(ionapi_text="[" * 50_000))
    assert deep.status_code == 200
    assert b"not valid JSON" in deep.content or b"at most" in deep.content
    leaky = json.dumps({**json.loads(IONAPI), "ci": ""})
    response = acme_admin.post(url, connection_form(ionapi_text=leaky))
    assert b"missing the key(s): ci" in response.content
    assert b"sbx-client-secret-acme" not in response.content


def test_production_refuses_upstream_urls_on_private_addresses(acme_admin, acme, settings):
    settings.HUB_ALLOW_PRIVATE_UPSTREAMS = False
    with schema_context("acme"):
        pk = ConnectionSettings.load().pk
    url = f"/admin/tenant_settings/connectionsettings/{pk}/change/"
    response = acme_admin.post(
        url,
        connection_form(ionapi_text=IONAPI, shipstation_base_url="https://127.0.0.1:6379"),
    )
    assert response.status_code == 200
    assert b"The .ionapi &#x27;iu&#x27; URL must be an https:// URL." in response.content
    assert b"The ShipStation URL points at a private address (127.0.0.1)." in response.content
