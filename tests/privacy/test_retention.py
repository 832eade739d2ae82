"""Retention: done orders past the tenant's period lose every personal field, and only they;
amounts, SKUs, quantities, states and references stay; a second run changes nothing."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from core.models import WorkAttempt
from core.sweeper import once_every
from orders.models import Order, OrderChange, OrderEvent, OrderLine
from privacy import retention
from shipping.models import Shipment
from tenant_settings.models import ConnectionSettings
from tenants.models import ActivityEvent
from tests.support.privacy import email_of, is_old, name_of, seed_orders, street_of

COUNT = 10_000
DONE = set(retention.DONE_STATES)


def kept_figures() -> dict[int, tuple]:
    """What must never change: amounts, SKUs, quantities, states, dates and references."""
    orders = Order.objects.values_list(
        "pk", "store_order_id", "order_number", "state", "total", "subtotal", "currency",
        "erp_customer_number", "erp_order_number", "shipstation_order_key",
        "shipstation_order_id", "ordered_at", "store_customer_id",
    )  # fmt: skip
    lines = dict(OrderLine.objects.values_list("order_id", "sku"))
    quantities = dict(OrderLine.objects.values_list("order_id", "quantity"))
    tracking = dict(Shipment.objects.values_list("order_id", "tracking_numbers"))
    return {
        row[0]: (*row[1:], lines[row[0]], quantities[row[0]], str(tracking.get(row[0])))
        for row in orders
    }


def number_of(order: Order) -> int:
    return int(order.store_order_id[2:])


def texts_by_order() -> dict[int, dict[str, str]]:
    """Every text that may name an order's shopper, per order and kind (a few queries)."""
    texts: dict[int, dict[str, str]] = defaultdict(lambda: defaultdict(str))
    for pk, *values in Order.objects.values_list(
        "pk", "customer_email", "ship_to", "payload", "state_message", "last_error"
    ):
        texts[pk]["order"] = str(values)
    for order_id, message in OrderEvent.objects.values_list("order_id", "message"):
        texts[order_id]["events"] += message
    for order_id, *values in OrderChange.objects.values_list("order_id", "summary", "after"):
        texts[order_id]["changes"] += str(values)
    for order_id, *values in Shipment.objects.values_list("order_id", "raw", "note"):
        texts[order_id]["shipments"] += str(values)
    for item_id, error in WorkAttempt.objects.filter(kind="orders.order").values_list(
        "item_id", "error"
    ):
        texts[item_id]["attempts"] += error
    return texts


def holds_personal_data(order: Order, texts: dict[int, dict[str, str]]) -> list[str]:
    """Where the order or anything hanging off it still names its shopper."""
    n = number_of(order)
    needles = (email_of(n), street_of(n), name_of(n), "07700 900")
    return [where for where, text in texts[order.pk].items() if any(x in text for x in needles)]


@pytest.mark.django_db
def test_retention_removes_personal_data_of_done_orders_past_the_period_and_only_theirs(acme):
    with schema_context("acme"):
        seed_orders(COUNT)
        before = kept_figures()

        run = retention.apply_retention(batch_size=2000)

        orders = list(Order.objects.all())
        texts = texts_by_order()
        due = [o for o in orders if o.state in DONE and is_old(number_of(o))]
        due_ids = {o.pk for o in due}
        assert run.orders == len(due) > 0
        assert run.batches == -(-len(due) // 2000)
        assert kept_figures() == before
        for order in orders:
            if order.pk in due_ids:
                assert order.personal_data_removed_at is not None
                assert order.customer_email == ""
                assert order.ship_to == {"country": "GB"}
                assert set(order.payload) == {
                    "id",
                    "order_id",
                    "currency",
                    "status",
                    "totals",
                    "order_products",
                    "refunds",
                }
                assert order.payload["order_products"][0]["quantity"] == 2
                assert order.payload["refunds"] == [{"id": f"F{number_of(order)}", "total": 1}]
                assert holds_personal_data(order, texts) == [], order.store_order_id
            else:
                assert order.personal_data_removed_at is None
                assert order.customer_email == email_of(number_of(order))
                assert "customer" in order.payload
                assert set(holds_personal_data(order, texts)) >= {"order", "events"}
        ship_to_changes = OrderChange.objects.filter(order__in=due, kind="ship_to")
        assert ship_to_changes.exists()
        assert all(c.before == {} and c.after == {} for c in ship_to_changes)
        audit = ActivityEvent.objects.get(action="privacy.retention")
        assert f"{len(due)} done order(s)" in audit.message
        assert "example.test" not in audit.message


@pytest.mark.django_db
def test_retention_is_idempotent_and_follows_the_tenants_own_period(acme):
    with schema_context("acme"):
        seed_orders(300)
        first = retention.apply_retention()
        removed = dict(
            Order.objects.exclude(personal_data_removed_at=None).values_list(
                "pk", "personal_data_removed_at"
            )
        )
        again = retention.apply_retention()
        assert (first.orders, again.orders, again.rows_changed) == (len(removed), 0, 0)
        assert (
            dict(
                Order.objects.exclude(personal_data_removed_at=None).values_list(
                    "pk", "personal_data_removed_at"
                )
            )
            == removed
        )

        # A tenant that keeps data for 5 days: the recent done orders (10 days) go too.
        settings_row = ConnectionSettings.load()
        settings_row.personal_data_retention_days = 5
        settings_row.save()
        expected = Order.objects.filter(state__in=DONE, personal_data_removed_at=None).count()
        assert retention.apply_retention().orders == expected > 0
        assert not Order.objects.filter(state__in=DONE, personal_data_removed_at=None).exists()
        assert Order.objects.exclude(state__in=DONE).filter(customer_email="").count() == 0


@pytest.mark.django_db
def test_the_sweep_job_asks_once_an_hour_and_sends_only_where_something_is_due(acme, globex):
    now = timezone.now()
    for schema in ("acme", "globex"):
        with schema_context(schema):
            cache.delete("privacy:retention")  # Redis outlives the test's transaction
    with schema_context("globex"):
        # Nothing due in globex: the hourly question answers no message.
        assert retention.due_in_tenant(now, now) == []
    with schema_context("acme"):
        seed_orders(20)
        assert retention.due_in_tenant(now, now) == [()]
        assert retention.due_in_tenant(now, now) == []  # asked again within the hour
        assert once_every("privacy:retention", 10) == []
        cache.delete("privacy:retention")


@pytest.mark.django_db
def test_a_person_can_set_the_period_and_bad_values_are_refused(acme_admin):
    with schema_context("acme"):
        url = f"/admin/tenant_settings/connectionsettings/{ConnectionSettings.load().pk}/change/"
    page = acme_admin.get(url)
    assert page.status_code == 200
    assert b"personal_data_retention_days" in page.content
    refused = acme_admin.post(url, {"personal_data_retention_days": "0"})
    assert refused.status_code == 200
    assert b"greater than or equal to 1" in refused.content
    with schema_context("acme"):
        assert ConnectionSettings.load().retention_days == 90
