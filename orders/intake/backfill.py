"""A store's history: the orders created in a date range, counted first, then imported.

The dry run lists the range (`order.list` by creation date, 250 orders a page) and says how many
orders there are, how many the hub already has and how many are already done in the store; it
names the part of the range the platform does not list (`inbox.polling.platform_limits`, the
table documented in docs/backfill-and-reconciliation.md). Once a person confirms, the import
reads the range again page by page inside the store's API2Cart limits (the shared limiter of
`api2cart_for_store`), routes each order like any store order and accepts this tenant's part:

- *full pipeline*: open orders go to the ERP and ShipStation, orders already done (fulfilled,
  cancelled, refunded: `orders.changes.versions`) are kept as history only;
- *history only*: every order is kept as history only, nothing is sent anywhere.

The position (window, page cursor) and the counts are saved with each page's orders in one
transaction, so a crash resumes at the page it was on; intake is idempotent by store and order
id, so a page read twice creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from connectors import api2cart
from core import work
from inbox.polling import platform_limits, poll_windows
from orders.changes.versions import OPEN, store_lifecycle
from orders.intake.accept import HISTORY, IncomingOrder, accept_orders
from orders.intake.store_orders import store_order_parts
from orders.models import Backfill, Order
from tenants.models import Store, StoreMembership, Tenant
from tenants.store_clients import api2cart_for_store
from tenants.store_order_parts import record_parts

REACH_MARGIN = timedelta(hours=1)
"""Start this much inside the platform's reach, so a slow page never falls out of it."""
KNOWN_LOOKUP = 1000


@dataclass(frozen=True)
class Reach:
    """The part of a range the platform lists, and what it cannot."""

    start: datetime
    end: datetime
    unreachable: str


def reach(store: Store, start: datetime, end: datetime) -> Reach:
    limits = platform_limits(store.platform)
    if limits.max_lookback is None:
        return Reach(start, end, "")
    oldest = timezone.now() - limits.max_lookback + REACH_MARGIN
    if start >= oldest:
        return Reach(start, end, "")
    days = limits.max_lookback.days
    said = (
        f"{start:%Y-%m-%d %H:%M} to {min(oldest, end):%Y-%m-%d %H:%M} UTC: {store.platform} lists "
        f"orders of the last {days} days only. Bring older orders in with an order file."
    )
    return Reach(min(oldest, end), end, said)


def windows(store: Store, reached: Reach) -> list[tuple[datetime, datetime]]:
    """The reachable range in slices the platform accepts, oldest first."""
    if reached.start >= reached.end:
        return []
    return poll_windows(reached.start, reached.end, platform_limits(store.platform))


@dataclass(frozen=True)
class DryRun:
    orders: int
    known: int
    done: int
    reached: Reach


def dry_run(store: Store, start: datetime, end: datetime) -> DryRun:
    """N orders in range, M of them already in the hub, K already done in the store."""
    reached = reach(store, start, end)
    client = api2cart_for_store(store)
    references: list[str] = []
    orders = done = 0
    for since, until in windows(store, reached):
        for rows, _ in _pages(client, since, until, ""):
            for row in rows:
                orders += 1
                order = _readable(row)
                if order is None:
                    continue
                references += [key for key in (order.id, order.order_id) if key]
                done += _lifecycle(order) != OPEN
    return DryRun(orders=orders, known=_known(store, references), done=done, reached=reached)


def _known(store: Store, references: list[str]) -> int:
    found = 0
    for start in range(0, len(references), KNOWN_LOOKUP):
        chunk = references[start : start + KNOWN_LOOKUP]
        found += Order.objects.filter(store_id=store.pk, store_order_id__in=chunk).count()
    return found


def _pages(
    client: api2cart.Api2CartClient, since: datetime, until: datetime, cursor: str
) -> Iterator[tuple[list[Any], str]]:
    """Each page of the window from `cursor` ("" the first), with the cursor after it."""
    while True:
        rows, cursor = client.order_page(cursor, created_from=since, created_to=until)
        yield rows, cursor
        if not cursor:
            return


def _readable(row: Any) -> api2cart.Order | None:
    try:
        return api2cart.Order.from_api(row)
    except api2cart.UnreadableOrder:
        return None


def _lifecycle(order: api2cart.Order) -> str:
    return store_lifecycle(
        order.status_name or order.status_id, order.financial_status, order.fulfillment_status
    )


# --- Requests ---------------------------------------------------------------------------------


class BadRange(ValueError):
    """A range a person cannot ask for (the end before the start, the future)."""


def request_backfill(
    store: Store, start: datetime, end: datetime, *, mode: str = Backfill.Mode.FULL,
    requested_by: str = "",
) -> Backfill:  # fmt: skip
    """A backfill of this tenant's orders of `store`, counted by a worker first."""
    if end <= start:
        raise BadRange("The end of the range must come after its start.")
    if start > timezone.now():
        raise BadRange("The range starts in the future: there is nothing to import yet.")
    if mode not in Backfill.Mode.values:
        raise BadRange(f"Unknown mode {mode!r}.")
    backfill = Backfill.objects.create(
        store=store, created_from=start, created_to=min(end, timezone.now()), mode=mode,
        requested_by=requested_by,
    )  # fmt: skip
    work.schedule(backfill)
    return backfill


def confirm(backfill: Backfill, *, mode: str | None = None) -> bool:
    """The person saw the dry run and starts the import; False when it was not waiting."""
    fields: dict[str, Any] = {"state": Backfill.State.IMPORTING, "started_at": timezone.now()}
    if mode in Backfill.Mode.values:
        fields["mode"] = mode
    moved = Backfill.objects.filter(pk=backfill.pk, state=Backfill.State.COUNTED).update(**fields)
    if moved:
        backfill.refresh_from_db()
        work.schedule(backfill)
    return bool(moved)


