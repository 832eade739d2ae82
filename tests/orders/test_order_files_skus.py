"""SKUs of order files: a line without one takes the catalog SKU of its name (and variant); a
file order (no store) takes the catalog binding of any of the tenant's stores, and is refused
when two stores bind a SKU to different ERP items; the sales channel and whether an order needs
shipping are written with the order itself, and shown on the order admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from catalog.models import ItemBinding
from connectors.errors import PermanentError
from orders.addresses import ShipTo
from orders.erp.batch_orders import erp_item_numbers
from orders.intake.accept import IncomingLine, IncomingOrder, accept_new_orders
from orders.models import CsvImport, Order, OrderLine, SalesChannel
from tenant_settings.models import ConnectionSettings
from tenants.models import Api2CartAccount, Store
from tests.support.order_files import (
    SQUARESPACE_HEADER,
    confirm,
    orders_of,
    row_of,
    table_file,
    upload,
)

HEADER = "Order Number,Email,Recipient Name,Address 1,City,Postal Code,Country,SKU,Item Name,"
HEADER += "Quantity,Unit Price"


@pytest.fixture
def stores(db) -> tuple[Store, Store]:
    account = Api2CartAccount.objects.create(name="a", api_key="k")
    made = []
    for n in (1, 2):
        made.append(
            Store.objects.create(
                name=f"s{n}",
                display_name=f"Shop {n}",
                platform="Shopify",
                url=f"https://s{n}.example",
                account=account,
                store_key=f"k{n}",
            )
        )
    return made[0], made[1]


def sold_under(store: Store, sku: str, name: str, item: str = "") -> None:
    """A catalog binding of the SKU, and an earlier store order that sold it under this name."""
    with schema_context("acme"):
        ItemBinding.objects.get_or_create(
            store=store, sku=sku, defaults={"erp_item_number": item or f"I-{sku}"}
        )
        order = Order.objects.create(
            store=store, source=Order.Source.WEBHOOK, store_order_id=f"{sku}-{name}",
            order_number=f"{sku}-{name}",
        )  # fmt: skip
        OrderLine.objects.create(
            order=order, line_number=1, sku=sku, name=name, quantity=1, unit_price=1
        )


def file_orders() -> list[Order]:
    return [order for order in orders_of("acme") if order.source == Order.Source.CSV]


def hub_file(*rows: str):
    return table_file([r.split(",") for r in [HEADER, *rows]], "t.csv")


def test_a_line_without_a_sku_takes_the_sku_its_name_is_sold_under(acme_admin, stores):
    sold_under(stores[0], "MUG-1", "Blue  Mug")
    file = hub_file(
        "1001,a@ex.com,Ann,1 Main St,Austin,78701,US,,blue mug,2,12",
        "1001,a@ex.com,Ann,1 Main St,Austin,78701,US,CUP-1,Cup,1,5",
    )

    preview = upload(acme_admin, file)

    found = preview.context["inspection"]
    assert (found.new, found.refused) == (1, 0)
    assert found.skus_by_name == (("1001", "blue mug", "MUG-1"),)
    assert "order 1001: blue mug → <code>MUG-1</code>" in preview.content.decode()
    assert confirm(acme_admin, preview).status_code == 302
    (order,) = file_orders()
    assert [(line.sku, line.name) for line in order.lines.all()] == [
        ("MUG-1", "blue mug"),
        ("CUP-1", "Cup"),
    ]


def test_a_variant_is_matched_with_its_name(acme_admin, stores):
    sold_under(stores[0], "TEE-M", "Tee - Medium")
    sold_under(stores[0], "TEE-L", "Tee - Large")
    order = {"Order ID": "00042", "Email": "ida@example.com", "Currency": "USD",
             "Shipping Name": "Ida Ju", "Shipping Address1": "7 Hill Ct", "Shipping City": "Salem",
             "Shipping Zip": "97301", "Shipping Country": "US", "Channel Name": "Squarespace",
             "Lineitem requires shipping": "true"}  # fmt: skip
    rows = [
        row_of(SQUARESPACE_HEADER, **order, **{"Lineitem quantity": "1", "Lineitem name": "TEE",
               "Lineitem variant": "large", "Lineitem price": "12.00", "Lineitem sku": ""}),
    ]  # fmt: skip

    preview = upload(acme_admin, table_file([SQUARESPACE_HEADER, *rows], "orders.csv"))

    assert preview.context["inspection"].skus_by_name == (("00042", "TEE", "TEE-L"),)


def test_a_name_sold_under_several_skus_refuses_its_order_naming_them(acme_admin, stores):
    sold_under(stores[0], "MUG-1", "Mug")
    sold_under(stores[1], "MUG-2", "Mug")
    file = hub_file(
        "1001,a@ex.com,Ann,1 Main St,Austin,78701,US,,Mug,1,12",
        "1002,b@ex.com,Bo,2 Main St,Austin,78701,US,MUG-1,Mug,1,12",
    )

    preview = upload(acme_admin, file)

    assert [str(problem) for problem in preview.context["inspection"].problems] == [
        "row 2, column SKU: Line 1 (Mug) has no SKU, and its name fits several SKUs of the "
        "catalog (MUG-1, MUG-2): enter the SKU of the item it sells."
    ]
    assert confirm(acme_admin, preview).status_code == 302
    assert [order.order_number for order in file_orders()] == ["1002"]


def test_a_name_no_bound_sku_is_sold_under_leaves_the_line_refused(acme_admin, stores):
    with schema_context("acme"):  # sold under that name, but not bound in the catalog
        order = Order.objects.create(source=Order.Source.API, store_order_id="x", order_number="x")
        OrderLine.objects.create(
            order=order, line_number=1, sku="LOOSE-1", name="Mug", quantity=1, unit_price=1
        )

    preview = upload(acme_admin, hub_file("1001,a@ex.com,Ann,1 Main St,Austin,78701,US,,Mug,1,12"))

    (problem,) = preview.context["inspection"].problems
    assert "Line 1 (Mug) has no SKU: enter the SKU" in str(problem)


# The ERP item of an order from no store


def storeless_order(*skus: str, store: Store | None = None) -> Order:
    order = Order.objects.create(
        source=Order.Source.CSV, store=store, store_order_id="o", order_number="o"
    )
    for number, sku in enumerate(skus, start=1):
        OrderLine.objects.create(order=order, line_number=number, sku=sku, quantity=1, unit_price=1)
    return order


def test_a_file_order_takes_the_binding_of_any_store(acme, stores):
    with schema_context("acme"):
        for store in stores:
            ItemBinding.objects.create(store=store, sku="BOTH", erp_item_number="ITEM-B")
        ItemBinding.objects.create(store=stores[1], sku="SECOND", erp_item_number="ITEM-2")
        settings = ConnectionSettings.load()
        settings.sku_is_erp_item = False
        order = storeless_order("BOTH", "SECOND")

        (found,) = erp_item_numbers([order], settings).values()

    assert found == {"BOTH": "ITEM-B", "SECOND": "ITEM-2"}


def test_a_sku_two_stores_bind_to_different_items_refuses_a_file_order(acme, stores):
    with schema_context("acme"):
        ItemBinding.objects.create(store=stores[0], sku="MUG", erp_item_number="ITEM-1")
        ItemBinding.objects.create(store=stores[1], sku="MUG", erp_item_number="ITEM-2")
        settings = ConnectionSettings.load()
        settings.sku_is_erp_item = True
        file_order = storeless_order("MUG")
        store_order = Order.objects.create(
            source=Order.Source.WEBHOOK, store=stores[1], store_order_id="s", order_number="s"
        )
        OrderLine.objects.create(
            order=store_order, line_number=1, sku="MUG", quantity=1, unit_price=1
        )

        found = erp_item_numbers([file_order, store_order], settings)

    refused = found[file_order.pk]
    assert isinstance(refused, PermanentError)
    assert "MUG (ITEM-1, ITEM-2)" in str(refused)
    assert "Catalog › Item bindings" in refused.hint
    assert found[store_order.pk] == {"MUG": "ITEM-2"}  # its own store's binding


def test_the_preview_names_skus_bound_to_different_items(acme_admin, stores):
    with schema_context("acme"):
        ItemBinding.objects.create(store=stores[0], sku="MUG-1", erp_item_number="ITEM-1")
        ItemBinding.objects.create(store=stores[1], sku="MUG-1", erp_item_number="ITEM-9")

    preview = upload(acme_admin, hub_file("1,a@ex.com,Ann,1 Main St,Austin,78701,US,MUG-1,M,1,1"))

    assert preview.context["inspection"].ambiguous_skus == (("MUG-1", ("ITEM-1", "ITEM-9")),)
    assert preview.context["inspection"].unknown_skus == ()


# The sales channel, written with the order


def test_new_orders_are_written_with_their_sales_channel_and_shipping_need(acme):
    with schema_context("acme"):
        channel = SalesChannel.objects.create(name="Etsy")
        incoming = IncomingOrder(
            source=Order.Source.CSV, store_order_id="9", order_number="9",
            lines=(IncomingLine(sku="E-BOOK", quantity=Decimal(1), unit_price=Decimal(5)),),
            ship_to=ShipTo(name="", street1="", city="", postal_code="", country=""),
            sales_channel_id=channel.pk, needs_shipping=False,
        )  # fmt: skip

        (order,) = accept_new_orders([incoming])

        order.refresh_from_db()
        assert (order.sales_channel, order.needs_shipping) == (channel, False)


def test_the_order_admin_shows_and_filters_by_sales_channel(acme_admin):
    with schema_context("acme"):
        etsy = SalesChannel.objects.create(name="Etsy UK")
        shown = Order.objects.create(
            source=Order.Source.CSV, store_order_id="1", order_number="E-1", sales_channel=etsy
        )
        Order.objects.create(source=Order.Source.API, store_order_id="2", order_number="A-2")

    listed = acme_admin.get(f"/admin/orders/order/?sales_channel__id__exact={etsy.pk}")
    page = acme_admin.get(f"/admin/orders/order/{shown.pk}/change/")

    assert listed.status_code == 200
    assert [order.order_number for order in listed.context["cl"].result_list] == ["E-1"]
    assert "Etsy UK" in listed.content.decode()
    assert '<tr id="order-sales-channel"><th>Sales channel</th><td>Etsy UK</td></tr>' in (
        page.content.decode()
    )


def test_an_import_keeps_its_checks_of_the_erp_with_the_upload(acme_admin):
    preview = upload(acme_admin, hub_file("1,a@ex.com,Ann,1 Main St,Austin,78701,US,NEW-1,N,1,1"))

    kept = preview.context["upload"]
    with schema_context("acme"):
        (check,) = CsvImport.objects.get(pk=kept.pk).erp_checks.all()
    assert check.skus == ["NEW-1"]
    assert "Checking 1 SKU in the ERP…" in preview.content.decode()
    again = acme_admin.get(preview.wsgi_request.path)  # the page asks each SKU once
    with schema_context("acme"):
        assert CsvImport.objects.get(pk=kept.pk).erp_checks.count() == 1
    assert again.status_code == 200
