"""The printed invoice is a UK VAT invoice: its PDF's text holds every field docs/vat-invoices.md
lists, ten lines fit on one A4 page, and what is missing is said on the page.

No sandbox: the order, its lines, its timeline and the ERP invoice mirror are written directly in
acme's schema; the PDF is rendered by WeasyPrint and read back with pypdf.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from pypdf import PdfReader

from invoicing.documents import invoice_pdf
from invoicing.models import Invoice
from invoicing.vat_lines import cents
from orders.models import Order, OrderEvent, OrderLine
from tenant_settings.models import ConnectionSettings
from tests.support.portal import Portal

SELLER = {
    "seller_name": "Northwind Distribution Ltd",
    "seller_address": "10 Dock Lane\nHull\nHU1 1AA",
    "seller_vat_number": "GB123456789",
}
BILLING = {
    "first_name": "Jane",
    "last_name": "Buyer",
    "company": "Buyer Trading Ltd",
    "address1": "1 High Street",
    "address2": "Floor 2",
    "city": "Leeds",
    "postcode": "LS1 1AA",
    "country": {"code2": "GB", "code3": "GBR", "name": "United Kingdom"},
}
SHIP_TO = {
    "name": "Goods Inwards",
    "company": "Buyer Trading Ltd",
    "street1": "Unit 5 Park Road",
    "city": "Bradford",
    "postal_code": "BD1 2AB",
    "country": "GB",
}
INVOICE_DATE = date(2026, 3, 10)
SHIPPED_ON = date(2026, 3, 6)
TEN_LINES = [  # (name, quantity, unit price incl. 20% VAT) → net unit = price / 1.2
    ("Oak dining table", "1", "540.00"),
    ("Oak dining chair", "6", "102.00"),
    ("Linen table runner", "2", "21.60"),
    ("Ceramic dinner plate", "12", "9.90"),
    ("Ceramic side plate", "12", "7.14"),
    ("Stoneware mug", "8", "8.34"),
    ("Glass tumbler", "6", "5.52"),
    ("Cutlery set, 24 pieces", "1", "94.20"),
    ("Cotton napkin, pack of 4", "3", "14.70"),
    ("Beeswax candle, pair", "4", "7.56"),
]


@pytest.fixture
def acme_schema(acme) -> Iterator[None]:
    with schema_context("acme"):
        yield


def seller(**fields: str) -> None:
    settings = ConnectionSettings.load()
    for name, value in {**SELLER, **fields}.items():
        setattr(settings, name, value)
    settings.save()


def vat_order(lines: list[tuple[str, str, str]], **fields) -> Order:
    """A tax-inclusive store order at 20%, billed to Jane Buyer, delivered to her goods-in; the
    order's tax is its lines' and its shipping's."""
    shipping = fields.get("shipping_amount", Decimal(0))
    charged = [Decimal(q) * Decimal(p) for _, q, p in lines] + [shipping]
    tax = sum((cents(gross / 6) for gross in charged), Decimal(0))
    order = Order.objects.create(
        **{
            "source": Order.Source.WEBHOOK,
            "store_order_id": f"vat-{Order.objects.count() + 1}",
            "order_number": "100234",
            "customer_email": "jane@buyer.test",
            "currency": "GBP",
            "ship_to": SHIP_TO,
            "payload": {"billing_address": BILLING},
            "prices_include_tax": True,
            "erp_customer_number": "C1001",
            "erp_order_number": "3000123",
            "state": Order.State.SHIPPED,
            "tax_amount": tax,
            **fields,
        }
    )
    for number, (name, quantity, price) in enumerate(lines, 1):
        OrderLine.objects.create(
            order=order,
            line_number=number,
            sku=f"SKU-{number:03}",
            name=name,
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            tax_rate=Decimal(20),
        )
    return order


def shipped(order: Order, on: date, *, reference: str = "SS-1") -> None:
    event = OrderEvent.objects.create(
        order=order, step=Order.State.SHIPPED, message="Shipped.", upstream_ref=reference
    )
    moment = timezone.make_aware(datetime(on.year, on.month, on.day, 15, 30))
    OrderEvent.objects.filter(pk=event.pk).update(created_at=moment)


def erp_invoice(order: Order, amount: str, **fields) -> Invoice:
    return Invoice.objects.create(
        **{
            "order": order,
            "erp_invoice_number": "7004512",
            "year": 2026,
            "invoice_date": INVOICE_DATE,
            "due_date": date(2026, 4, 9),
            "amount": Decimal(amount),
            "remaining_amount": Decimal(amount),
            "currency": "GBP",
            **fields,
        }
    )


