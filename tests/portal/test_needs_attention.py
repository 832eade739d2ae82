"""The tenant's needs-attention list: each item says what to do next and links to the place."""

from __future__ import annotations

from django_tenants.utils import schema_context

from orders.models import Order


def parked(number: str, hint: str, state: str = Order.State.NEEDS_ATTENTION) -> Order:
    with schema_context("acme"):
        return Order.objects.create(
            source=Order.Source.API, store_order_id=number, order_number=number, state=state,
            state_message="ERP refused item AC-9", last_error="ERP refused item AC-9",
            last_error_hint=hint,
        )  # fmt: skip


def test_each_item_says_what_to_do_and_links_where(acme_admin, acme):
    unbound = parked("NA-1", "Bind the SKU(s) to ERP items in Catalog › Item bindings, then retry.")
    gave_up = parked("NA-2", "", state=Order.State.FAILED)
    page = acme_admin.get("/admin/orders/order/needs-attention/")
    assert page.status_code == 200
    items = {item.title.split(" ")[0]: item for item in page.context["items"]}
    assert items["NA-1"].next_url == "/admin/catalog/itembinding/"
    assert items["NA-1"].url == f"/admin/orders/order/{unbound.pk}/change/"
    assert items["NA-1"].next_step.startswith("Bind the SKU(s)")
    assert items["NA-2"].next_url == f"/admin/orders/order/{gave_up.pk}/change/"
    assert "gave up retrying" in items["NA-2"].next_step
    assert page.content.decode().count('class="attention-item"') == 2


def test_the_list_is_the_tenants_own(acme_admin, globex_admin, acme):
    parked("NA-3", "")
    page = globex_admin.get("/admin/orders/order/needs-attention/")
    assert page.status_code == 200
    assert page.context["items"] == []
    assert b"Nothing waits for a person" in page.content


def test_a_disconnected_store_is_on_its_tenants_list_and_the_platform_says_what_to_do(
    acme_admin, platform_staff, acme, globex
):
    from tenants.models import Api2CartAccount, Store, StoreMembership

    account = Api2CartAccount.objects.create(name="a", api_key="k")
    store = Store.objects.create(
        name="acme-shop", display_name="Acme shop", platform="Shopify", url="https://s.example",
        account=account, store_key="k", status=Store.Status.DISCONNECTED,
        status_message="Store key revoked",
    )  # fmt: skip
    StoreMembership.objects.create(store=store, tenant=acme)
    items = acme_admin.get("/admin/orders/order/needs-attention/").context["items"]
    assert [(i.kind, i.title, i.problem) for i in items] == [
        ("Store", "Acme shop", "Store key revoked")
    ]
    assert "next successful poll" in items[0].next_step
    platform = platform_staff.get("/admin/").content.decode()
    assert "the hub clears this by itself" in platform
    assert f'href="/admin/tenants/store/{store.pk}/change/">Store settings' in platform


def test_a_shipment_is_read_only(acme_admin, acme):
    from shipping.models import Shipment

    with schema_context("acme"):
        order = Order.objects.create(source="api", store_order_id="S-1", order_number="S-1")
        shipment = Shipment.objects.create(order=order, origin="shipstation", source_id="77")
    page = acme_admin.get(f"/admin/shipping/shipment/{shipment.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    listing = acme_admin.get("/admin/shipping/shipment/")
    assert b"retry_shipments" in listing.content
