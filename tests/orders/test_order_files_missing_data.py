"""What an order file may leave out: an e-mail (the customer policy decides), the ship-to of an
order that needs no shipping (which then never goes to ShipStation); and what it may not: a
line without a SKU refuses its order, naming the line."""

from __future__ import annotations

from types import SimpleNamespace

from django.utils import timezone
from django_tenants.utils import schema_context

from core import work
from orders.models import CsvImport, Order
from shipping import shipstation_push
from shipping.models import ShipStationPush
from shipping.shipstation_push import push_orders_to_shipstation
from tenant_settings.models import ConnectionSettings
from tests.support.order_files import (
    confirm,
    first_shopify_row,
    import_file,
    lineitem,
    orders_of,
    shopify_export,
    shopify_row,
    table_file,
    upload,
)

NO_ADDRESS = {
    "Shipping Name": "", "Shipping Street": "", "Shipping Address1": "", "Shipping City": "",
    "Shipping Zip": "", "Shipping Province": "", "Shipping Country": "", "Shipping Phone": "",
}  # fmt: skip


def gift_card_export():
    """A gift card (no shipping, no address), a mug with a gift card, and a mug whose address
    is missing: what a Shopify shop selling both exports."""
    return shopify_export(
        first_shopify_row(
            "#1001",
            **lineitem("#1001", "GIFT-25", "1", "25.00"),
            **NO_ADDRESS,
            **{"Lineitem requires shipping": "false", "Total": "25.00", "Shipping": "0",
               "Taxes": "0", "Discount Amount": ""},
        ),
        first_shopify_row("#1002", **lineitem("#1002", "MUG-1", "1", "12.00")),
        shopify_row(**lineitem("#1002", "GIFT-25", "1", "25.00"),
                    **{"Lineitem requires shipping": "false"}),
        first_shopify_row("#1003", **lineitem("#1003", "MUG-1", "1", "12.00"), **NO_ADDRESS),
    )  # fmt: skip


def test_an_order_that_needs_no_shipping_imports_without_a_ship_to(acme_admin):
    preview = upload(acme_admin, gift_card_export())

    inspection = preview.context["inspection"]
    assert (inspection.new, inspection.refused, inspection.without_shipping) == (2, 1, 1)
    assert "1 order needs no shipping: it goes to the ERP but never to ShipStation" in (
        preview.content.decode()
    )
    response = confirm(acme_admin, preview)

    assert response.status_code == 302
    gift, mug = orders_of("acme")
    assert (gift.order_number, gift.needs_shipping) == ("#1001", False)
    assert gift.ship_to == dict.fromkeys(
        ("name", "company", "street1", "street2", "city", "state", "postal_code", "country",
         "phone"), "",
    )  # fmt: skip
    assert (mug.order_number, mug.needs_shipping) == ("#1002", True)  # one line ships
    assert mug.ship_to["city"] == "Toronto"
    problems = preview.context["inspection"].problems
    assert [str(problem) for problem in problems][:1] == [
        "row 5, column Shipping Address1: The order needs shipping but has no Address 1: fill "
        "it in, or say in column Lineitem requires shipping that the order needs no shipping."
    ]


def test_a_file_of_digital_orders_needs_no_ship_to_columns(acme_admin):
    header = ["Order ID", "Email", "SKU", "Qty", "Price", "Requires Shipping"]
    rows = [
        ["E-1", "ann@ex.com", "EBOOK-1", "1", "9.99", "no"],
        ["E-2", "bo@ex.com", "EBOOK-1", "1", "9.99", "FALSE"],
        ["E-3", "cy@ex.com", "EBOOK-1", "1", "9.99", "0"],
        ["E-4", "di@ex.com", "EBOOK-1", "1", "9.99", "perhaps"],
        ["E-5", "ed@ex.com", "BOOK-1", "1", "19.99", "yes"],
    ]
    preview = upload(acme_admin, table_file([header, *rows], "downloads.csv"))

    assert preview.context["missing"] == []  # no ship-to column needed: Import is enabled
    assert 'id="csv-import-blocked" class="errornote" hidden' in preview.content.decode()
    response = confirm(acme_admin, preview)

    assert response.status_code == 302
    assert [(o.order_number, o.needs_shipping) for o in orders_of("acme")] == [
        ("E-1", False), ("E-2", False), ("E-3", False),
    ]  # fmt: skip
    with schema_context("acme"):
        problems = CsvImport.objects.get().problems
    assert problems == [
        "row 5, column Requires Shipping: 'perhaps' is neither yes nor no; use TRUE/FALSE, "
        "yes/no or 1/0.",
        *(
            f"row 6: The order needs shipping but has no {label}: fill it in, or say in column "
            "Requires Shipping that the order needs no shipping."
            for label in ("Address 1", "City", "Country", "Postal Code", "Recipient Name")
        ),
    ]


