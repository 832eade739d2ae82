"""Reconciliation: store orders ↔ hub orders ↔ ERP orders ↔ ShipStation orders over a window.

Read in bulk and in turn, so a nightly run for every tenant stays cheap (README: calls per
1,000 orders): the store's `order.list` by creation date (250 orders a page), the ERP heads
of the hub's ERP orders by `GetHead` (100 to an M3 bulk POST) and, for duplicates, the orders of
their customers by `LstHead` (100 customers to a bulk POST), ShipStation's orders listed by
order date (500 a page) and matched by the hub's `orderKey`. Each disagreement becomes a
`Finding` with the one action that fixes it (`reconciliation.fixes`).

Orders still on their way (routed, customer linked, in ERP waiting for the push) are not
mismatches; store orders younger than `HUB_RECONCILIATION_GRACE_MINUTES` are not missing yet.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alerts.services import clear_alert, raise_alert
from connectors import api2cart
from connectors.errors import AuthenticationError
from core import keys, work
from inbox.polling import platform_limits, poll_windows
from orders.changes.versions import CANCELLED, store_lifecycle
from orders.models import Order
from reconciliation.models import Finding, ReconciliationRun
from shipping.shipstation_changes import OPEN as SHIPSTATION_OPEN
from tenant_settings.connection_clients import erp_client, shipstation_client
from tenants.models import SkuOwnership, Store, StoreMembership, Tenant, sku_key
from tenants.store_clients import api2cart_for_store

S = Order.State
K = Finding.Kind
F = Finding.Fix

IN_ERP = (S.IN_ERP, S.SENT_TO_SHIPSTATION, S.PARTIALLY_SHIPPED, S.SHIPPED, S.INVOICED)
"""States in which the order has an ERP order."""
IN_SHIPSTATION = (S.SENT_TO_SHIPSTATION, S.PARTIALLY_SHIPPED, S.SHIPPED, S.INVOICED)
"""States in which the order has a ShipStation order (when it needs shipping)."""
PARKED = (S.NEEDS_ATTENTION, S.FAILED)
TOTAL_TOLERANCE = Decimal("0.01")
DATE_MARGIN = timedelta(days=1)
"""ShipStation order dates are Pacific local time: list a day either side, match by key."""


def default_window_days() -> int:
    return settings.HUB_RECONCILIATION_DAYS


def grace() -> timedelta:
    return timedelta(minutes=settings.HUB_RECONCILIATION_GRACE_MINUTES)


def request_run(
    *, store: Store | None = None, days: int | None = None, requested_by: str = ""
) -> ReconciliationRun:
    """A run over the last `days` days (the default window unless named), queued for a worker."""
    end = timezone.now()
    run = ReconciliationRun.objects.create(
        store=store,
        window_start=end - timedelta(days=days or default_window_days()),
        window_end=end,
        requested_by=requested_by,
    )
    work.schedule(run)
    return run


# --- What each side says -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoreOrder:
    """A store order as `order.list` lists it: its ids, status and total."""

    store: Store
    id: str
    order_id: str
    lifecycle: str
    status: str
    total: Decimal | None
    created_at: datetime | None
    skus: tuple[str, ...]

    @property
    def reference(self) -> str:
        return self.id or self.order_id


@dataclass
class Findings:
    """What a run found and what it cost, gathered before one bulk INSERT."""

    run: ReconciliationRun
    found: list[Finding] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    flagged: set[tuple[int, str]] = field(default_factory=set)
    store_cancelled: set[int] = field(default_factory=set)

    def add(
        self, kind: str, fix: str, detail: str, *, order: Order | None = None, **fields: object
    ) -> None:
        if order is not None:
            if (order.pk, kind) in self.flagged:
                return
            self.flagged.add((order.pk, kind))
            fields.setdefault("store_id", order.store_id)
            fields.setdefault("store_order_id", order.store_order_id)
            fields.setdefault("order_number", order.order_number)
        self.found.append(
            Finding(run=self.run, kind=kind, fix=fix, order=order, detail=detail, **fields)
        )


def tenant_stores() -> list[Store]:
    """The stores this tenant sells through."""
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    ids = StoreMembership.objects.filter(tenant=tenant).values_list("store_id", flat=True)
    return list(Store.objects.select_related("account").filter(pk__in=list(ids)))


def hub_orders(run: ReconciliationRun, stores: list[Store]) -> list[Order]:
    """The hub's orders of the window (by order date, else arrival), of the run's store."""
    dated = Q(ordered_at__gte=run.window_start, ordered_at__lt=run.window_end)
    undated = Q(
        ordered_at__isnull=True,
        created_at__gte=run.window_start,
        created_at__lt=run.window_end,
    )
    orders = Order.objects.filter(dated | undated)
    if run.store_id:
        orders = orders.filter(store_id=run.store_id)
    return list(
        orders.only(
            "pk", "store_id", "store_order_id", "order_number", "state", "total",
            "erp_order_number", "erp_customer_number", "shipstation_order_id", "needs_shipping",
            "ordered_at", "created_at",
        )
    )  # fmt: skip


def store_orders(store: Store, run: ReconciliationRun, found: Findings) -> list[StoreOrder]:
    """The store's orders created in the window (ids, status, total, SKUs only), a page of 250
    per call, in the platform's reach (`inbox.polling.platform_limits`); what it cannot reach
    is noted on the run."""
    client = api2cart_for_store(store)
    limits = platform_limits(store.platform)
    start = run.window_start
    if limits.max_lookback is not None and start < timezone.now() - limits.max_lookback:
        start = timezone.now() - limits.max_lookback + timedelta(hours=1)
        found.notes.append(
            f"{store.display_name}: orders before {start:%Y-%m-%d %H:%M} UTC are beyond what "
            f"{store.platform} lists; not checked."
        )
    listed = []
    for since, until in poll_windows(start, run.window_end, limits):
        cursor = ""
        while True:
            rows, cursor = client.order_page(
                cursor, created_from=since, created_to=until, fields=api2cart.SUMMARY_FIELDS
            )
            found.calls["api2cart"] += 1
            listed += [seen for row in rows if (seen := _store_order(store, row)) is not None]
            if not cursor:
                break
    return listed


def _store_order(store: Store, row: object) -> StoreOrder | None:
    try:
        order = api2cart.OrderSummary.from_api(row)
    except api2cart.UnreadableOrder:
        return None
    return StoreOrder(
        store=store,
        id=order.id,
        order_id=order.order_id,
        lifecycle=store_lifecycle(order.status, order.financial_status, order.fulfillment_status),
        status=order.status,
        total=order.total,
        created_at=order.created_at,
        skus=order.skus,
    )


# --- The run ------------------------------------------------------------------------------------


def reconcile(run: ReconciliationRun) -> work.Done:
    """One attempt at the run: read every side, write the findings and the counts."""
    clock = time.monotonic()
    started = timezone.now()
    stores = [run.store] if run.store_id else tenant_stores()
    found = Findings(run)
    orders = hub_orders(run, stores)
    listed: list[StoreOrder] = []
    for store in stores:
        listed += store_orders(store, run, found)
    compare_store_and_hub(listed, orders, stores, found)
    compare_erp(orders, found)
    compare_shipstation(run, orders, listed, found)
    Finding.objects.filter(run=run).delete()  # a retried attempt starts over
    Finding.objects.bulk_create(found.found)
    counts = Counter(finding.kind for finding in found.found)
    tell_people(run, counts)
    return work.Done(
        ReconciliationRun.State.DONE,
        fields={
            "started_at": started,
            "finished_at": timezone.now(),
            "store_orders": len(listed),
            "hub_orders": len(orders),
            "mismatches": len(found.found),
            "counts": dict(counts),
            "calls": dict(found.calls),
            "notes": "\n".join(found.notes),
            "seconds": round(time.monotonic() - clock, 3),
        },
    )


def tell_people(run: ReconciliationRun, counts: Counter) -> None:
    """Mismatches raise the tenant's reconciliation alert (one episode per store, or for all
    its stores); a run that finds nothing ends it."""
    key = f"store:{run.store_id}" if run.store_id else "all stores"
    if not counts:
        clear_alert(Alert.Kind.RECONCILIATION, key)
        return
    labels = dict(Finding.Kind.choices)
    raise_alert(
        Alert.Kind.RECONCILIATION,
        key,
        f"Reconciliation found {sum(counts.values())} mismatch(es)"
        + (f" in store {run.store}" if run.store_id else ""),
        detail=", ".join(f"{labels.get(kind, kind)}: {n}" for kind, n in sorted(counts.items())),
        url=reverse("tenant_admin:reconciliation_reconciliationrun_change", args=[run.pk]),
    )


def compare_store_and_hub(
    listed: list[StoreOrder], orders: list[Order], stores: list[Store], found: Findings
) -> None:
    """Missing in the hub, duplicated in the hub, totals and statuses store ↔ hub."""
    by_key: dict[tuple[int | None, str], Order] = {
        (o.store_id, o.store_order_id): o for o in orders
    }
    known = _known_elsewhere(listed, by_key)
    by_key.update(known)
    shared = _shared_stores(stores)
    owned = _owned_skus(shared)
    young = timezone.now() - grace()
    for seen in listed:
        keys_ = {seen.id, seen.order_id} - {""}
        matches = {by_key[(seen.store.pk, key)] for key in keys_ if (seen.store.pk, key) in by_key}
        if not matches:
            ours = seen.store.pk not in shared or any(
                sku_key(sku) in owned.get(seen.store.pk, ()) for sku in seen.skus
            )
            if ours and not (seen.created_at and seen.created_at > young):
                found.add(
                    K.MISSING_IN_HUB,
                    F.IMPORT,
                    f"{seen.store.display_name} has order {seen.order_id or seen.id} "
                    f"({seen.status or 'no status'}); the hub never received it.",
                    store_id=seen.store.pk,
                    store_order_id=seen.reference,
                    order_number=seen.order_id or seen.id,
                )
            continue
        if len(matches) > 1:
            first = min(matches, key=lambda o: o.pk)
            found.add(
                K.DUPLICATED_IN_HUB,
                F.OPEN_ORDER,
                f"Store order {seen.order_id or seen.id} is {len(matches)} hub orders: "
                + ", ".join(f"#{o.pk}" for o in sorted(matches, key=lambda o: o.pk))
                + ". Cancel the extra ones in the hub.",
                order=first,
            )
            continue
        [order] = matches
        _compare_one(seen, order, seen.store.pk in shared, found)


def _compare_one(seen: StoreOrder, order: Order, shared: bool, found: Findings) -> None:
    """Totals (a whole order only: a shared store's part holds a share) and cancellations."""
    if (
        not shared
        and seen.total is not None
        and order.total is not None
        and abs(seen.total - order.total) > TOTAL_TOLERANCE
    ):
        found.add(
            K.TOTALS_DIFFER,
            F.OPEN_ORDER,
            f"The store's total is {seen.total}, the hub's {order.total}.",
            order=order,
        )
    if seen.lifecycle == CANCELLED and order.state not in (S.CANCELLED, S.HISTORY):
        found.store_cancelled.add(order.pk)
        if order.shipstation_order_id:
            return  # ShipStation's side decides the fix (cancel it there), below
        found.add(
            K.STATUSES_DISAGREE,
            F.OPEN_ORDER,
            f"Cancelled in the store, {order.get_state_display()} in the hub.",
            order=order,
        )


def _known_elsewhere(
    listed: list[StoreOrder], by_key: dict[tuple[int | None, str], Order]
) -> dict[tuple[int | None, str], Order]:
    """Hub orders of listed store orders whose hub date falls outside the window (one query)."""
    wanted = {
        (seen.store.pk, key)
        for seen in listed
        for key in (seen.id, seen.order_id)
        if key and (seen.store.pk, key) not in by_key
    }
    if not wanted:
        return {}
    rows = Order.objects.filter(
        store_id__in={store for store, _ in wanted},
        store_order_id__in={key for _, key in wanted},
    ).only("pk", "store_id", "store_order_id", "order_number", "state", "total",
           "shipstation_order_id")  # fmt: skip
    return {
        (o.store_id, o.store_order_id): o for o in rows if (o.store_id, o.store_order_id) in wanted
    }


def _shared_stores(stores: list[Store]) -> set[int]:
    counts = Counter(
        StoreMembership.objects.filter(store__in=stores).values_list("store_id", flat=True)
    )
    return {store for store, members in counts.items() if members > 1}


def _owned_skus(shared: set[int]) -> dict[int, set[str]]:
    """This tenant's SKU keys on each shared store: a store order with none is not ours."""
    if not shared:
        return {}
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    owned: dict[int, set[str]] = defaultdict(set)
    for store, key in SkuOwnership.objects.filter(store_id__in=shared, tenant=tenant).values_list(
        "store_id", "sku_key"
    ):
        owned[store].add(key)
    return owned


def compare_erp(orders: list[Order], found: Findings) -> None:
    """Missing in the ERP (by the hub's ERP order number, `GetHead` in bulk), and duplicated
    there (two M3 orders under one `CUOR`, from `LstHead` of the orders' customers)."""
    for order in orders:
        if order.state in PARKED and not order.erp_order_number:
            found.add(
                K.MISSING_IN_ERP,
                F.RETRY,
                f"Not in the ERP: the order is {order.get_state_display()}.",
                order=order,
            )
    with_erp = [o for o in orders if o.erp_order_number and o.state not in (S.HISTORY,)]
    if not with_erp:
        return
    try:
        client = erp_client()
    except AuthenticationError as exc:
        found.notes.append(f"ERP not checked: {exc}")
        return
    numbers = [o.erp_order_number for o in with_erp]
    heads = client.order_heads(numbers)
    found.calls["m3"] += _bulk_calls(numbers)
    for order in with_erp:
        if heads.get(order.erp_order_number) is None:
            found.add(
                K.MISSING_IN_ERP,
                F.OPEN_ORDER,
                f"The hub recorded ERP order {order.erp_order_number}; M3 does not know it.",
                order=order,
            )
    customers = sorted({o.erp_customer_number for o in with_erp if o.erp_customer_number})
    listed = client.orders_of_customers(customers)
    found.calls["m3"] += _bulk_calls(customers)
    ours = {keys.erp_order_reference(o.pk): o for o in with_erp}
    numbers_by_ref: dict[str, set[str]] = defaultdict(set)
    for heads_of_customer in listed.values():
        for head in heads_of_customer:
            if head.customer_order_ref in ours:
                numbers_by_ref[head.customer_order_ref].add(head.order_number)
    for reference, erp_numbers in numbers_by_ref.items():
        if len(erp_numbers) > 1:
            found.add(
                K.DUPLICATED_IN_ERP,
                F.OPEN_ORDER,
                f"M3 holds {len(erp_numbers)} orders under {reference}: "
                f"{', '.join(sorted(erp_numbers))}. Delete the extra ones in M3.",
                order=ours[reference],
            )


def _bulk_calls(values: Iterable[str]) -> int:
    return math.ceil(len(set(values)) / 100)


def compare_shipstation(
    run: ReconciliationRun, orders: list[Order], listed: list[StoreOrder], found: Findings
) -> None:
    """Missing, duplicated, totals and open-while-cancelled, by the hub's orderKey."""
    expected = [o for o in orders if o.needs_shipping and o.state in IN_SHIPSTATION]
    parked = [
        o
        for o in orders
        if o.needs_shipping and o.state in PARKED and o.erp_order_number
        and not o.shipstation_order_id
    ]  # fmt: skip
    for order in parked:
        found.add(
            K.MISSING_IN_SHIPSTATION,
            F.RETRY,
            f"Not in ShipStation: the order is {order.get_state_display()}.",
            order=order,
        )
    watched = {o.pk: o for o in orders if o.state in IN_SHIPSTATION or o.shipstation_order_id}
    if not watched:
        return
    try:
        client = shipstation_client()
    except AuthenticationError as exc:
        found.notes.append(f"ShipStation not checked: {exc}")
        return
    by_order: dict[int, list] = defaultdict(list)
    seen = 0
    for ss_order in client.list_orders(
        order_date_start=run.window_start - DATE_MARGIN,
        order_date_end=run.window_end + DATE_MARGIN,
    ):
        seen += 1
        pk = keys.record_id_of(ss_order.order_key, keys.ORDER)
        if pk in watched:
            by_order[pk].append(ss_order)
    found.calls["shipstation"] += max(1, math.ceil(seen / client.page_size))
    for order in expected:
        if not by_order.get(order.pk):
            found.add(
                K.MISSING_IN_SHIPSTATION,
                F.RETRY,
                f"The hub sent it as ShipStation order {order.shipstation_order_id or '?'}; "
                "ShipStation has no order under its orderKey.",
                order=order,
            )
    for pk, ss_orders in by_order.items():
        _compare_shipstation_order(watched[pk], ss_orders, found)


def _compare_shipstation_order(order: Order, ss_orders: list, found: Findings) -> None:
    if len(ss_orders) > 1:
        found.add(
            K.DUPLICATED_IN_SHIPSTATION,
            F.OPEN_ORDER,
            f"ShipStation holds {len(ss_orders)} orders for it: "
            + ", ".join(str(o.order_id) for o in ss_orders)
            + ". Delete the extra ones in ShipStation.",
            order=order,
        )
        return
    [ss_order] = ss_orders
    cancelled = order.state == S.CANCELLED or order.pk in found.store_cancelled
    if cancelled and ss_order.order_status in SHIPSTATION_OPEN:
        where = "in the hub" if order.state == S.CANCELLED else "in the store"
        found.add(
            K.STATUSES_DISAGREE,
            F.CANCEL_IN_SHIPSTATION,
            f"Cancelled {where}, {ss_order.order_status} in ShipStation "
            f"(order {ss_order.order_id}).",
            order=order,
        )
    elif order.pk in found.store_cancelled:
        found.add(
            K.STATUSES_DISAGREE,
            F.OPEN_ORDER,
            f"Cancelled in the store ({ss_order.order_status} in ShipStation), "
            f"{order.get_state_display()} in the hub.",
            order=order,
        )
    if (
        order.total is not None
        and ss_order.order_total is not None
        and abs(ss_order.order_total - order.total) > TOTAL_TOLERANCE
    ):
        found.add(
            K.TOTALS_DIFFER,
            F.RETRY,
            f"ShipStation's total is {ss_order.order_total}, the hub's {order.total}.",
            order=order,
        )


# --- Pages --------------------------------------------------------------------------------------


def last_run() -> ReconciliationRun | None:
    """The newest finished run of this tenant (the dashboards' panel)."""
    return ReconciliationRun.objects.filter(state=ReconciliationRun.State.DONE).first()


@dataclass(frozen=True)
class Panel:
    run: ReconciliationRun | None
    kinds: list[tuple[str, int]]
    url: str


def panel() -> Panel:
    """The last run's figures, from its stored counts: one query."""
    run = last_run()
    labels = dict(Finding.Kind.choices)
    kinds = [(labels.get(k, k), n) for k, n in sorted((run.counts if run else {}).items())]
    url = reverse("tenant_admin:reconciliation_reconciliationrun_changelist")
    if run:
        url = reverse("tenant_admin:reconciliation_reconciliationrun_change", args=[run.pk])
    return Panel(run, kinds, url)


# --- The work kind ------------------------------------------------------------------------------


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=ReconciliationRun,
            task="reconciliation.reconcile",
            work_states=(ReconciliationRun.State.QUEUED,),
            lease_seconds=300,
        )
    )