def pdf_pages(invoice: Invoice) -> list[str]:
    """Each page's text with its whitespace folded, as a reader of the PDF would get it."""
    reader = PdfReader(io.BytesIO(invoice_pdf(invoice)))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def gross_of(lines: list[tuple[str, str, str]]) -> Decimal:
    return sum((Decimal(q) * Decimal(p) for _, q, p in lines), Decimal(0))


def test_the_invoice_pdf_holds_the_vat_fields_and_ten_lines_fit_one_a4_page(acme_schema):
    seller()
    order = vat_order(TEN_LINES)
    shipped(order, SHIPPED_ON)
    gross = gross_of(TEN_LINES)
    invoice = erp_invoice(order, f"{gross:.2f}")

    reader = PdfReader(io.BytesIO(invoice_pdf(invoice)))
    [page] = reader.pages  # ten lines, one page
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4 in mm
    text = " ".join(page.extract_text().split())

    for expected in (
        "VAT invoice",
        "Northwind Distribution Ltd",
        "10 Dock Lane",
        "Hull",
        "HU1 1AA",
        "VAT number: GB123456789",
        "Invoice 7004512",
        "Invoice date 10 March 2026",
        "Time of supply 6 March 2026 (delivery date)",
        "Jane Buyer",
        "Buyer Trading Ltd",
        "1 High Street",
        "Leeds",
        "LS1 1AA",
        "United Kingdom",
        "Goods Inwards",  # delivered elsewhere: the delivery address is printed too
        "Unit 5 Park Road",
        "Currency GBP",
    ):
        assert expected in text, expected
    for number, (name, quantity, price) in enumerate(TEN_LINES, 1):
        net_unit = Decimal(price) / Decimal("1.2")
        net = Decimal(quantity) * net_unit
        vat = Decimal(quantity) * Decimal(price) - net
        assert name in text
        row = f"{quantity} {net_unit:.2f} 20% {net:.2f} {vat:.2f}"
        assert row in text, f"line {number}: {row!r} not in the PDF"
    net_total = gross / Decimal("1.2")
    assert f"Total excl. VAT {net_total:.2f} GBP" in text
    assert f"VAT (20%) {gross - net_total:.2f} GBP" in text
    assert f"Total incl. VAT {gross:.2f} GBP" in text
    assert "Totals are the ERP's" not in text  # the lines add up to the ERP's amount
    assert "missing" not in text


def test_tax_inclusive_lines_print_net_unit_prices(acme_schema):
    seller()
    order = vat_order([("Widget", "2", "19.99")])
    invoice = erp_invoice(order, "39.98")

    [text] = pdf_pages(invoice)

    assert "2 16.66 20% 33.32 6.66" in text  # 19.99 incl. VAT is 16.66 net
    assert "19.99" not in text
    assert "Total excl. VAT 33.32 GBP" in text
    assert "VAT (20%) 6.66 GBP" in text


def test_erp_figures_win_when_the_lines_do_not_add_up_to_them(acme_schema):
    seller()
    order = vat_order([("Widget", "2", "19.99")], shipping_amount=Decimal("6.00"))
    invoice = erp_invoice(order, "50.00")  # M3 priced it differently

    [text] = pdf_pages(invoice)

    assert "Shipping 1 5.00 20% 5.00 1.00" in text  # the delivery charge is a line too
    assert "Total incl. VAT 50.00 GBP" in text
    assert "Total excl. VAT 41.67 GBP" in text  # the ERP's gross at the lines' one rate
    assert "Totals are the ERP's invoice figures; lines are from the store order" in text


def test_a_missing_vat_number_shows_the_warning(acme_schema, acme_admin: Portal):
    seller(seller_vat_number="")
    order = vat_order([("Widget", "1", "12.00")])
    invoice = erp_invoice(order, "12.00")

    [text] = pdf_pages(invoice)
    listed = acme_admin.get("/admin/invoicing/invoice/").content.decode()

    assert "Seller VAT number missing: set it in Connection settings" in text
    assert "not a valid VAT invoice" in text
    assert "Seller VAT number missing: set it in Connection settings" in listed


def test_without_a_recorded_delivery_the_time_of_supply_is_the_invoice_date(acme_schema):
    seller()
    order = vat_order([("Widget", "1", "12.00")], payload={})  # no billing: the ship-to
    shipped(order, date(2026, 3, 2), reference="SS-VOID")
    OrderEvent.objects.create(order=order, step="shipment_voided", upstream_ref="SS-VOID")
    invoice = erp_invoice(order, "12.00", currency="EUR")

    [text] = pdf_pages(invoice)

    assert "Time of supply 10 March 2026 (the invoice date" in text
    assert "Invoice to Goods Inwards" in text
    assert "Delivered to" not in text  # the same address is not printed twice
    assert "The VAT total in sterling is not printed" in text  # an EUR invoice
