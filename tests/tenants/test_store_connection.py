"""Connecting stores, registering webhooks and the inbox admin, against a real sandbox."""

from __future__ import annotations

import pytest
from django.test import Client

from inbox.models import InboxItem
from sandbox import demo_data
from tenants.models import ActivityEvent, Store, StoreWebhook
from tenants.store_clients import api2cart_for_store
from tenants.store_connection import (
    StoreConnectionError,
    callback_url,
    register_webhooks,
    validate_store_key,
)
from tests.support.stores import WEBHOOK_HOST, make_store

STORES = "/admin/tenants/store/"


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox):
    sandbox.reset()


def store_form(account, **overrides) -> dict:
    demo = demo_data.store("acme-outlet")
    return {
        "name": "outlet",
        "display_name": "Outlet",
        "platform": demo.cart_id,
        "url": demo.url,
        "account": account.pk,
        "store_key": demo.store_key,
        "webhook_mode": "push",
        "poll_interval_minutes": 5,
        "signature_mode": "off",
        "signature_secret": "",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
        **overrides,
    }


# --- store key validation -------------------------------------------------------------------


def test_a_valid_store_key_returns_the_cart_info(sandbox_account):
    info = validate_store_key(sandbox_account, demo_data.store("northwind").store_key)
    assert info.url == demo_data.store("northwind").url


def test_an_unknown_store_key_raises_with_api2carts_message(sandbox_account):
    with pytest.raises(StoreConnectionError, match="API2Cart said"):
        validate_store_key(sandbox_account, "not-a-store-key")


def test_an_unreachable_api2cart_is_a_form_friendly_error(account):
    with pytest.raises(StoreConnectionError, match="could not be reached"):
        validate_store_key(account, "any-key")


def test_admin_refuses_a_store_key_api2cart_does_not_know(sandbox_account, platform_staff):
    response = platform_staff.post(f"{STORES}add/", store_form(sandbox_account, store_key="nope"))
    assert response.status_code == 200
    assert "API2Cart said" in response.content.decode()
    assert not Store.objects.filter(name="outlet").exists()


def test_admin_adds_a_store_with_a_valid_key_and_audits_it(sandbox_account, platform_staff):
    response = platform_staff.post(f"{STORES}add/", store_form(sandbox_account))
    assert response.status_code == 302
    store = Store.objects.get(name="outlet")
    assert store.store_key == demo_data.store("acme-outlet").store_key
    assert ActivityEvent.objects.filter(action="store.connected", object_id=str(store.pk))


def test_editing_a_store_without_a_new_key_does_not_call_api2cart(account, store, platform_staff):
    data = store_form(account, name=store.name, store_key="", display_name="Renamed")
    response = platform_staff.post(f"{STORES}{store.pk}/change/", data)
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.display_name == "Renamed"


# --- connecting a new store with platform credentials --------------------------------------


def test_connect_page_lists_the_supported_platforms(sandbox_account, platform_staff):
    page = platform_staff.get(f"{STORES}connect/").content.decode()
    assert "Connect a new store" in page
    assert "Shopify" in page and "WooCommerce (API)" in page
    assert "Shopify Admin API access token" in page and 'name="shopify_access_token"' in page


def test_only_the_chosen_platforms_credentials_are_shown(sandbox_account, platform_staff):
    page = platform_staff.get(f"{STORES}connect/?platform=Shopify").content.decode()
    assert 'name="wc_consumer_key"' not in page and 'name="store_key"' not in page
    page = platform_staff.get(f"{STORES}connect/?platform=WoocommerceApi").content.decode()
    assert "WooCommerce (API) REST API consumer key" in page and "starts with ck_" in page
    assert 'name="wc_consumer_key"' in page and 'name="shopify_access_token"' not in page
    assert "WooCommerce (API) REST API consumer secret" in page


