"""Idle tenants cost nothing: a tick visits only the tenant schemas woken for it (issue 31).

Statement counts come from Django's query capture around one `sweep()`.
"""

import time
from datetime import timedelta

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from core import sweeper, work
from core.models import SchemaWakeUp
from inbox.polling import claim_due_polls
from orders.models import Order
from shipping import polls
from tenants.models import StoreMembership
from tests.support.stores import make_store

VISITED = 'FROM "orders_order"'  # a visit reads the schema's orders through the search path


@pytest.fixture
def no_wake_ups(db):
    """Only the test's own wake-ups (the table is shared by every schema)."""
    SchemaWakeUp.objects.all().delete()


def quiet_slice() -> None:
    """The safety net's last tick was just now: this tick's slice of the full pass is empty
    (or a second wide)."""
    cache.set(sweeper.LAST_TICK_KEY, time.time())


def whole_pass_due() -> None:
    cache.set(sweeper.LAST_TICK_KEY, time.time() - 2 * 3600)


def an_order(number: str, **fields) -> Order:
    order = Order.objects.create(
        source="api", store_order_id=number, order_number=number, **fields
    )  # fmt: skip
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    return order


def test_an_idle_tick_visits_no_tenant_and_runs_at_most_50_statements(acme, globex, no_wake_ups):
    later = timezone.now() + timedelta(hours=3)
    for schema in ("acme", "globex"):
        with schema_context(schema):
            an_order(f"{schema}-1", next_attempt_at=later)  # work, but not due for hours
            sweeper.wake(later)
    quiet_slice()

    with CaptureQueriesContext(connection) as statements:
        report = sweeper.sweep()

    sql = [query["sql"] for query in statements.captured_queries]
    assert not any(VISITED in statement for statement in sql)
    assert not {schema for found in report.values() for schema in found} - {"public"}
    assert len(sql) <= 50


def test_a_tick_visits_only_the_woken_tenant_and_leaves_its_next_wake_up(acme, globex, no_wake_ups):
    now = timezone.now()
    with schema_context("acme"):
        due = an_order("A-1")
        backing_off = an_order("A-2", next_attempt_at=now + timedelta(minutes=10))
        sweeper.wake(now)
    with schema_context("globex"):
        an_order("G-1")  # due too, but nobody woke globex (the safety net is further down)
        sweeper.wake(now + timedelta(hours=1))
    quiet_slice()

    with CaptureQueriesContext(connection) as statements:
        report = sweeper.sweep()

    assert report["orders"] == {"acme": 1}
    visits = [q["sql"] for q in statements.captured_queries if VISITED in q["sql"]]
    assert visits and len(statements.captured_queries) <= 80
    # acme comes back at the next tick (it had work due) and globex keeps its own wake-up.
    left = dict(SchemaWakeUp.objects.values_list("schema_name", "due_at"))
    assert left["globex"] == now + timedelta(hours=1)
    assert left["acme"] <= timezone.now() + timedelta(seconds=20)
    assert due.pk != backing_off.pk


def test_a_visit_with_nothing_due_now_wakes_the_schema_when_its_work_is_due(acme, no_wake_ups):
    now = timezone.now()
    with schema_context("acme"):
        order = an_order("A-1", next_attempt_at=now + timedelta(minutes=10))
        sweeper.wake(now)
    quiet_slice()

    assert "orders" not in sweeper.sweep()
    [(due_at,)] = SchemaWakeUp.objects.filter(schema_name="acme").values_list("due_at")
    grace = timedelta(seconds=work.settings.HUB_SWEEP_GRACE_SECONDS)
    assert due_at == order.next_attempt_at + grace

    sweeper.sweep()  # not due yet: nothing visited, and no second wake-up for the same work
    assert SchemaWakeUp.objects.filter(schema_name="acme").count() == 1


def test_writers_wake_the_schema_once_per_transaction(acme, no_wake_ups):
    with schema_context("acme"):
        orders = [an_order(f"A-{n}") for n in range(3)]
        with transaction.atomic():
            for order in orders:
                work.schedule_many(Order, [order.pk])
            [(schema, due_at)] = SchemaWakeUp.objects.values_list("schema_name", "due_at")
            assert schema == "acme" and due_at > timezone.now()  # after the messages' grace

            # A lease ends after that wake-up: the visit then chains to the lease's end.
            [claimed] = work.claim_batch(Order, [orders[0].pk])
            assert claimed.lease_until >= due_at
            assert SchemaWakeUp.objects.count() == 1


def test_the_safety_net_visits_a_schema_whose_work_nobody_announced(acme, globex, no_wake_ups):
    with schema_context("acme"):
        an_order("A-1")  # due, and no wake-up: a writer forgot
    with schema_context("globex"):
        sweeper.wake(timezone.now() + timedelta(hours=1))
    whole_pass_due()

    report = sweeper.sweep()

    assert report["orders"] == {"acme": 1}
    assert SchemaWakeUp.objects.filter(schema_name="acme").exists()  # back on its chain


def test_a_tick_does_nothing_while_another_holds_the_lock(acme, no_wake_ups):
    with schema_context("acme"):
        an_order("A-1")
        sweeper.wake(timezone.now())
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [sweeper.TICK_LOCK])
        assert sweeper.sweep() == {}
        other.execute("SELECT pg_advisory_unlock(%s)", [sweeper.TICK_LOCK])
    assert sweeper.sweep()["orders"] == {"acme": 1}


def test_shipment_polls_run_only_while_orders_wait_for_them(acme):
    now = timezone.now()
    erp_polls = polls.next_due(polls.ERP_DELIVERIES_KEY, polls.erp_deliveries_poll_needed)
    with schema_context("acme"):
        cache.delete(polls.ERP_DELIVERIES_KEY)
        assert erp_polls(now) is None
        an_order("A-1", state=Order.State.SENT_TO_SHIPSTATION, erp_order_number="1000123")
        assert erp_polls(now) == now
        assert polls.due(polls.ERP_DELIVERIES_KEY, polls.erp_deliveries_poll_needed)(now, now)
        assert erp_polls(now) > now + timedelta(seconds=200)  # the poll interval from now


def test_store_polls_skip_stores_no_active_tenant_sells_through(acme, account):
    unused, served = make_store(account, "northwind"), make_store(account, "acme-outlet")
    StoreMembership.objects.create(store=served, tenant=acme)

    claimed = claim_due_polls(timezone.now())

    assert served.pk in claimed and unused.pk not in claimed


def test_daily_upkeep_falls_at_each_schema_own_time(acme, globex):
    now = timezone.now()
    slots = {}
    for schema in ("acme", "globex"):
        with schema_context(schema):
            slots[schema] = sweeper.next_slot(24 * 3600, now)
    assert all(now < slot <= now + timedelta(days=1) for slot in slots.values())
    assert slots["acme"] != slots["globex"]
