"""Carrier mappings: only for the tenant's stores, never with an empty target."""

from __future__ import annotations

import pytest

from core import work
from shipping import store_post
from shipping.models import CarrierMapping
from tenants.models import Api2CartAccount, Store, StoreMembership

ADD = "/admin/shipping/carriermapping/add/"


@pytest.fixture
def stores(acme, globex):
    account = Api2CartAccount.objects.create(name="a", api_key="k")
    mine = Store.objects.create(
        name="acme-shop", display_name="Acme shop", platform="Shopify",
        url="https://a.example", account=account, store_key="a",
    )  # fmt: skip
    theirs = Store.objects.create(
        name="globex-shop", display_name="GLOBEX SECRET STORE", platform="Shopify",
        url="https://g.example", account=account, store_key="g",
    )  # fmt: skip
    StoreMembership.objects.create(store=mine, tenant=acme)
    StoreMembership.objects.create(store=theirs, tenant=globex)
    return mine, theirs


def mappings(in_schema):
    with in_schema("acme"):
        return list(CarrierMapping.objects.values_list("store_id", "code", "store_carrier_id"))


def test_only_the_tenants_stores_are_offered(acme_admin, stores, in_schema):
    _, theirs = stores
    page = acme_admin.get(ADD)
    assert page.status_code == 200
    assert b"GLOBEX SECRET STORE" not in page.content
    assert b"Acme shop" in page.content or b"acme-shop" in page.content
    data = {"store": theirs.pk, "origin": "shipstation", "code": "ups", "store_carrier_id": "1"}
    response = acme_admin.post(ADD, data)
    assert response.status_code == 200
    assert mappings(in_schema) == []


@pytest.mark.parametrize("target", ["", "   "])
def test_an_empty_target_is_refused(acme_admin, stores, in_schema, target):
    mine, _ = stores
    data = {"store": mine.pk, "origin": "shipstation", "code": "ups", "store_carrier_id": target}
    response = acme_admin.post(ADD, data)
    assert response.status_code == 200
    assert mappings(in_schema) == []


def test_a_mapping_with_a_target_is_saved(acme_admin, stores, in_schema):
    mine, _ = stores
    data = {"store": mine.pk, "origin": "shipstation", "code": "ups", "store_carrier_id": " 7 "}
    assert acme_admin.post(ADD, data).status_code == 302
    assert mappings(in_schema) == [(mine.pk, "ups", "7")]


def test_no_carrier_of_the_store_parks_the_shipment_without_a_mapping(
    stores, in_schema, monkeypatch
):
    mine, _ = stores
    monkeypatch.setattr(store_post, "store_carriers", lambda client, store: [("9", "DHL")])
    with in_schema("acme"):
        with pytest.raises(work.NeedsAttention):
            store_post.store_carrier(None, mine, "shipstation", "stamps_com")
        assert not CarrierMapping.objects.exists()
        assert store_post.store_carrier(None, mine, "shipstation", "dhl") == "9"
        assert CarrierMapping.objects.get(code="dhl").store_carrier_id == "9"


def test_a_mapping_with_an_empty_target_parks_the_shipment(stores, in_schema, monkeypatch):
    mine, _ = stores
    monkeypatch.setattr(store_post, "store_carriers", lambda client, store: [("9", "DHL")])
    with in_schema("acme"):
        CarrierMapping.objects.create(store=mine, origin="shipstation", code="dhl")
        with pytest.raises(work.NeedsAttention):
            store_post.store_carrier(None, mine, "shipstation", "dhl")


def test_the_list_edit_refuses_an_empty_target_too(rf, acme):
    from django_tenants.utils import tenant_context

    from core.admin_sites import tenant_admin
    from shipping.admin import CarrierMappingForm

    with tenant_context(acme):
        formset = tenant_admin._registry[CarrierMapping].get_changelist_formset(rf.get("/"))
    assert issubclass(formset.form, CarrierMappingForm)