def test_every_credential_of_the_chosen_platform_is_required(sandbox_account, platform_staff):
    data = {
        "account": sandbox_account.pk, "name": "woo", "display_name": "Woo",
        "cart_id": "WoocommerceApi", "store_url": "https://woo.example", "wc_consumer_key": "ck_1",
    }  # fmt: skip
    response = platform_staff.post(f"{STORES}connect/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("This field is required.") == 1
    assert 'name="wc_consumer_secret"' in page and 'name="shopify_access_token"' not in page
    assert not Store.objects.filter(name="woo").exists()
    assert 'value="WoocommerceApi" selected' in page


def test_another_platforms_credentials_are_neither_checked_nor_sent(
    sandbox, sandbox_account, platform_staff
):
    made = sandbox.control("api2cart", "add-store", name="made-shop", products=2)
    response = platform_staff.post(
        f"{STORES}connect/",
        {
            "account": sandbox_account.pk,
            "name": "made-shop",
            "display_name": "Made Shop",
            "cart_id": "Shopify",
            "store_url": made["url"],
            "shopify_access_token": made["credentials"]["shopify_access_token"],
            "wc_consumer_key": "ck_not-this-platform",
        },
    )
    assert response.status_code == 302
    assert Store.objects.get(name="made-shop").store_key == made["store_key"]


def test_credentials_the_platform_refuses_are_shown_on_the_form(
    sandbox, sandbox_account, platform_staff
):
    made = sandbox.control("api2cart", "add-store", name="made-shop", products=2)
    data = {
        "account": sandbox_account.pk, "name": "made-shop", "display_name": "Made Shop",
        "cart_id": "Shopify", "store_url": made["url"], "shopify_access_token": "shpat_wrong",
    }  # fmt: skip
    response = platform_staff.post(f"{STORES}connect/", data)
    assert response.status_code == 200
    assert "the platform refused the credentials" in response.content.decode()
    assert not Store.objects.filter(name="made-shop").exists()


def test_connecting_a_store_creates_it_with_the_new_key(sandbox, sandbox_account, platform_staff):
    response = platform_staff.post(
        f"{STORES}connect/",
        {
            "account": sandbox_account.pk,
            "name": "fresh-shop",
            "display_name": "Fresh Shop",
            "cart_id": "Shopify",
            "store_url": "https://fresh-shop.myshopify.com",
            "shopify_access_token": "shpat_secret",
        },
    )
    assert response.status_code == 302
    store = Store.objects.get(name="fresh-shop")
    assert (store.platform, store.url) == ("Shopify", "https://fresh-shop.myshopify.com")
    assert api2cart_for_store(store).cart_info().url == store.url
    event = ActivityEvent.objects.get(action="store.connected", object_id=str(store.pk))
    assert "shpat_secret" not in event.message


def test_connecting_needs_the_platforms_credentials(sandbox_account, platform_staff):
    response = platform_staff.post(
        f"{STORES}connect/",
        {
            "account": sandbox_account.pk,
            "name": "fresh-shop",
            "display_name": "Fresh Shop",
            "cart_id": "Shopify",
            "store_url": "https://fresh-shop.myshopify.com",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Shopify Admin API access token" in page and "This field is required." in page
    assert not Store.objects.filter(name="fresh-shop").exists()


def test_api2cart_refusing_the_connection_is_shown_and_audited(sandbox_account, platform_staff):
    data = {
        "account": sandbox_account.pk,
        "name": "twin",
        "display_name": "Twin",
        "cart_id": "Shopify",
        "store_url": demo_data.store("northwind").url,  # already connected: code 8
        "shopify_access_token": "x",
    }
    response = platform_staff.post(f"{STORES}connect/", data)
    assert response.status_code == 200
    assert "already connected" in response.content.decode()
    assert not Store.objects.filter(name="twin").exists()
    assert ActivityEvent.objects.filter(action="store.connected", outcome="failure")


# --- webhook registration ------------------------------------------------------------------


def test_registration_subscribes_order_events_once(sandbox_store):
    first = register_webhooks(sandbox_store)
    assert first.created == ["order.add", "order.update"]
    second = register_webhooks(sandbox_store)
    assert second.created == [] and second.already_registered == ["order.add", "order.update"]

    remote = list(api2cart_for_store(sandbox_store).webhooks())
    assert sorted((h.entity, h.action) for h in remote) == [("order", "add"), ("order", "update")]
    assert {h.callback for h in remote} == {callback_url(sandbox_store)}
    rows = StoreWebhook.objects.filter(store=sandbox_store)
    assert sorted(rows.values_list("remote_id", flat=True)) == sorted(h.id for h in remote)


def test_registration_after_a_token_rotation_replaces_the_old_webhooks(sandbox_store):
    register_webhooks(sandbox_store)
    sandbox_store.rotate_webhook_token()
    sandbox_store.save()
    report = register_webhooks(sandbox_store)
    assert report.removed_stale == 2 and len(report.created) == 2
    remote = list(api2cart_for_store(sandbox_store).webhooks())
    assert {h.callback for h in remote} == {callback_url(sandbox_store)}
    assert StoreWebhook.objects.filter(store=sandbox_store).count() == 2


def test_a_store_without_order_webhooks_is_switched_to_polling(sandbox_store, sandbox):
    sandbox.control("api2cart", "store-settings", store="northwind", supports_webhooks=False)
    try:
        report = register_webhooks(sandbox_store)
    finally:
        sandbox.control("api2cart", "store-settings", store="northwind", supports_webhooks=True)
    assert report.switched_to_poll
    assert "switched to polling" in report.summary()
    sandbox_store.refresh_from_db()
    assert sandbox_store.webhook_mode == Store.WebhookMode.POLL
    assert not StoreWebhook.objects.exists()


def test_register_action_reports_per_store_and_audits(sandbox_store, account, platform_staff):
    store = make_store(account, "acme-outlet")  # its account's API2Cart is unreachable
    response = platform_staff.post(
        STORES,
        {"action": "register_webhooks", "_selected_action": [sandbox_store.pk, store.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "subscribed order.add, order.update" in page
    assert f"{store}: webhooks not registered" in page
    events = ActivityEvent.objects.filter(action="store.webhooks_registered")
    assert {(e.object_id, e.outcome) for e in events} == {
        (str(sandbox_store.pk), "success"),
        (str(store.pk), "failure"),
    }


def test_signed_sandbox_deliveries_pass_an_enforcing_store(
    sandbox, sandbox_store, receiver, settings
):
    """What the sandbox really sends (header case, body bytes, signature) is accepted."""
    settings.HUB_PUBLIC_URL = receiver.url
    sandbox.control("api2cart", "store-settings", store="northwind", sign_webhooks=True)
    sandbox_store.signature_mode = Store.SignatureMode.ENFORCE
    sandbox_store.save()
    register_webhooks(sandbox_store)
    sandbox.control("api2cart", "place-orders", store="northwind", count=1)
    [(headers, body)] = receiver.wait_for(1)
    assert "X-Webhook-Signature" in headers

    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    meta.pop("HTTP_CONTENT_LENGTH", None)
    meta.pop("HTTP_CONTENT_TYPE", None)
    path = f"/webhooks/api2cart/{sandbox_store.webhook_token}/"
    response = Client().post(
        path, data=body, content_type="application/json", **{**meta, "HTTP_HOST": WEBHOOK_HOST}
    )
    assert response.status_code == 200
    meta["HTTP_X_WEBHOOK_SIGNATURE"] = "tampered"
    response = Client().post(
        path, data=body, content_type="application/json", **{**meta, "HTTP_HOST": WEBHOOK_HOST}
    )
    assert response.status_code == 401
    assert InboxItem.objects.count() == 1


# --- inbox admin ---------------------------------------------------------------------------


def test_retry_action_requeues_failed_items_and_audits(store, platform_staff):
    item = InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK,
        store=store,
        dedupe_key="k" * 64,
        entity="order",
        action="add",
        entity_id="42",
        body="{}",
        state=InboxItem.State.FAILED,
        attempts=8,
        last_error="Gave up",
    )
    listing = platform_staff.get("/admin/inbox/inboxitem/?state__exact=failed&q=42")
    assert listing.status_code == 200 and "42" in listing.content.decode()

    response = platform_staff.post(
        "/admin/inbox/inboxitem/", {"action": "retry", "_selected_action": [item.pk]}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.state, item.attempts, item.lease_until) == (InboxItem.State.PENDING, 0, None)
    assert item.next_attempt_at is not None
    event = ActivityEvent.objects.get(action="inbox.retry")
    assert (event.object_id, event.actor) == (str(item.pk), "platform")


def test_inbox_items_are_read_only_in_the_admin(store, platform_staff):
    item = InboxItem.objects.create(
        source=InboxItem.Source.POLL, store=store, dedupe_key="p" * 64, body='{"id": "1"}'
    )
    page = platform_staff.get(f"/admin/inbox/inboxitem/{item.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert platform_staff.get("/admin/inbox/inboxitem/add/").status_code == 403