def test_without_a_requires_shipping_column_the_ship_to_columns_are_needed(acme_admin):
    header = ["Order ID", "Email", "SKU", "Qty", "Price"]
    preview = upload(
        acme_admin, table_file([header, ["E-1", "a@ex.com", "EBOOK", "1", "1"]], "d.csv")
    )

    assert preview.context["missing"] == [
        "Recipient Name", "Address 1", "City", "Postal Code", "Country",
    ]  # fmt: skip
    page = preview.content.decode()
    assert 'Import needs a column for: <span id="csv-missing">Recipient Name, Address 1' in page
    assert 'id="csv-import" value="Import 1 row" disabled' in page
    assert confirm(acme_admin, preview).status_code == 200  # refused on the server too
    assert orders_of("acme") == []


def test_orders_without_an_email_import_and_the_preview_names_the_customer_policy(acme_admin):
    with schema_context("acme"):
        settings = ConnectionSettings.load()
        settings.missing_customer_policy = ConnectionSettings.MissingCustomerPolicy.DEFAULT
        settings.erp_default_customer = "WEB001"
        settings.save()
    file = shopify_export(
        first_shopify_row("#1001", **{**lineitem("#1001", "MUG-1", "1", "12.00"), "Email": ""}),
        first_shopify_row("#1002", **lineitem("#1002", "MUG-1", "1", "12.00")),
    )
    preview = upload(acme_admin, file)

    assert preview.context["inspection"].without_email == 1
    assert (
        "1 order without an e-mail: imported; the ERP customer is the default ERP customer "
        "WEB001, as the customer policy says." in preview.content.decode()
    )
    assert confirm(acme_admin, preview).status_code == 302
    no_email, with_email = orders_of("acme")
    assert (no_email.customer_email, with_email.customer_email) == ("", "ann@example.com")
    assert no_email.store_customer_id.startswith("file-buyer:")
    assert with_email.store_customer_id == ""


def test_a_line_without_a_sku_refuses_its_order_naming_the_line(acme_admin):
    header = "Order Number,Email,Recipient Name,Address 1,City,Postal Code,Country,SKU,Item Name,"
    header += "Quantity,Unit Price"
    rows = [
        "1001,a@ex.com,Ann,1 Main St,Austin,78701,US,MUG-1,Mug,1,12",
        "1001,a@ex.com,Ann,1 Main St,Austin,78701,US,,Tip,1,2",
        "1002,b@ex.com,Bo,2 Main St,Austin,78701,US,MUG-1,Mug,1,12",
    ]
    response = import_file(acme_admin, table_file([r.split(",") for r in [header, *rows]], "t.csv"))

    assert response.status_code == 302
    assert [order.order_number for order in orders_of("acme")] == ["1002"]
    with schema_context("acme"):
        kept = CsvImport.objects.get()
    assert kept.problems == [
        "row 3, column SKU: Line 2 (Tip) has no SKU: enter the SKU of the item it sells, or "
        "remove the row if it is not an item (a tip, a gift card)."
    ]


class FakeShipStation:
    """Records what the push would send."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []

    def create_orders(self, requests):
        requests = list(requests)
        self.sent.append([request.order_key for request in requests])
        return [
            SimpleNamespace(order_key=r.order_key, success=True, order_id=n, error_message="")
            for n, r in enumerate(requests, start=1)
        ]


def test_an_order_that_needs_no_shipping_never_goes_to_shipstation(acme, monkeypatch):
    fake = FakeShipStation()
    monkeypatch.setattr(shipstation_push, "shipstation_client", lambda: fake)
    with schema_context("acme"):
        digital = Order.objects.create(
            source=Order.Source.CSV, store_order_id="E-1", order_number="E-1",
            state=Order.State.IN_ERP, erp_order_number="1000001", needs_shipping=False,
        )  # fmt: skip
        digital.lines.create(line_number=1, sku="EBOOK", quantity=1, unit_price=5)

        report = push_orders_to_shipstation([digital.pk])
        digital.refresh_from_db()
        due = work.due_ids(work.kind_of(ShipStationPush), timezone.now(), timezone.now())

    assert fake.sent == []
    assert (report.sent, report.failed) == (0, 0)
    assert digital.state == Order.State.IN_ERP  # goes on in M3: delivered and invoiced there
    assert digital.pk not in due  # the sweeper never pushes it either
