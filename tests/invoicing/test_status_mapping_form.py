"""The store status mapping is chosen from the store's `order.status.list`, not free text."""

from __future__ import annotations

import pytest

from connectors.api2cart.records import OrderStatus
from connectors.errors import RetryableError
from invoicing.models import StoreStatusMapping
from tenants.models import Api2CartAccount, Store, StoreMembership

ADD = "/admin/invoicing/storestatusmapping/add/"
STATUSES = [OrderStatus("Completed", "Completed"), OrderStatus("5", "Invoiced paid")]


class FakeClient:
    def __init__(self, statuses):
        self.statuses = statuses

    def order_statuses(self):
        if isinstance(self.statuses, Exception):
            raise self.statuses
        return self.statuses


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


@pytest.fixture
def store_statuses(monkeypatch):
    client = FakeClient(STATUSES)
    monkeypatch.setattr("invoicing.admin.api2cart_for_store", lambda store: client)
    return client


def saved(in_schema):
    with in_schema("acme"):
        return list(StoreStatusMapping.objects.values_list("store_id", "invoiced_status"))


def test_a_status_the_store_does_not_offer_is_refused(
    acme_admin, stores, store_statuses, in_schema
):
    mine, _ = stores
    response = acme_admin.post(ADD, {"store": mine.pk, "invoiced_status": "Invoiced"})
    assert response.status_code == 200
    assert b"has no order status &#x27;Invoiced&#x27;" in response.content
    assert b"Invoiced paid" in response.content
    assert saved(in_schema) == []


@pytest.mark.parametrize("given", ["5", "invoiced PAID", "5 "])
def test_an_id_or_a_name_in_any_case_is_kept_as_the_id(
    acme_admin, stores, store_statuses, in_schema, given
):
    mine, _ = stores
    response = acme_admin.post(ADD, {"store": mine.pk, "invoiced_status": given})
    assert response.status_code == 302
    assert saved(in_schema) == [(mine.pk, "5")]


def test_the_change_page_offers_the_stores_statuses_as_choices(
    acme_admin, stores, store_statuses, in_schema
):
    mine, _ = stores
    with in_schema("acme"):
        mapping = StoreStatusMapping.objects.create(store_id=mine.pk, invoiced_status="Completed")
    page = acme_admin.get(f"/admin/invoicing/storestatusmapping/{mapping.pk}/change/")
    assert page.status_code == 200
    assert b'<select name="invoiced_status"' in page.content
    assert b'<option value="5">Invoiced paid (5)</option>' in page.content


def test_an_unreachable_store_is_a_form_error_not_a_500(acme_admin, stores, monkeypatch, in_schema):
    mine, _ = stores
    client = FakeClient(RetryableError("order.status.list: HTTP 503"))
    monkeypatch.setattr("invoicing.admin.api2cart_for_store", lambda store: client)
    response = acme_admin.post(ADD, {"store": mine.pk, "invoiced_status": "5"})
    assert response.status_code == 200
    assert b"could not be reached" in response.content
    assert saved(in_schema) == []


def test_only_the_tenants_stores_are_offered(acme_admin, stores, store_statuses, in_schema):
    _, theirs = stores
    assert b"GLOBEX SECRET STORE" not in acme_admin.get(ADD).content
    response = acme_admin.post(ADD, {"store": theirs.pk, "invoiced_status": "5"})
    assert response.status_code == 200
    assert saved(in_schema) == []
