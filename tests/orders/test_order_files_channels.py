"""Sales channels: every file comes from a shop, and an order is known by its shop and number.

Every Shopify shop starts at #1001, so two shops' #1001 are two orders; the same order again is
skipped and counted, never refused; a column may name each order's shop; orders another import
creates meanwhile are found and skipped instead of failing the file.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from orders.files import importing
from orders.files.importing import DEFAULT_CHANNEL, ImportOptions, import_orders
from orders.files.mapping import suggest
from orders.models import CsvImport, Order, SalesChannel
from tests.support.order_files import (
    SHOPIFY_HEADER,
    UPLOAD,
    confirm,
    first_shopify_row,
    lineitem,
    orders_of,
    shopify_export,
    shopify_row,
    table_file,
    upload,
)

NEW = "new"


def shop_file(*numbers: str):
    """A Shopify export with a two-line order per number."""
    rows = []
    for number in numbers:
        rows.append(first_shopify_row(number, **lineitem(number, "WIDGET-1", "2", "9.99")))
        rows.append(shopify_row(**lineitem(number, "GADGET-7", "1", "24.50")))
    return shopify_export(*rows)


def channels(schema: str = "acme") -> list[str]:
    with schema_context(schema):
        return list(SalesChannel.objects.values_list("name", flat=True))


def channel_pk(name: str) -> str:
    with schema_context("acme"):
        return str(SalesChannel.objects.get(name=name).pk)


def by_channel() -> list[tuple[str, str]]:
    with schema_context("acme"):
        return list(
            Order.objects.order_by("sales_channel__name", "order_number").values_list(
                "sales_channel__name", "order_number"
            )
        )


def test_a_tenant_without_channels_is_offered_a_new_one_named_after_the_export(acme_admin):
    preview = upload(acme_admin, shop_file("#1001"))

    form = preview.context["form"]
    assert (form["sales_channel"].value(), form["new_channel"].value()) == (NEW, "Shopify")
    page = preview.content.decode()
    assert "New channel…" in page and 'id="id_new_channel"' in page

    response = confirm(acme_admin, preview, new_channel="Shopify UK")

    assert response.status_code == 302
    assert channels() == ["Shopify UK"]
    assert by_channel() == [("Shopify UK", "#1001")]
    with schema_context("acme"):
        assert CsvImport.objects.get().sales_channel.name == "Shopify UK"


def test_two_shops_order_1001_both_import_and_each_file_again_is_skipped(acme_admin):
    confirm(acme_admin, upload(acme_admin, shop_file("#1001", "#1002")), new_channel="Shop A")

    second = upload(acme_admin, shop_file("#1001"))
    assert second.context["form"]["sales_channel"].value() == channel_pk("Shop A")  # last used
    assert second.context["inspection"].counts_text() == (
        "1 order, 0 new, 1 already in the hub (skipped)."
    )
    response = confirm(acme_admin, second, sales_channel=NEW, new_channel="Shop B")

    assert response.status_code == 302
    assert by_channel() == [("Shop A", "#1001"), ("Shop A", "#1002"), ("Shop B", "#1001")]

    again = confirm(acme_admin, upload(acme_admin, shop_file("#1001", "#1002")))  # Shop B
    assert again.status_code == 302
    listing = acme_admin.get(again.headers["Location"]).content.decode()
    assert "Imported 1 orders (2 lines)" in listing
    assert "1 skipped: the hub has them already." in listing
    assert by_channel() == [
        ("Shop A", "#1001"), ("Shop A", "#1002"), ("Shop B", "#1001"), ("Shop B", "#1002"),
    ]  # fmt: skip
    with schema_context("acme"):
        last = CsvImport.objects.order_by("-pk").first()
    assert (last.orders_created, last.orders_known, last.orders_refused) == (1, 1, 0)


def test_a_new_channel_named_like_an_existing_one_is_that_one(acme_admin):
    confirm(acme_admin, upload(acme_admin, shop_file("#1001")), new_channel="Etsy")

    response = confirm(
        acme_admin, upload(acme_admin, shop_file("#1001")), sales_channel=NEW, new_channel="etsy"
    )

    assert response.status_code == 302
    assert channels() == ["Etsy"]
    assert len(orders_of("acme")) == 1


def test_a_new_channel_needs_a_name(acme_admin):
    preview = upload(acme_admin, shop_file("#1001"))

    response = confirm(acme_admin, preview, new_channel="")

    assert response.status_code == 200
    assert response.context["form"].errors["new_channel"] == ["Name the new sales channel."]
    assert orders_of("acme") == [] and channels() == []


def test_a_sales_channel_column_names_each_orders_shop(acme_admin):
    header = "Order Number,Sales Channel,Email,Recipient Name,Address 1,City,Postal Code,Country,"
    header += "SKU,Quantity,Unit Price"
    rows = [
        "1001,Shop A,ann@ex.com,Ann,1 Main St,Austin,78701,US,W-1,1,5",
        "1001,,ann@ex.com,Ann,1 Main St,Austin,78701,US,W-2,1,5",  # blank: the order above
        "1001,Shop B,bo@ex.com,Bo,2 Elm St,Reno,89501,US,W-1,2,5",
        "1002,,cy@ex.com,Cy,3 Oak St,Boise,83702,US,W-1,1,5",  # blank: the upload's channel
    ]
    preview = upload(acme_admin, table_file([r.split(",") for r in [header, *rows]], "mixed.csv"))

    assert preview.context["inspection"].new_channels == ("Shop A", "Shop B")
    assert "New sales channels named by the file" in preview.content.decode()
    response = confirm(acme_admin, preview, new_channel="Web shop")

    assert response.status_code == 302
    assert by_channel() == [("Shop A", "1001"), ("Shop B", "1001"), ("Web shop", "1002")]
    with schema_context("acme"):
        shop_a = Order.objects.get(sales_channel__name="Shop A")
        assert [line.sku for line in shop_a.lines.all()] == ["W-1", "W-2"]


def test_fifty_good_orders_and_a_bad_one_import_fifty_and_offer_the_bad_one(acme_admin):
    numbers = [f"#{1000 + n}" for n in range(1, 51)]
    rows = [first_shopify_row(n, **lineitem(n, "WIDGET-1", "1", "9.99")) for n in numbers]
    rows.insert(20, first_shopify_row("#2000", **lineitem("#2000", "WIDGET-1", "1", "9.99")))
    tip = {**lineitem("#2000", "", "1", "5.00"), "Lineitem name": "Tip"}  # no SKU
    rows.insert(21, shopify_row(**tip))
    response = confirm(acme_admin, upload(acme_admin, shopify_export(*rows)), new_channel="A")

    assert response.status_code == 302
    with schema_context("acme"):
        kept = CsvImport.objects.get()
    assert (kept.orders_created, kept.orders_refused) == (50, 1)
    assert kept.problems == [
        "row 23, column Lineitem sku: Line 2 (Tip) has no SKU: enter the SKU of the item it "
        "sells, or remove the row if it is not an item (a tip, a gift card)."
    ]
    assert sorted(o.order_number for o in orders_of("acme")) == numbers
    bad_rows = acme_admin.get(f"{UPLOAD}{kept.pk}/bad-rows.csv").content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(bad_rows)))
    assert [(row[0], row[-1][:6]) for row in table[1:]] == [
        ("#2000", "Row 22"),
        ("#2000", "Row 23"),
    ]


def test_without_a_chosen_channel_files_go_to_the_default_channel(acme):
    data = shop_file("#1001").read()
    with schema_context("acme"):
        first = import_orders(data, guess_shopify(), actor="t")
        again = import_orders(data, guess_shopify(), actor="t")

    assert (first.orders, again.orders, again.known) == (1, 0, 1)
    assert by_channel() == [(DEFAULT_CHANNEL, "#1001")]


def guess_shopify() -> dict[str, int]:
    """Shopify's built-in mapping (call in a tenant's schema)."""
    return suggest(SHOPIFY_HEADER).mapping


def test_orders_another_import_creates_meanwhile_are_skipped_not_failed(acme, monkeypatch):
    """The file is checked with #1002 new, then another import writes #1002 before this one
    does: the unique order per channel and number finds it, and the rest is written again
    without it."""
    planned = importing.plan_import
    written = importing.write_orders
    calls: list[list[str]] = []

    def plan_then_race(*args, **kwargs):
        plan = planned(*args, **kwargs)
        monkeypatch.setattr(importing, "plan_import", planned)
        import_orders(shop_file("#1002").read(), guess_shopify(), actor="other")
        return plan

    def write(drafts, *args):
        calls.append([draft.number for draft in drafts])
        return written(drafts, *args)

    monkeypatch.setattr(importing, "plan_import", plan_then_race)
    monkeypatch.setattr(importing, "write_orders", write)
    with schema_context("acme"):
        result = import_orders(shop_file("#1001", "#1002").read(), guess_shopify(), actor="t")

    assert calls == [["#1002"], ["#1001", "#1002"], ["#1001"]]  # the other's, ours, ours again
    assert (result.orders, result.known, result.ok) == (1, 1, True)
    assert by_channel() == [(DEFAULT_CHANNEL, "#1001"), (DEFAULT_CHANNEL, "#1002")]


def test_the_database_keeps_one_order_per_channel_and_number(acme):
    with schema_context("acme"):
        import_orders(shop_file("#1001").read(), guess_shopify(), actor="t",
                      options=ImportOptions(channel="Shop A"))  # fmt: skip
        order = Order.objects.select_related("sales_channel").get()
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.create(
                source=Order.Source.CSV, store_order_id="#1001", order_number="#1001",
                sales_channel=order.sales_channel,
            )  # fmt: skip
        other = SalesChannel.objects.create(name="Shop B")
        Order.objects.create(
            source=Order.Source.CSV, store_order_id="#1001", order_number="#1001",
            sales_channel=other,
        )  # fmt: skip
    assert order.sales_channel.name == "Shop A"
