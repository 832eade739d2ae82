"""Retry, replay and cancel from the tenant portal: state changes, timeline, audit, refusals."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_tenants.utils import schema_context

from orders.models import Order, OrderLine
from tenants.models import ActivityEvent
from tests.support.portal import signed_in

PAYLOAD = {
    "order_number": "API-7",
    "email": "buyer@example.com",
    "ship_to": {"name": "Ada Buyer", "street1": "1 High St", "city": "Leeds",
                "postal_code": "LS1 4AP", "country": "GB"},
    "lines": [{"sku": "AC-1001", "name": "Anvil", "quantity": "2", "unit_price": "9.50"},
              {"sku": "AC-1002", "name": "Widget", "quantity": "1", "unit_price": "3.00"}],
}  # fmt: skip


def parked_order(**fields) -> Order:
    with schema_context("acme"):
        order = Order.objects.create(
            source=Order.Source.API,
            store_order_id="API-7",
            order_number="API-7",
            payload=PAYLOAD,
            state=Order.State.NEEDS_ATTENTION,
            state_message="ERP said no",
            **fields,
        )
        OrderLine.objects.create(
            order=order, line_number=1, sku="OLD", quantity=1, unit_price=Decimal(1)
        )
        return order


def run_action(portal, action: str, order: Order):
    return portal.post(
        "/admin/orders/order/", {"action": action, "_selected_action": [order.pk]}, follow=True
    )


def test_retry_resumes_where_the_order_stopped(acme_admin, acme):
    order = parked_order(erp_customer_number="AC00010001")
    page = run_action(acme_admin, "retry_orders", order)
    assert b"retrying" in page.content
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state == Order.State.CUSTOMER_LINKED
        assert order.next_attempt_at is not None and order.attempts == 0
        assert order.events.filter(step="retried", actor="ops@acme.test").exists()
    assert ActivityEvent.objects.filter(tenant=acme, action="order.retried").exists()


def test_replay_rebuilds_lines_from_the_stored_payload(acme_admin, acme):
    order = parked_order()
    run_action(acme_admin, "replay_orders", order)
    with schema_context("acme"):
        order.refresh_from_db()
        assert [(line.sku, line.quantity) for line in order.lines.all()] == [
            ("AC-1001", Decimal("2")),
            ("AC-1002", Decimal("1")),
        ]
        assert order.state == Order.State.ROUTED
        assert order.ship_to["city"] == "Leeds"
    assert ActivityEvent.objects.filter(tenant=acme, action="order.replayed").exists()


def test_replay_and_cancel_are_refused_once_the_erp_has_the_order(acme_admin, acme):
    order = parked_order(erp_order_number="1000000042")
    page = run_action(acme_admin, "replay_orders", order)
    assert b"would create a second one" in page.content
    page = run_action(acme_admin, "cancel_orders", order)
    assert b"cancel it there" in page.content
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state == Order.State.NEEDS_ATTENTION
        assert [line.sku for line in order.lines.all()] == ["OLD"]


def test_cancel_stops_an_order_before_the_erp(acme_admin, acme):
    order = parked_order()
    run_action(acme_admin, "cancel_orders", order)
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state == Order.State.CANCELLED
        assert order.events.filter(step="cancelled").exists()


def test_viewers_see_the_timeline_but_cannot_act(acme):
    order = parked_order()
    with schema_context("acme"):
        viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
        viewer.groups.add(Group.objects.get(name="Viewer"))
        order.events.create(step="received", message="Received from Order API")
    portal = signed_in("acme.localhost", "viewer", "pw")
    page = portal.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert b"Received from Order API" in page.content
    listing = portal.get("/admin/orders/order/")
    assert b"retry_orders" not in listing.content
    run_action(portal, "cancel_orders", order)
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state == Order.State.NEEDS_ATTENTION


def test_the_portal_front_page_counts_orders_and_lists_what_needs_a_person(acme_admin, acme):
    parked_order()
    page = acme_admin.get("/admin/")
    assert page.status_code == 200
    dashboard = page.context["orders"]
    counts = {state.label: state.count for state in dashboard.states}
    assert counts["Needs attention"] == 1 and counts["In ERP"] == 0
    assert [o.order_number for o in dashboard.attention] == ["API-7"]
    assert b"ERP said no" in page.content


def test_retry_and_replay_wait_while_a_worker_holds_the_order(acme_admin, acme):
    from datetime import timedelta

    from django.utils import timezone

    order = parked_order()
    with schema_context("acme"):
        Order.objects.filter(pk=order.pk).update(lease_until=timezone.now() + timedelta(minutes=1))
    for action in ("retry_orders", "replay_orders"):
        page = run_action(acme_admin, action, order)
        assert b"being processed right now" in page.content
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.state == Order.State.NEEDS_ATTENTION
        assert [line.sku for line in order.lines.all()] == ["OLD"]


def test_order_list_filters_offer_only_this_tenants_stores(acme_admin, acme, globex):
    from tenants.models import Api2CartAccount, Store, StoreMembership

    account = Api2CartAccount.objects.create(name="a", api_key="k")
    secret = Store.objects.create(
        name="globex-only", display_name="GLOBEX SECRET STORE", platform="Shopify",
        url="https://g.example", account=account, store_key="s",
    )  # fmt: skip
    StoreMembership.objects.create(store=secret, tenant=globex)
    assert b"GLOBEX SECRET STORE" not in acme_admin.get("/admin/orders/order/").content
    assert b"GLOBEX SECRET STORE" not in acme_admin.get("/admin/catalog/itembinding/add/").content


def test_cancelling_an_order_with_an_open_erp_batch_asks_for_its_deletion(
    acme_admin, acme, monkeypatch, django_capture_on_commit_callbacks
):
    from celery import current_app

    sent = []
    monkeypatch.setattr(
        current_app, "send_task", lambda name, args=(), **kwargs: sent.append((name, tuple(args)))
    )
    order = parked_order(erp_temporary_order_number="0000000042")
    with django_capture_on_commit_callbacks(execute=True):
        run_action(acme_admin, "cancel_orders", order)
    assert sent == [("orders.discard_abandoned_batch", (order.pk,))]

    page = acme_admin.get("/admin/")
    assert page.context["orders"].open_erp_batches == 1
    assert b"1 open ERP batch order of cancelled or parked orders" in page.content
