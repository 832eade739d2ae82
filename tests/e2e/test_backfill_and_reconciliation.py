"""A store's history and the proof that nothing is missing, end to end (issue 30).

The store took orders before its webhooks were registered: they are placed in the sandbox's
store without webhooks, days ago. A backfill (counted, confirmed, imported) brings them in and
the hub's workers send them to the ERP and ShipStation over HTTP; the next reconciliation
reports zero mismatches. Then one order is deleted in the ShipStation fake, and the next run
names it, with its fix; the fix sends it again and the run after that is clean.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from core import keys, work
from orders.intake import backfill
from orders.models import Backfill, Order
from reconciliation import fixes
from reconciliation.models import Finding, ReconciliationRun
from tests.support.demo_world import orders_of
from tests.support.harness import wait_until

STORE = "acme-outlet"
DAYS_AGO = 3


def window() -> tuple:
    now = timezone.now()
    return now - timedelta(days=DAYS_AGO + 0.5), now - timedelta(days=DAYS_AGO - 0.5)


def finished(model, pk: int, *states: str):
    with schema_context("acme"):
        row = model.objects.get(pk=pk)
    return row if row.state in states else None


def reconciled() -> ReconciliationRun:
    start, end = window()
    with schema_context("acme"):
        run = ReconciliationRun.objects.create(
            window_start=start, window_end=end, requested_by="e2e"
        )
        work.schedule(run)
    return wait_until(lambda: finished(ReconciliationRun, run.pk, "done"), timeout=60)


def test_backfill_then_reconcile_clean_then_a_lost_shipstation_order_is_named(
    hub, demo_world, live_db
):
    demo_world.sandbox.control("shipstation", "set-rate-limit", limit=100_000)
    placed = demo_world.sandbox.control(
        "api2cart", "place-orders", store=STORE, count=12, quiet=True, days_ago=DAYS_AGO
    )["orders"]
    assert orders_of("acme", store_order_id__in=[p["id"] for p in placed]) == []

    start, end = window()
    with schema_context("acme"):
        asked = backfill.request_backfill(demo_world.stores[STORE], start, end)
    counted = wait_until(lambda: finished(Backfill, asked.pk, "counted"), timeout=60)
    assert (counted.orders_total, counted.orders_known, counted.orders_done) == (12, 0, 0)
    with schema_context("acme"):
        assert backfill.confirm(counted)
    done = wait_until(lambda: finished(Backfill, asked.pk, "done"), timeout=60)
    assert done.orders_new == 12

    ids = [p["id"] for p in placed]
    sent = Order.State.SENT_TO_SHIPSTATION
    wait_until(lambda: len(orders_of("acme", store_order_id__in=ids, state=sent)) == 12, 120)

    clean = reconciled()
    assert (clean.store_orders, clean.hub_orders, clean.mismatches) == (12, 12, 0)

    [lost] = orders_of("acme", store_order_id=ids[4])
    with schema_context("acme"):
        key = keys.outside_key(keys.ORDER, lost.pk)
    demo_world.sandbox.control("shipstation", "delete-order", order=key)

    found = reconciled()
    with schema_context("acme"):
        [finding] = found.findings.all()
    assert (finding.kind, finding.fix, finding.order_id) == (
        Finding.Kind.MISSING_IN_SHIPSTATION,
        Finding.Fix.RETRY,
        lost.pk,
    )
    assert "ShipStation has no order under its orderKey" in finding.detail

    with schema_context("acme"):
        assert fixes.request_fixes([finding], "ops@acme.test") == [finding.pk]
    fixed = wait_until(lambda: finished(Finding, finding.pk, "fixed"), timeout=60)
    assert f"orderKey {key}" in fixed.outcome
    assert reconciled().mismatches == 0
