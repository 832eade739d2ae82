"""The printable VAT invoice: an HTML page made for printing, and the same page as a PDF.

The invoice is M3's document: its number, date and amount including VAT are the legal ones and
the hub never changes them. What a UK VAT invoice needs beyond them (docs/vat-invoices.md) comes
from data invoicing may read: the seller from the tenant's connection settings, the customer and
the lines from the store order, the time of supply from the order's timeline (shipping is a
sibling app, never imported). WeasyPrint renders the PDF from the HTML, so there is one layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pycountry
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from connectors import api2cart
from invoicing.models import Invoice
from invoicing.vat_lines import StoreLine, invoice_totals, time_of_supply, vat_lines
from orders.models import Order, OrderEvent, OrderLine
from tenant_settings.models import ConnectionSettings

DELIVERY_STEPS = (Order.State.SHIPPED, Order.State.PARTIALLY_SHIPPED, "shipment")
"""Timeline steps that record goods leaving (written by shipping when a shipment is read)."""
VOIDED_STEP = "shipment_voided"
SETTINGS_HINT = "set it in Connection settings"


@dataclass(frozen=True)
class PostalAddress:
    name: str
    company: str = ""
    lines: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.company or self.lines)


@dataclass(frozen=True)
class Seller:
    """Who issues the invoice, as the tenant set it; `missing` names what is not set yet."""

    name: str
    address_lines: tuple[str, ...]
    vat_number: str
    missing: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [f"{what} missing: {SETTINGS_HINT}" for what in self.missing]


def seller_details(tenant_name: str = "") -> Seller:
    """The seller block; the tenant's name stands in for a missing legal name (and is flagged)."""
    row = ConnectionSettings.objects.first()
    name = row.seller_name.strip() if row else ""
    address = tuple(
        line.strip() for line in (row.seller_address if row else "").splitlines() if line.strip()
    )
    vat_number = row.seller_vat_number.strip() if row else ""
    missing = [
        what
        for what, value in (
            ("Seller name", name),
            ("Seller address", address),
            ("Seller VAT number", vat_number),
        )
        if not value
    ]
    return Seller(name or tenant_name, address, vat_number, missing)


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    """Everything the page prints, worked out once for the HTML and the PDF alike."""
    order = invoice.order
    tenant_name = getattr(connection.tenant, "name", "")
    lines = vat_lines(
        store_lines(order, order.lines.all()),
        prices_include_tax=order.prices_include_tax,
        order_tax=order.tax_amount,
    )
    customer = customer_address(order)
    delivery = delivery_address(order)
    currency = invoice.currency or order.currency
    return {
        "invoice": invoice,
        "order": order,
        "tenant_name": tenant_name,
        "seller": seller_details(tenant_name),
        "customer": customer,
        "delivery": None if delivery == customer or delivery.is_empty else delivery,
        "supply": time_of_supply(delivery_dates(order), invoice.invoice_date),
        "lines": lines,
        "any_discount": any(line.discount_net for line in lines),
        "totals": invoice_totals(invoice.amount, lines),
        "currency": currency,
        "not_sterling": bool(currency) and currency.upper() != "GBP",
    }


def invoice_html(invoice: Invoice) -> str:
    return render_to_string("invoicing/invoice_print.html", invoice_context(invoice))


def invoice_pdf(invoice: Invoice) -> bytes:
    from weasyprint import HTML  # heavy (pango, fonts): loaded only when a PDF is asked for

    return HTML(string=invoice_html(invoice)).write_pdf()


def pdf_filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.erp_invoice_number}-{invoice.year}.pdf"


def store_lines(order: Order, lines: Iterable[OrderLine]) -> list[StoreLine]:
    """The order's lines, and its shipping charge as one more line, with the tax no line
    carries (the hub keeps shipping net of tax: docs/adr-0006)."""
    found = [
        StoreLine(
            description=line.name or line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount_amount,
            tax_amount=line.tax_amount,
            tax_rate=line.tax_rate,
            reference=line.erp_item_number or line.sku,
        )
        for line in lines
    ]
    if order.shipping_amount:
        found.append(_shipping_line(order, found))
    return found


def _shipping_line(order: Order, goods: list[StoreLine]) -> StoreLine:
    """Shipping at its net amount plus the order's tax the lines do not carry, written the way
    the order's prices are (with tax inside when they include it)."""
    line_tax = [line.tax_amount for line in goods]
    shipping_tax = None
    if order.tax_amount is not None and all(tax is not None for tax in line_tax):
        shipping_tax = max(order.tax_amount - sum(line_tax, Decimal(0)), Decimal(0))
    amount = order.shipping_amount
    if order.prices_include_tax and shipping_tax is not None:
        amount += shipping_tax
    return StoreLine("Shipping", Decimal(1), amount, tax_amount=shipping_tax)


def delivery_dates(order: Order) -> list[date]:
    """Days goods left, from the order's timeline: the day the hub recorded each shipment, less
    shipments voided afterwards (the void names the same upstream reference)."""
    events = list(
        order.events.filter(step__in=[*DELIVERY_STEPS, VOIDED_STEP]).exclude(
            outcome=OrderEvent.Outcome.ERROR
        )
    )
    voided = {event.upstream_ref for event in events if event.step == VOIDED_STEP}
    return [
        timezone.localdate(event.created_at)
        for event in events
        if event.step != VOIDED_STEP and not (event.upstream_ref and event.upstream_ref in voided)
    ]


def customer_address(order: Order) -> PostalAddress:
    """Who is invoiced: the store order's billing address, else where the goods went."""
    billing = order.payload.get("billing_address") if isinstance(order.payload, dict) else None
    try:
        address = api2cart.Address.from_api(billing)
    except ValueError:  # several billing addresses: none can be chosen
        return delivery_address(order)
    name = f"{address.first_name} {address.last_name}".strip()
    if not (address.address1 or name or address.company):
        return delivery_address(order)
    return PostalAddress(
        name=name,
        company=address.company,
        lines=_address_lines(
            address.address1,
            address.address2,
            address.city,
            address.state,
            postcode=address.postcode,
            country=address.country,
        ),
    )


def delivery_address(order: Order) -> PostalAddress:
    ship_to = order.ship_to if isinstance(order.ship_to, dict) else {}
    fields = {key: str(value or "").strip() for key, value in ship_to.items()}
    return PostalAddress(
        name=fields.get("name", ""),
        company=fields.get("company", ""),
        lines=_address_lines(
            *(fields.get(key, "") for key in ("street1", "street2", "city", "state")),
            postcode=fields.get("postal_code", ""),
            country=fields.get("country", ""),
        ),
    )


def _address_lines(*streets_and_town: str, postcode: str, country: str) -> tuple[str, ...]:
    """Street lines, town and county as given, then the postcode and the country's name."""
    parts = (*streets_and_town, postcode, country_name(country))
    return tuple(part.strip() for part in parts if part and part.strip())


def country_name(code: str) -> str:
    """A two-letter code as its name (GB → United Kingdom); anything else as given."""
    text = (code or "").strip()
    country = pycountry.countries.get(alpha_2=text.upper()) if len(text) == 2 else None
    return country.name if country else text
