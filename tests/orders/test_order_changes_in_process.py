"""Store changes seen by polling and shown on the order page, in-process against the sandbox.

The poll and the inbox batch run in this process (`poll_store`, `process_items`); the change is
acted on with the work-item core's own `process`, so no worker is needed.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from core import work
from inbox.models import InboxItem
from inbox.polling import poll_store
from inbox.processing import process_items
from orders.changes.actions import act_on_change
from orders.models import Order, OrderChange
from tests.support.demo_world import orders_of
from tests.support.portal import PASSWORDS, signed_in

STORE = "acme-outlet"


@pytest.fixture
def walmart_store(demo_world, live_db):
    """acme-outlet answering like Walmart: `modified_at` stays null on every change."""
    demo_world.sandbox.control("api2cart", "store-settings", store=STORE, profile="walmart")
    yield demo_world.stores[STORE]
    demo_world.sandbox.control("api2cart", "store-settings", store=STORE, profile="clean")


def poll_and_process(store) -> None:
    poll_store(store)
    pending = InboxItem.objects.filter(store=store, state=InboxItem.State.PENDING)
    process_items(list(pending.values_list("pk", flat=True)))


def test_a_poll_only_platform_with_null_modified_at_still_sees_a_cancel(demo_world, walmart_store):
    placed = demo_world.sandbox.control("api2cart", "place-orders", store=STORE, count=1)["orders"][
        0
    ]
    poll_and_process(walmart_store)
    [order] = orders_of("acme", store_order_id=placed["id"])
    assert order.state == Order.State.ROUTED

    demo_world.sandbox.cancel_store_order(placed["id"], STORE)
    poll_and_process(walmart_store)

    with schema_context("acme"):
        [change] = OrderChange.objects.filter(order_id=order.pk)
        assert change.kind == OrderChange.Kind.CANCELLED
        assert change.state == OrderChange.State.PENDING
        assert work.process(OrderChange, change.pk, act_on_change) == OrderChange.State.DONE
        order.refresh_from_db()
    assert order.state == Order.State.CANCELLED
    assert order.erp_order_number == "" and order.shipstation_order_id == ""

    poll_and_process(walmart_store)  # the same version again: nothing new
    with schema_context("acme"):
        assert OrderChange.objects.filter(order_id=order.pk).count() == 1


def test_the_order_page_shows_each_change_and_the_refund(demo_world, live_db):
    store = demo_world.stores[STORE]
    placed = demo_world.sandbox.control("api2cart", "place-orders", store=STORE, count=1)["orders"][
        0
    ]
    poll_and_process(store)
    demo_world.sandbox.refund_store_order(placed["id"], STORE, amount="4.00")
    demo_world.sandbox.readdress_store_order(placed["id"], STORE, city="York")
    poll_and_process(store)
    [order] = orders_of("acme", store_order_id=placed["id"])
    with schema_context("acme"):
        for change in OrderChange.objects.filter(order_id=order.pk):
            work.process(OrderChange, change.pk, act_on_change)
        kinds = set(OrderChange.objects.filter(order_id=order.pk).values_list("kind", "state"))
    assert kinds == {
        (OrderChange.Kind.REFUNDED, OrderChange.State.DONE),
        (OrderChange.Kind.SHIP_TO, OrderChange.State.DONE),
    }
    admin = signed_in("acme.localhost", "ops@acme.test", PASSWORDS["acme"])
    with schema_context("acme"):
        url = reverse("tenant_admin:orders_order_change", args=[order.pk])
    page = admin.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Changes from the store" in text
    assert "The store refunded 4.00 in part" in text
    assert "York" in text and "Refund recorded: 4.00 refunded in all." in text
    assert "Refunded by the store" in text
