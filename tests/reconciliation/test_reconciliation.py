"""Reconciliation of store, hub, ERP and ShipStation, in-process against the sandbox.

Store orders are placed in the sandbox's store without webhooks, days in the past, and brought
in by a backfill; the pipeline runs in this process (`advance_orders`, the ShipStation push).
The sandbox is then made to disagree on purpose (a ShipStation order deleted or its total
changed, an ERP order duplicated, an order the hub never heard of) and the run must name each,
with its fix. Each test uses its own days, so the module's orders never meet in one window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from alerts.models import Alert
from core import keys, work
from operations.metrics import exposition
from orders import state
from orders.intake import backfill
from orders.models import Backfill, Order
from orders.pipeline import advance_orders
from portal.flow_lag import refresh_figures
from reconciliation import fixes, nightly, services
from reconciliation.models import Finding, ReconciliationRun
from shipping.shipstation_push import push_orders_to_shipstation, shipstation_request
from tenant_settings.connection_clients import shipstation_client
from tenant_settings.models import ConnectionSettings
from tests.support.portal import PASSWORDS, signed_in

STORE = "acme-outlet"
K = Finding.Kind
F = Finding.Fix


@pytest.fixture
def world(demo_world, live_db, settings):
    settings.HUB_ERP_GATHER_SECONDS = 0
    demo_world.sandbox.control("shipstation", "set-rate-limit", limit=100_000)
    return demo_world


def place(world, count: int, days_ago: float, **payload) -> list[dict]:
    """Store orders the hub never heard of (no webhook), placed `days_ago` days ago."""
    answer = world.sandbox.control(
        "api2cart", "place-orders", store=STORE, count=count, quiet=True, days_ago=days_ago,
        **payload,
    )  # fmt: skip
    return answer["orders"]


def around(days_ago: float) -> tuple[datetime, datetime]:
    now = timezone.now()
    return now - timedelta(days=days_ago + 0.5), now - timedelta(days=days_ago - 0.5)


def backfill_and_send(world, days_ago: float) -> None:
    """The orders of that day imported (full pipeline) and sent to the ERP and ShipStation."""
    start, end = around(days_ago)
    with schema_context("acme"):
        run = backfill.request_backfill(world.stores[STORE], start, end)
        work.process(Backfill, run.pk, backfill.step)
        backfill.confirm(run)
        work.process(Backfill, run.pk, backfill.step)
        run.refresh_from_db()
        assert run.state == Backfill.State.DONE, run.last_error
        for _ in range(3):
            due = Order.objects.filter(state__in=state.WORK_STATES).values_list("pk", flat=True)
            ids = list(due)
            for chunk in range(0, len(ids), 50):
                advance_orders(ids[chunk : chunk + 50])
        waiting = list(Order.objects.filter(state=Order.State.IN_ERP).values_list("pk", flat=True))
        for chunk in range(0, len(waiting), 100):
            push_orders_to_shipstation(waiting[chunk : chunk + 100])


def reconcile(days_ago: float) -> ReconciliationRun:
    start, end = around(days_ago)
    with schema_context("acme"):
        run = ReconciliationRun.objects.create(
            window_start=start, window_end=end, requested_by="test"
        )
        assert work.process(ReconciliationRun, run.pk, services.reconcile) == "done"
        run.refresh_from_db()
    return run


def findings(run: ReconciliationRun) -> dict[tuple[str, str], str]:
    """{(kind, order number): fix}."""
    with schema_context("acme"):
        return {(f.kind, f.order_number): f.fix for f in run.findings.all()}


def hub_order(placed: dict) -> Order:
    with schema_context("acme"):
        return Order.objects.get(store__name=STORE, store_order_id=placed["id"])


def test_a_clean_run_of_200_orders_finds_nothing_in_a_few_calls(world):
    placed = place(world, 200, days_ago=10)
    backfill_and_send(world, 10)
    sent = [hub_order(p) for p in placed]
    assert {o.state for o in sent} == {Order.State.SENT_TO_SHIPSTATION}

    run = reconcile(10)

    assert run.state == ReconciliationRun.State.DONE
    assert (run.store_orders, run.hub_orders, run.mismatches) == (200, 200, 0)
    assert run.counts == {} and findings(run) == {}
    assert not Alert.objects.filter(kind=Alert.Kind.RECONCILIATION, resolved_at=None).exists()
    # One order.list page per store of the tenant, GetHead and LstHead 100 to a bulk POST, one
    # page of ShipStation orders.
    assert run.calls["api2cart"] == 2 and run.calls["shipstation"] == 1
    assert run.upstream_calls / run.store_orders <= 0.05


def test_each_disagreement_the_sandbox_can_make_is_found_with_its_fix(world):
    placed = place(world, 7, days_ago=20)
    backfill_and_send(world, 20)
    [never_heard_of] = place(world, 1, days_ago=20)
    lost, doubled_in_erp, other_total, cancelled, unknown_erp, doubled_in_hub, doubled_ss = [
        hub_order(p) for p in placed
    ]
    sandbox = world.sandbox
    sandbox.control("shipstation", "delete-order", order=keys_of(lost))
    sandbox.control("m3", "duplicate-order", tenant="acme", order=doubled_in_erp.erp_order_number)
    sandbox.control("shipstation", "set-order-total", order=keys_of(other_total), total=1.23)
    sandbox.cancel_store_order(cancelled.store_order_id, STORE)
    with schema_context("acme"):
        Order.objects.filter(pk=unknown_erp.pk).update(erp_order_number="9999999")
        twin = Order.objects.get(pk=doubled_in_hub.pk)
        twin.pk, twin.store_order_id, twin.state = None, placed[5]["order_id"], Order.State.HISTORY
        twin.erp_order_number = twin.shipstation_order_id = ""
        twin.save(force_insert=True)
        copy = replace(shipstation_request(doubled_ss), order_key=f"{keys_of(doubled_ss)}-copy")
        shipstation_client().create_order(copy)

    run = reconcile(20)

    assert findings(run) == {
        (K.MISSING_IN_HUB, never_heard_of["order_id"]): F.IMPORT,
        (K.MISSING_IN_SHIPSTATION, lost.order_number): F.RETRY,
        (K.DUPLICATED_IN_ERP, doubled_in_erp.order_number): F.OPEN_ORDER,
        (K.TOTALS_DIFFER, other_total.order_number): F.RETRY,
        (K.STATUSES_DISAGREE, cancelled.order_number): F.CANCEL_IN_SHIPSTATION,
        (K.MISSING_IN_ERP, unknown_erp.order_number): F.OPEN_ORDER,
        (K.DUPLICATED_IN_HUB, doubled_in_hub.order_number): F.OPEN_ORDER,
        (K.DUPLICATED_IN_SHIPSTATION, doubled_ss.order_number): F.OPEN_ORDER,
    }
    assert run.mismatches == 8 and run.counts[K.MISSING_IN_HUB] == 1
    alert = Alert.objects.get(kind=Alert.Kind.RECONCILIATION, resolved_at__isnull=True)
    assert alert.title == "Reconciliation found 8 mismatch(es)"
    assert "Missing in ShipStation: 1" in alert.detail
    with schema_context("acme"):
        detail = run.findings.get(kind=K.TOTALS_DIFFER).detail
    assert detail == f"ShipStation's total is 1.23, the hub's {other_total.total}."


def keys_of(order: Order) -> str:
    with schema_context("acme"):
        return keys.outside_key(keys.ORDER, order.pk)


def test_the_fixes_import_resend_and_cancel_and_the_next_run_is_clean(world):
    placed = place(world, 3, days_ago=30)
    backfill_and_send(world, 30)
    [never_heard_of] = place(world, 1, days_ago=30)
    lost, other_total, cancelled = [hub_order(p) for p in placed]
    world.sandbox.control("shipstation", "delete-order", order=keys_of(lost))
    world.sandbox.control("shipstation", "set-order-total", order=keys_of(other_total), total=2)
    world.sandbox.cancel_store_order(cancelled.store_order_id, STORE)
    run = reconcile(30)
    assert run.mismatches == 4

    with schema_context("acme"):
        queued = fixes.request_fixes(run.findings.all(), "ops@acme.test")
        assert len(queued) == 4
        for pk in queued:
            assert work.process(Finding, pk, fixes.fix) == Finding.State.FIXED
        outcomes = dict(run.findings.values_list("kind", "outcome"))
        imported = Order.objects.get(store__name=STORE, store_order_id=never_heard_of["id"])
        ss = shipstation_client()
        lost.refresh_from_db()
        relisted = ss.get_order(int(lost.shipstation_order_id))
        cancelled_there = ss.get_order(int(cancelled.shipstation_order_id))
        other = ss.get_order(int(other_total.shipstation_order_id))
    assert outcomes[K.MISSING_IN_HUB] == f"Imported as order #{imported.pk}."
    assert imported.state == Order.State.ROUTED  # open in the store: through the pipeline
    assert relisted.order_key == keys_of(lost) and relisted.order_status == "awaiting_shipment"
    assert cancelled_there.order_status == "cancelled"
    assert other.order_total == other_total.total

    backfill_and_send(world, 30)  # the imported order goes out like any other
    again = reconcile(30)
    # The store cancelled an order the hub still has as sent: the order change (its webhook never
    # came) is for a person to open; ShipStation no longer ships it.
    assert findings(again) == {(K.STATUSES_DISAGREE, cancelled.order_number): F.OPEN_ORDER}


def test_orders_on_their_way_and_history_are_not_mismatches(world):
    placed = place(world, 2, days_ago=40)
    [done] = place(world, 1, days_ago=40, status="Completed")
    start, end = around(40)
    with schema_context("acme"):
        run = backfill.request_backfill(world.stores[STORE], start, end)
        work.process(Backfill, run.pk, backfill.step)
        backfill.confirm(run)
        work.process(Backfill, run.pk, backfill.step)
    assert hub_order(done).state == Order.State.HISTORY
    assert {hub_order(p).state for p in placed} == {Order.State.ROUTED}

    assert reconcile(40).mismatches == 0


def test_the_report_page_csv_panel_and_metric_show_the_last_run(world):
    place(world, 2, days_ago=50)
    backfill_and_send(world, 50)
    [missing] = place(world, 1, days_ago=50)
    run = reconcile(50)
    assert run.mismatches == 1

    admin = signed_in("acme.localhost", "ops@acme.test", PASSWORDS["acme"])
    with schema_context("acme"):
        page_url = reverse("tenant_admin:reconciliation_reconciliationrun_change", args=[run.pk])
        csv_url = reverse("tenant_admin:reconciliation_reconciliationrun_csv", args=[run.pk])
    page = admin.get(page_url).content.decode()
    assert "1 mismatch ·" in page and "Missing in the hub" in page and "Import now" in page
    assert missing["order_id"] in page
    rows = admin.get(csv_url).content.decode().splitlines()
    assert rows[0].startswith("kind,store order,order number")
    assert rows[1].startswith(f"Missing in the hub,{missing['id']},{missing['order_id']}")
    front = admin.get("/admin/").content.decode()
    assert 'id="reconciliation-panel"' in front and "<strong>1 mismatch</strong>" in front
    with schema_context("acme"):
        refresh_figures()  # the next visit, asked for while the run was queued
    scraped = exposition().decode()
    assert 'hub_reconciliation_mismatches{kind="missing_in_hub",tenant="acme"} 1.0' in scraped


def test_a_person_can_ask_for_a_run_and_bad_input_is_a_form_error(world):
    admin = signed_in("acme.localhost", "ops@acme.test", PASSWORDS["acme"])
    with schema_context("acme"):
        url = reverse("tenant_admin:reconciliation_reconciliationrun_run")
    refused = admin.post(url, {"store": "", "days": "0"})
    assert refused.status_code == 200 and "greater than or equal to 1" in refused.content.decode()

    asked = admin.post(url, {"store": "", "days": "3"})

    assert asked.status_code == 302
    with schema_context("acme"):
        run = ReconciliationRun.objects.get(
            pk=int(asked.headers["Location"].rstrip("/").split("/")[-2])
        )
    assert run.state == ReconciliationRun.State.QUEUED and run.requested_by == "ops@acme.test"
    assert run.window_end - run.window_start == timedelta(days=3)


def test_the_nightly_run_comes_at_the_tenants_hour_once(world, settings):
    now = timezone.now()
    with schema_context("acme"):
        ConnectionSettings.objects.update(reconciliation_hour=(now.hour + 1) % 24)
        before = ReconciliationRun.objects.filter(requested_by="").count()
        cache.delete(f"reconciliation:nightly:{now:%Y%m%d%H}")
        assert nightly.due_runs(now, now) == []  # not its hour
        cache.delete(f"reconciliation:nightly:{now:%Y%m%d%H}")
        ConnectionSettings.objects.update(reconciliation_hour=now.hour)
        nightly.due_runs(now, now)
        nightly.due_runs(now, now)  # the same hour again: nothing more
        cache.delete(f"reconciliation:nightly:{now:%Y%m%d%H}")
        nightly.due_runs(now, now)  # the same day again: nothing more
        runs = ReconciliationRun.objects.filter(requested_by="").count() - before
        ConnectionSettings.objects.update(reconciliation_hour=2)
    assert runs == 1
