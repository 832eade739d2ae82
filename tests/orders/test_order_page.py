"""The order page reads like an order, is read-only, and runs actions from the page."""

from __future__ import annotations

from decimal import Decimal

from django_tenants.utils import schema_context

from orders.models import Order, OrderEvent, OrderLine

SHIP_TO = {"name": "Ada Buyer", "company": "Analytical Engines", "street1": "1 High St",
           "city": "Leeds", "postal_code": "LS1 4AP", "country": "GB",
           "phone": "+44 113 496 0000"}  # fmt: skip


def shipped_order() -> Order:
    with schema_context("acme"):
        order = Order.objects.create(
            source=Order.Source.API, store_order_id="PAGE-1", order_number="PAGE-1",
            state=Order.State.NEEDS_ATTENTION, state_message="ERP refused the item",
            ship_to=SHIP_TO, currency="GBP", subtotal=Decimal("22.00"),
            shipping_amount=Decimal("4.50"), tax_amount=Decimal("5.30"), total=Decimal("31.80"),
        )  # fmt: skip
        OrderLine.objects.create(order=order, line_number=1, sku="AC-1001", name="Anvil",
                                 quantity=2, unit_price=Decimal("9.5"))  # fmt: skip
        OrderLine.objects.create(order=order, line_number=2, sku="AC-1002", name="Widget",
                                 quantity=1, unit_price=Decimal("3"))  # fmt: skip
        OrderEvent.objects.create(order=order, step="received", message="Received from Order API")
        for attempt in range(1, 51):
            OrderEvent.objects.create(
                order=order, step="retry_scheduled", outcome=OrderEvent.Outcome.WARNING,
                message=f"Attempt {attempt} failed (ERP timeout); retrying in {attempt * 2} s.",
            )  # fmt: skip
        OrderEvent.objects.create(order=order, step="in_erp", message="ERP order 1000000042",
                                  upstream_ref="1000000042")  # fmt: skip
        return order


def test_the_order_page_shows_address_lines_totals_and_a_collapsed_timeline(acme_admin, acme):
    order = shipped_order()
    page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ada Buyer<br>Analytical Engines<br>1 High St<br>Leeds LS1 4AP<br>United Kingdom" in html
    assert '"street1"' not in html  # no JSON
    assert "19.00" in html and "31.80 GBP" in html and "Shipping" in html
    rows = page.context["timeline"]
    assert [(r.system, r.step, r.count) for r in rows] == [
        ("Store", "received", 1),
        ("Hub", "retry_scheduled", 50),
        ("ERP", "in_erp", 1),
    ]
    assert "seen 50 times" in html
    assert rows[1].message.startswith("Attempt 50 failed")
    assert html.count('class="timeline-row"') == 3


def test_an_order_is_read_only_and_its_actions_return_to_its_page(acme_admin, acme):
    order = shipped_order()
    page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/")
    html = page.content.decode()
    assert 'name="_save"' not in html and "_addanother" not in html
    assert 'value="retry_orders"' in html and 'value="generate_invoices"' in html
    posted = acme_admin.post(
        "/admin/orders/order/",
        {"action": "cancel_orders", "_selected_action": [order.pk], "index": "0",
         "_back_to_order": str(order.pk)},
    )  # fmt: skip
    assert posted.status_code == 302
    assert posted["Location"] == f"/admin/orders/order/{order.pk}/change/"
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state == Order.State.CANCELLED
    edit = acme_admin.post(f"/admin/orders/order/{order.pk}/change/", {"order_number": "X"})
    assert edit.status_code == 403


def test_another_tenants_order_page_is_not_found(acme_admin, globex_admin, acme):
    order = shipped_order()
    assert globex_admin.get(f"/admin/orders/order/{order.pk}/change/").status_code in (302, 404)


def test_the_stores_repeated_deliveries_are_one_row_on_the_timeline(acme_admin, acme):
    from inbox.models import InboxItem
    from tenants.models import Api2CartAccount, Store, StoreMembership

    account = Api2CartAccount.objects.create(name="a", api_key="k")
    store = Store.objects.create(
        name="shop", display_name="Shop", platform="Shopify", url="https://s.example",
        account=account, store_key="k",
    )  # fmt: skip
    StoreMembership.objects.create(store=store, tenant=acme)
    InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK, store=store, dedupe_key="k1", entity="order",
        action="add", entity_id="5001", duplicates=49, state=InboxItem.State.DONE,
    )  # fmt: skip
    InboxItem.objects.create(
        source=InboxItem.Source.WEBHOOK, store=store, dedupe_key="k2", entity="order",
        action="add", entity_id="9999", state=InboxItem.State.DONE,
    )  # fmt: skip
    with schema_context("acme"):
        order = Order.objects.create(
            source=Order.Source.WEBHOOK, store=store, store_order_id="5001", order_number="1042"
        )
        OrderEvent.objects.create(order=order, step="received", message="Received from webhook")
    page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/")
    rows = page.context["timeline"]
    assert [(r.system, r.step, r.count) for r in rows] == [
        ("Store", "order.add", 50),
        ("Store", "received", 1),
    ]
    assert "API2Cart webhook received (done)." in page.content.decode()
    assert "seen 50 times" in page.content.decode()
