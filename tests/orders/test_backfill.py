"""Backfill of a store's history, in-process against the sandbox's store: the dry run's counts,
the import in either mode, a platform that lists only 30 days, a crash half-way, the command and
the portal's pages.

Orders are placed in the sandbox's store days in the past without webhooks (the hub never heard
of them); each test uses its own days, so the module's orders never share a range.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.api2cart import Api2CartClient
from core import work
from orders.intake import backfill
from orders.models import Backfill, Order
from tenants.models import Tenant
from tests.support.portal import PASSWORDS, PLATFORM_PASSWORD, signed_in

STORE = "acme-outlet"


@pytest.fixture
def world(demo_world, live_db):
    return demo_world


def place(world, count: int, days_ago: float, **payload) -> list[dict]:
    answer = world.sandbox.control(
        "api2cart", "place-orders", store=STORE, count=count, quiet=True, days_ago=days_ago,
        **payload,
    )  # fmt: skip
    return answer["orders"]


def around(days_ago: float) -> tuple[datetime, datetime]:
    now = timezone.now()
    return now - timedelta(days=days_ago + 0.5), now - timedelta(days=days_ago - 0.5)


def counted(world, days_ago: float, mode: str = Backfill.Mode.FULL) -> Backfill:
    start, end = around(days_ago)
    with schema_context("acme"):
        run = backfill.request_backfill(world.stores[STORE], start, end, mode=mode)
        assert work.process(Backfill, run.pk, backfill.step) == Backfill.State.COUNTED
        run.refresh_from_db()
    return run


def imported(run: Backfill) -> Backfill:
    with schema_context("acme"):
        assert backfill.confirm(run)
        assert work.process(Backfill, run.pk, backfill.step) == Backfill.State.DONE
        run.refresh_from_db()
    return run


def states(placed: list[dict]) -> dict[str, str]:
    with schema_context("acme"):
        rows = Order.objects.filter(store_order_id__in=[p["id"] for p in placed])
        return dict(rows.values_list("store_order_id", "state"))


def test_the_dry_run_counts_new_known_and_done_orders_and_imports_nothing(world):
    fresh = place(world, 3, days_ago=60)
    done = place(world, 2, days_ago=60, status="Completed")
    first = imported(counted(world, 60))
    assert first.orders_new == 5
    more = place(world, 2, days_ago=60)

    run = counted(world, 60)

    assert (run.orders_total, run.orders_known, run.orders_done) == (7, 5, 2)
    assert run.unreachable == "" and run.state == Backfill.State.COUNTED
    assert states(more) == {}  # counting imports nothing
    assert set(states(fresh).values()) == {Order.State.ROUTED}
    assert set(states(done).values()) == {Order.State.HISTORY}


def test_the_import_takes_new_orders_once_and_keeps_done_ones_as_history(world):
    fresh = place(world, 3, days_ago=70)
    done = place(world, 1, days_ago=70, status="Canceled")

    run = imported(counted(world, 70))

    assert (run.orders_read, run.orders_new, run.orders_existing) == (4, 4, 0)
    assert set(states(fresh).values()) == {Order.State.ROUTED}
    assert states(done) == {done[0]["id"]: Order.State.HISTORY}
    with schema_context("acme"):
        order = Order.objects.get(store_order_id=fresh[0]["id"])
        assert order.source == Order.Source.BACKFILL
        assert order.next_attempt_at is not None  # due for the pipeline
        assert order.lines.count() >= 1

    again = imported(counted(world, 70))  # the same range again: nothing new
    assert (again.orders_new, again.orders_existing) == (0, 4)
    assert len(states(fresh + done)) == 4


def test_history_only_sends_nothing_anywhere(world):
    placed = place(world, 3, days_ago=80)

    run = imported(counted(world, 80, mode=Backfill.Mode.HISTORY))

    assert run.orders_new == 3
    assert set(states(placed).values()) == {Order.State.HISTORY}
    with schema_context("acme"):
        order = Order.objects.get(store_order_id=placed[0]["id"])
    assert order.next_attempt_at is None
    assert "history-only backfill" in order.state_message


def test_a_platform_listing_30_days_imports_what_it_can_and_names_the_rest(world, settings):
    settings.HUB_POLL_PLATFORM_LIMITS = {"Woocommerce": {"max_lookback_days": 30}}
    old = place(world, 2, days_ago=40)
    recent = place(world, 2, days_ago=25)
    now = timezone.now()
    with schema_context("acme"):
        run = backfill.request_backfill(
            world.stores[STORE], now - timedelta(days=40.5), now - timedelta(days=24.5)
        )
        work.process(Backfill, run.pk, backfill.step)
        run.refresh_from_db()

    assert run.orders_total == 2
    assert "Woocommerce lists orders of the last 30 days only" in run.unreachable
    assert run.unreachable.startswith(f"{now - timedelta(days=40.5):%Y-%m-%d}")

    imported(run)
    assert set(states(recent).values()) == {Order.State.ROUTED}
    assert states(old) == {}


def test_a_crash_half_way_resumes_at_its_page_without_duplicates(world, monkeypatch):
    placed = place(world, 7, days_ago=90)
    store = world.stores[STORE]
    account = store.account
    monkeypatch.setattr(
        backfill,
        "api2cart_for_store",
        lambda s: Api2CartClient(account.api_key, s.store_key, base_url=account.base_url,
                                 page_size=3),
    )  # fmt: skip
    real_accept = backfill.accept_store_rows
    pages = []

    def crash_on_second_page(*args, **kwargs):
        pages.append(len(args[1]))
        if len(pages) == 2:
            raise RuntimeError("worker killed")
        return real_accept(*args, **kwargs)

    monkeypatch.setattr(backfill, "accept_store_rows", crash_on_second_page)
    run = counted(world, 90)
    assert run.orders_total == 7
    with schema_context("acme"):
        backfill.confirm(run)
        assert work.process(Backfill, run.pk, backfill.step) == "retry"
        run.refresh_from_db()
        assert (run.state, run.orders_read, run.window_index) == (Backfill.State.IMPORTING, 3, 0)
        assert run.cursor  # the second page's
        assert len(states(placed)) == 3
        Backfill.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())

        assert work.process(Backfill, run.pk, backfill.step) == Backfill.State.DONE
        run.refresh_from_db()
    assert pages == [3, 3, 3, 1]  # the crashed page read again, then the rest
    assert (run.orders_read, run.orders_new) == (7, 7)
    with schema_context("acme"):
        ids = list(
            Order.objects.filter(store_order_id__in=[p["id"] for p in placed]).values_list(
                "store_order_id", flat=True
            )
        )
    assert sorted(ids) == sorted(p["id"] for p in placed)


def test_the_command_counts_and_imports(world):
    placed = place(world, 2, days_ago=100)
    day = (timezone.now() - timedelta(days=100)).date()
    store = world.stores[STORE]
    out = StringIO()
    args = ["--tenant", "acme", "--store", str(store.pk), "--from", f"{day}", "--to", f"{day}"]

    call_command("backfill_orders", *args, "--dry-run", stdout=out)
    assert states(placed) == {}
    call_command("backfill_orders", *args, "--history-only", stdout=out)

    said = out.getvalue()
    assert "2 orders in the range, 0 already in the hub, 0 already done" in said
    assert "2 read, 2 new, 0 already in the hub" in said
    assert set(states(placed).values()) == {Order.State.HISTORY}


def test_the_portal_counts_first_then_imports_on_confirmation(world):
    placed = place(world, 2, days_ago=110)
    day = (timezone.now() - timedelta(days=110)).date()
    admin = signed_in("acme.localhost", "ops@acme.test", PASSWORDS["acme"])
    with schema_context("acme"):
        add = reverse("tenant_admin:orders_backfill_add")
    store = world.stores[STORE]
    form = {"store": store.pk, "created_from": day, "created_to": day, "mode": "full"}
    wrong = admin.post(add, {**form, "created_to": day - timedelta(days=1)})
    assert wrong.status_code == 200
    assert "The end date comes before the start date." in wrong.content.decode()

    asked = admin.post(add, form)

    assert asked.status_code == 302
    with schema_context("acme"):
        run = Backfill.objects.latest("pk")
        work.process(Backfill, run.pk, backfill.step)
    page = admin.get(asked.headers["Location"]).content.decode()
    assert "Orders in the range</th><td>2</td>" in page and "Import 2 orders" in page
    with schema_context("acme"):
        confirm = reverse("tenant_admin:orders_backfill_confirm", args=[run.pk])
    assert admin.post(confirm, {"mode": "history"}).status_code == 302
    with schema_context("acme"):
        work.process(Backfill, run.pk, backfill.step)
    page = admin.get(asked.headers["Location"]).content.decode()
    assert "2 / 2 (100 %)" in page and "2 new" in page
    assert set(states(placed).values()) == {Order.State.HISTORY}


def test_platform_staff_import_a_stores_orders_for_a_member_tenant(world):
    placed = place(world, 2, days_ago=120)
    day = (timezone.now() - timedelta(days=120)).date()
    store = world.stores[STORE]
    staff = signed_in("localhost", "platform", PLATFORM_PASSWORD)
    store_page = staff.get(f"/admin/tenants/store/{store.pk}/change/")
    url = f"/admin/tenants/store/{store.pk}/backfill/"
    assert f'href="{url}"' in store_page.content.decode()
    acme = Tenant.objects.get(slug="acme")
    form = {"tenant": acme.pk, "created_from": day, "created_to": day, "mode": "history"}

    asked = staff.post(url, form)

    assert asked.status_code == 302
    with schema_context("acme"):
        run = Backfill.objects.latest("pk")
        work.process(Backfill, run.pk, backfill.step)
    page = staff.get(asked.headers["Location"]).content.decode()
    assert "Orders in the range</th><td>2</td>" in page
    assert staff.post(asked.headers["Location"], {"mode": "history"}).status_code == 302
    with schema_context("acme"):
        work.process(Backfill, run.pk, backfill.step)
    assert set(states(placed).values()) == {Order.State.HISTORY}
