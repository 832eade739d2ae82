"""The preview before anything is imported: how many orders are new, already in the hub, already
done and refused (with the problems, for files small enough to check on the page), and which
SKUs the catalog does not know, per order."""

from __future__ import annotations

from django_tenants.utils import schema_context

from catalog.models import ItemBinding
from orders.files.importing import Arrivals
from tenants.models import Api2CartAccount, Store
from tests.support.order_files import (
    confirm,
    first_shopify_row,
    lineitem,
    orders_of,
    shopify_export,
    shopify_row,
    upload,
)


def bind(*skus: str) -> None:
    """Catalog bindings of the tenant's store for these SKUs."""
    account = Api2CartAccount.objects.create(name="a", api_key="k")
    store = Store.objects.create(
        name="s", display_name="S", platform="Shopify", url="https://s.example",
        account=account, store_key="k",
    )  # fmt: skip
    with schema_context("acme"):
        for sku in skus:
            ItemBinding.objects.create(store=store, sku=sku, erp_item_number=f"I{sku}")


def mixed_export(*extra: list[str]):
    return shopify_export(
        first_shopify_row("#1001", **lineitem("#1001", "MUG-1", "1", "12.00")),
        shopify_row(**lineitem("#1001", "MUG-9", "1", "12.00")),
        first_shopify_row("#1002", **lineitem("#1002", "MUG-9", "2", "12.00"),
                          **{"Fulfillment Status": "fulfilled"}),
        first_shopify_row("#1003", **lineitem("#1003", "MUG-1", "0", "12.00")),
        *extra,
    )  # fmt: skip


def test_the_preview_counts_new_known_done_and_refused_orders(acme_admin):
    confirm(acme_admin, upload(acme_admin, shopify_export(
        first_shopify_row("#1000", **lineitem("#1000", "MUG-1", "1", "12.00")),
    )), new_channel="Shop A")  # fmt: skip
    file = mixed_export(first_shopify_row("#1000", **lineitem("#1000", "MUG-1", "1", "12.00")))

    preview = upload(acme_admin, file)

    found = preview.context["inspection"]
    assert (found.orders, found.new, found.known, found.refused) == (4, 2, 1, 1)
    assert found.arrivals == Arrivals(to_send=1, fulfilled=1)
    page = preview.content.decode()
    assert "4 orders, 2 new, 1 already in the hub (skipped), 1 refused." in page
    assert "Orders already in the hub for the channel <strong>Shop A</strong> are skipped" in page
    assert "1 to send, 1 already done (1 fulfilled) → kept as history only" in page
    assert "These orders will be refused (the others import)" in page
    assert "row 5, column Lineitem quantity: Must be greater than 0." in page
    assert len(orders_of("acme")) == 1  # nothing imported by looking


def test_the_preview_lists_the_skus_the_catalog_does_not_know_per_order(acme_admin):
    bind("MUG-1")

    preview = upload(acme_admin, mixed_export())

    assert preview.context["inspection"].unknown_skus == (("MUG-9", ("#1001", "#1002")),)
    page = preview.content.decode()
    assert "SKUs the catalog does not know (1): they are sent to the ERP as item numbers" in page
    assert "<code>MUG-9</code>: orders #1001, #1002" in page


def test_a_large_file_is_counted_but_checked_when_imported(acme_admin, settings):
    settings.HUB_CSV_SYNC_ROWS = 2

    preview = upload(acme_admin, mixed_export())

    found = preview.context["inspection"]
    assert (found.new, found.refused) == (3, None)
    assert "Orders with problems are found when importing" in preview.content.decode()