# --- The work -----------------------------------------------------------------------------------


def step(backfill: Backfill) -> work.Done:
    """One attempt: count (the dry run), or import from the saved position to the end."""
    store = Store.objects.select_related("account").get(pk=backfill.store_id)
    if backfill.state == Backfill.State.COUNTING:
        counted = dry_run(store, backfill.created_from, backfill.created_to)
        return work.Done(
            Backfill.State.COUNTED,
            fields={
                "orders_total": counted.orders,
                "orders_known": counted.known,
                "orders_done": counted.done,
                "reach_from": counted.reached.start,
                "unreachable": counted.reached.unreachable,
            },
        )
    import_orders(backfill, store)
    return work.Done(Backfill.State.DONE, fields={"finished_at": timezone.now()})


def import_orders(backfill: Backfill, store: Store) -> None:
    """Every page from the saved position; the position moves with each page's orders."""
    client = api2cart_for_store(store)
    members = list(Tenant.objects.filter(store_memberships__store=store, is_active=True))
    ours = Tenant.objects.get(schema_name=connection.schema_name)
    start = max(backfill.created_from, backfill.reach_from or backfill.created_from)
    slices = windows(store, Reach(start, backfill.created_to, backfill.unreachable))
    for index in range(backfill.window_index, len(slices)):
        since, until = slices[index]
        cursor = backfill.cursor if index == backfill.window_index else ""
        for rows, following in _pages(client, since, until, cursor):
            with transaction.atomic():
                counts = accept_store_rows(
                    store, rows, members=members, tenant=ours, mode=backfill.mode,
                    actor=f"backfill #{backfill.pk}", client=client,
                )  # fmt: skip
                last = not following and index == len(slices) - 1
                Backfill.objects.filter(pk=backfill.pk).update(
                    window_index=index if following or last else index + 1,
                    cursor=following,
                    orders_read=F("orders_read") + len(rows),
                    orders_new=F("orders_new") + counts.new,
                    orders_existing=F("orders_existing") + counts.existing,
                    orders_refused=F("orders_refused") + counts.refused,
                )


@dataclass(frozen=True)
class Accepted:
    new: int = 0
    existing: int = 0
    refused: int = 0


def accept_store_rows(
    store: Store,
    rows: list[Any],
    *,
    members: list[Tenant],
    tenant: Tenant,
    mode: str,
    actor: str,
    client: api2cart.Api2CartClient,
) -> Accepted:
    """This tenant's parts of `order.list` rows, accepted together (`accept_orders`).

    Orders already done in the store are history only in either mode; in *history only* mode
    the open ones are too. A row the hub cannot take (unreadable, a line without SKU or with
    a SKU nobody owns, nothing of this tenant's) is counted as refused, not raised: a backfill
    of thousands of orders is not stopped by one."""
    incomings: list[IncomingOrder] = []
    shared: list[tuple[str, set[int], bool]] = []
    refused = 0
    for row in rows:
        order = _readable(row)
        if order is None:
            refused += 1
            continue
        order = client.with_variant_skus(order)
        if not all(line.sku for line in order.products):
            refused += 1
            continue
        try:
            parts = store_order_parts(store, members, order, Order.Source.BACKFILL)
        except work.NeedsAttention:
            refused += 1
            continue
        mine = [incoming for owner, incoming in parts if owner.pk == tenant.pk]
        if not mine:
            refused += 1
            continue
        lifecycle = _lifecycle(order)
        incomings.append(_arrival(mine[0], lifecycle, mode))
        if len(parts) > 1:
            shared.append((order.reference, {owner.pk for owner, _ in parts}, lifecycle != OPEN))
    accepted = accept_orders(incomings, actors=[actor] * len(incomings)) if incomings else []
    for reference, tenant_ids, done in shared:
        record_parts(store.pk, reference, tenant_ids, state="history" if done else "routed")
    new = sum(1 for _, created in accepted if created)
    return Accepted(new=new, existing=len(accepted) - new, refused=refused)


def _arrival(incoming: IncomingOrder, lifecycle: str, mode: str) -> IncomingOrder:
    if lifecycle != OPEN:
        return incoming.with_arrival(lifecycle, HISTORY)
    if mode == Backfill.Mode.HISTORY:
        return replace(incoming, arrived_done="in the past (a history-only backfill)",
                       arrival=HISTORY)  # fmt: skip
    return incoming


def member_stores(tenant: Tenant) -> list[Store]:
    """The stores a tenant may backfill: its own."""
    ids = StoreMembership.objects.filter(tenant=tenant).values_list("store_id", flat=True)
    return list(Store.objects.filter(pk__in=list(ids)).order_by("display_name"))


@dataclass(frozen=True)
class Progress:
    """done/total, rate and time left of a backfill, for its page and the front page."""

    done: int
    total: int
    rate_per_second: float | None
    time_left: timedelta | None

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0


def progress(backfill: Backfill) -> Progress:
    done, total = backfill.orders_read, max(backfill.orders_total, backfill.orders_read)
    rate = None
    if backfill.started_at and done:
        end = backfill.finished_at or timezone.now()
        seconds = (end - backfill.started_at).total_seconds()
        rate = done / seconds if seconds > 0 else None
    left = None
    if rate and total > done and backfill.state == Backfill.State.IMPORTING:
        left = timedelta(seconds=(total - done) / rate)
    return Progress(done, total, rate, left)


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=Backfill,
            task="orders.backfill",
            work_states=(Backfill.State.COUNTING, Backfill.State.IMPORTING),
            lease_seconds=120,
        )
    )
