"""The front page lists the orders for which M3 may hold a batch order the hub cannot see (a
request for one got no answer), with their CUOR and what to do in M3, until a person says M3
was checked."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from orders.erp.batch_orders import BATCH_CHECKED, customer_order_ref
from orders.models import Order
from portal.front_page import STRAY_BATCHES_LISTED, stray_batch_checks

_serial = count(1)


def orders_in_acme(how_many: int, **fields) -> list[Order]:
    with schema_context("acme"):
        return [
            Order.objects.create(
                source=Order.Source.API,
                store_order_id=f"S{n}",
                order_number=f"S{n}",
                state=Order.State.CUSTOMER_LINKED,
                erp_customer_number="ACWEB00001",
                **fields,
            )
            for n in (next(_serial) for _ in range(how_many))
        ]


def test_the_front_page_lists_orders_whose_batch_request_got_no_answer(acme_admin, acme):
    since = timezone.now() - timedelta(minutes=5)
    [lost] = orders_in_acme(1, erp_batch_check_since=since)
    [rebuilt] = orders_in_acme(1, erp_batch_check_since=since, erp_temporary_order_number="B77")
    orders_in_acme(1, erp_temporary_order_number="B78")  # its number is known: not listed

    page = acme_admin.get("/admin/")

    stray = page.context["orders"].stray_batches
    assert stray.total == 2
    assert {check.order.pk for check in stray.orders} == {lost.pk, rebuilt.pk}
    html = page.content.decode()
    assert 'id="stray-erp-batches"' in html and "M3 batch orders to check" in html
    for order in (lost, rebuilt):
        assert f"<code>{customer_order_ref(order)}</code>" in html
        assert f"customer order no. {customer_order_ref(order)}" in html
    assert "In M3, batch order entry (OIS100)" in html
    assert "except B77" in html  # the hub's own batch order is not for a person to delete
    listed = acme_admin.get(stray.url)
    assert listed.status_code == 200 and listed.context["cl"].result_count == 2


def test_checking_m3_takes_the_order_off_the_list(acme_admin, acme):
    [order, other] = orders_in_acme(2, erp_batch_check_since=timezone.now())

    page = acme_admin.post(
        "/admin/orders/order/",
        {"action": "mark_erp_batches_checked", "_selected_action": [order.pk]},
        follow=True,
    )

    assert b"1 order no longer listed as M3 batch orders to check" in page.content
    with schema_context("acme"):
        order.refresh_from_db()
        assert order.erp_batch_check_since is None
        [checked] = order.events.filter(step=BATCH_CHECKED)
        assert checked.actor == "ops@acme.test"
        assert customer_order_ref(order) in checked.message
    stray = acme_admin.get("/admin/").context["orders"].stray_batches
    assert stray.total == 1 and [c.order.pk for c in stray.orders] == [other.pk]


def test_no_panel_when_nothing_is_to_check(acme_admin, acme):
    orders_in_acme(1)

    page = acme_admin.get("/admin/")

    assert page.context["orders"].stray_batches.total == 0
    assert b'id="stray-erp-batches"' not in page.content


def test_the_list_costs_at_most_two_statements_however_many_are_flagged(acme):
    many = STRAY_BATCHES_LISTED + 5
    orders_in_acme(many, erp_batch_check_since=timezone.now())
    with schema_context("acme"):
        Order.objects.exists()  # the schema's search_path is set before counting
        with CaptureQueriesContext(connection) as statements:
            checks = stray_batch_checks()
    assert len(statements) == 2  # the newest flagged, and how many there are
    assert checks.total == many and len(checks.orders) == STRAY_BATCHES_LISTED
