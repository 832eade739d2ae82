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


def shop_of(tenant, name: str = "acme-shop"):
    from tenants.models import Api2CartAccount, Store, StoreMembership

    account, _ = Api2CartAccount.objects.get_or_create(name="a", defaults={"api_key": "k"})
    store = Store.objects.create(
        name=name, display_name=name, platform="Shopify", url=f"https://{name}.example",
        account=account, store_key=name,
    )  # fmt: skip
    StoreMembership.objects.create(store=store, tenant=tenant)
    return store


def parked_event(store, order_id: str, error: str):
    from inbox.models import InboxItem

    return InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK, store=store, dedupe_key=f"k-{store.pk}-{order_id}",
        entity="order", action="add", entity_id=order_id, body="{}",
        state=InboxItem.State.NEEDS_ATTENTION, last_error=error,
        last_error_hint="Give the SKU an owner under the store's SKU ownership, then retry.",
    )  # fmt: skip


def test_the_tenants_parked_store_events_are_listed_and_only_its_own(
    acme_admin, globex_admin, acme, globex
):
    ours = parked_event(shop_of(acme), "5001", "No tenant of the store owns SKU ZZ-1.")
    parked_event(shop_of(globex, "globex-shop"), "6001", "No tenant of the store owns SKU QQ-2.")
    items = acme_admin.get("/admin/orders/order/needs-attention/").context["items"]
    assert [(i.kind, i.problem) for i in items] == [
        ("Store event", "No tenant of the store owns SKU ZZ-1.")
    ]
    assert items[0].title == "acme-shop: order.add 5001"
    assert items[0].retry_key == f"inbox.inboxitem:{ours.pk}"
    front = acme_admin.get("/admin/").context["orders"]
    assert front.attention_total == 1


def test_identical_problems_are_one_group_with_a_count(acme_admin, acme):
    for number in ("G-1", "G-2", "G-3"):
        parked(number, "Bind the SKU(s) to ERP items in Catalog › Item bindings, then retry.")
    parked("G-4", "", state=Order.State.FAILED)
    page = acme_admin.get("/admin/orders/order/needs-attention/")
    groups = page.context["groups"]
    assert sorted(len(g.items) for g in groups) == [1, 3]
    html = page.content.decode()
    assert html.count('class="attention-item"') == 2
    assert "× 3" in html and "Retry all 3" in html


def test_retry_in_place_retries_through_each_rows_own_action(acme_admin, acme):
    from inbox.models import InboxItem

    order = parked("R-1", "Bind the SKU(s) to ERP items in Catalog › Item bindings, then retry.")
    event = parked_event(shop_of(acme), "5002", "No tenant of the store owns SKU ZZ-1.")
    page = acme_admin.post(
        "/admin/orders/order/needs-attention/",
        {"retry": [f"orders.order:{order.pk}", f"inbox.inboxitem:{event.pk}"]},
    )
    assert page.status_code == 302
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state != Order.State.NEEDS_ATTENTION
        assert order.events.filter(step="retried").exists()
    event.refresh_from_db()
    assert event.state == InboxItem.State.PENDING
    assert event.last_error == ""


def test_retry_in_place_touches_nothing_off_the_list_or_for_a_viewer(acme_admin, acme, globex):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from inbox.models import InboxItem
    from tests.support.portal import signed_in

    theirs = parked_event(shop_of(globex, "globex-shop"), "6002", "No owner of SKU QQ-2.")
    acme_admin.post("/admin/orders/order/needs-attention/",
                    {"retry": [f"inbox.inboxitem:{theirs.pk}"]})  # fmt: skip
    theirs.refresh_from_db()
    assert theirs.state == InboxItem.State.NEEDS_ATTENTION

    order = parked("R-2", "")
    with schema_context("acme"):
        viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
        viewer.groups.add(Group.objects.get(name="Viewer"))
    portal = signed_in("acme.localhost", "viewer", "pw")
    page = portal.get("/admin/orders/order/needs-attention/")
    assert b"retry-in-place" not in page.content
    portal.post("/admin/orders/order/needs-attention/", {"retry": [f"orders.order:{order.pk}"]})
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state == Order.State.NEEDS_ATTENTION


def test_the_attempt_count_says_it_restarts_at_each_retry(acme_admin, acme):
    order = parked("AT-1", "")
    page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Attempts since the last success or retry" in page
