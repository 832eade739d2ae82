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
