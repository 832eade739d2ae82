"""The order list shows what Shopify's and ShipStation's show, with saved views; an invoice's
payment is explained in words on the order page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import schema_context

from invoicing.admin import payment_of
from invoicing.models import Invoice
from orders.models import Order


def order(number: str, state: str = Order.State.SENT_TO_SHIPSTATION, **fields) -> Order:
    with schema_context("acme"):
        made = Order.objects.create(
            source=Order.Source.API, store_order_id=number, order_number=number, state=state,
            currency="GBP", total=Decimal("157.05"), **fields,
        )  # fmt: skip
        for n, quantity in enumerate((2, 1), start=1):
            made.lines.create(
                line_number=n, sku=f"SKU-{n}", quantity=quantity, unit_price=Decimal("50")
            )
        return made


def rows(page) -> dict[str, list[str]]:
    """Each listed order's cells as text, by order number."""
    changelist = page.context["cl"]
    admin = changelist.model_admin
    return {
        obj.order_number: [
            str(admin.customer(obj)),
            admin.order_total(obj),
            admin.items(obj),
            admin.payment(obj),
            admin.age(obj),
        ]
        for obj in changelist.result_list
    }


def test_the_list_shows_customer_total_items_payment_and_age(acme_admin, acme):
    paid = order("L-1", ship_to={"name": "Ada Lovelace"}, customer_email="ada@example.com")
    order("L-2", customer_email="bob@example.com")
    with schema_context("acme"):
        Invoice.objects.create(
            order=paid, erp_invoice_number="9001", year=2026, amount=Decimal("157.05"),
            remaining_amount=Decimal("0"),
        )  # fmt: skip
    page = acme_admin.get("/admin/orders/order/")
    assert page.status_code == 200
    listed = rows(page)
    assert listed["L-1"][:4] == ["Ada Lovelace", "GBP 157.05", "3", "Paid"]
    assert listed["L-2"][:4] == ["bob@example.com", "GBP 157.05", "3", "—"]
    html = page.content.decode()
    for heading in ("Customer", "Total", "Items", "Payment", "Age"):
        assert f">{heading}<" in html or f">{heading}</a>" in html


def test_saved_views_find_what_needs_a_person_what_is_stuck_and_todays(acme_admin, acme):
    order("V-1", state=Order.State.NEEDS_ATTENTION)
    stuck = order("V-2", state=Order.State.IN_ERP)
    order("V-3", state=Order.State.IN_ERP)
    old = order("V-4", state=Order.State.INVOICED)
    with schema_context("acme"):
        hours_ago = timezone.now() - timedelta(hours=2)
        Order.objects.filter(pk=stuck.pk).update(updated_at=hours_ago)
        Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))

    def listed(view: str) -> set[str]:
        return set(rows(acme_admin.get(f"/admin/orders/order/?view={view}")))

    assert listed("needs_person") == {"V-1"}
    assert listed("stuck") == {"V-2"}
    assert listed("today") == {"V-1", "V-2", "V-3"}
    assert b"Stuck over an hour" in acme_admin.get("/admin/orders/order/").content


def test_an_invoices_payment_is_said_in_words():
    invoice = Invoice(
        erp_invoice_number="1", year=2026, currency="GBP", amount=Decimal("157.05"),
        remaining_amount=Decimal("157.05"), due_date=timezone.now().date(),
    )  # fmt: skip
    assert payment_of(invoice).startswith("Invoiced, not paid yet: GBP 157.05 to pay, due ")
    invoice.remaining_amount = Decimal("50.00")
    assert payment_of(invoice).startswith("Part paid: GBP 50.00 of 157.05 still to pay")
    invoice.remaining_amount = Decimal("0")
    assert payment_of(invoice) == "Paid in full."
