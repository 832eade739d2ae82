"""Store orders split between tenants: each part's progress and the store order's one status.

On a shared store one store order becomes one part per tenant (`orders.intake.store_orders`);
each part goes through its own tenant's pipeline and is invoiced on its own, but the store order
has one status at the store: it may say *Completed* only once every part is invoiced (or
cancelled). So the parts' progress is kept here, in public, as states only (never lines,
amounts or tenant names shown to another tenant):

- the intake records the parts when it routes the store order (`record_parts`);
- each part's moves into shipped, invoiced, cancelled or history are recorded
  (`record_progress`, from the order state machine's callbacks);
- the status update of an invoiced part asks `claim_status_write`, in a transaction, whether it
  writes the store status now, waits for the other parts, or leaves it to the part that took
  it: the store order's parts are locked while it decides, so a part deciding to wait and a
  part taking the write never miss each other, and the claim is a conditional UPDATE behind a
  unique index, so of two parts invoiced at the same moment exactly one writes;
- a tenant sees the other parts as counts only (`other_parts_summary`).

"This tenant" is always the schema in use, so no caller speaks for another tenant's part. A
store order served by one tenant has no rows and costs one statement that matches nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from django.db import connection
from django.db.models import Count, Q, Subquery
from django.utils import timezone

from core.work import NeedsAttention
from tenants.models import StoreOrderPart, Tenant

State = StoreOrderPart.State
FINISHED = (State.INVOICED, State.CANCELLED, State.HISTORY)
"""States a part never leaves: its store order is done once every part is in one of them."""
NEVER_INVOICED = (State.CANCELLED, State.HISTORY)
SHIPPED_OR_LATER = (State.SHIPPED, State.INVOICED)

StoreOrderKey = tuple[int, str]
"""(store id, the store's own order id): one store order."""


class HasStoreOrder(Protocol):
    """A tenant's order, as far as its store order is concerned."""

    store_id: int | None
    store_order_id: str


def record_parts(
    store_id: int, store_order_id: str, tenant_ids: Iterable[int], *, state: str = State.ROUTED
) -> None:
    """Record a store order's parts, one per tenant, when the intake routes it: one INSERT.

    A part already recorded keeps its progress (a repeated webhook, a replay); a store order
    with a single part shares nothing and is not recorded. Parts created as history only pass
    `state="history"`.
    """
    tenants = sorted(set(tenant_ids))
    if len(tenants) < 2:
        return
    StoreOrderPart.objects.bulk_create(
        [
            StoreOrderPart(
                store_id=store_id, store_order_id=store_order_id, tenant_id=tenant, state=state
            )
            for tenant in tenants
        ],
        ignore_conflicts=True,
    )


def record_progress(store_orders: Iterable[StoreOrderKey], state: str) -> int:
    """This tenant's parts of these store orders moved to `state`: one UPDATE, which matches
    nothing for store orders served by one tenant. A finished part stays finished. Returns
    how many parts were recorded."""
    keys = set(store_orders)
    if not keys:
        return 0
    return (
        StoreOrderPart.objects.filter(_any_of(keys), tenant_id=_this_tenant())
        .exclude(state__in=FINISHED)
        .update(state=state, updated_at=timezone.now())
    )


def invoiced_elsewhere(store_orders: Iterable[StoreOrderKey]) -> dict[str, list[StoreOrderKey]]:
    """The other tenants' invoiced parts of these store orders, by schema: the parts whose
    status updates may be waiting for this one."""
    keys = set(store_orders)
    found: dict[str, list[StoreOrderKey]] = defaultdict(list)
    if not keys:
        return found
    rows = (
        StoreOrderPart.objects.filter(_any_of(keys), state=State.INVOICED)
        .exclude(tenant_id=_this_tenant())
        .values_list("tenant__schema_name", "store_id", "store_order_id")
    )
    for schema, store_id, store_order_id in rows:
        found[schema].append((store_id, store_order_id))
    return found


class Turn(StrEnum):
    ALONE = "alone"
    """The store order is this tenant's alone: its status update writes as it always did."""
    WRITE = "write"
    """Every part is finished and this part holds the write: send the status."""
    WAIT = "wait"
    """Other parts are still on their way: the store status is not written yet."""
    OTHER = "other"
    """Another part holds the write."""


@dataclass(frozen=True)
class StatusTurn:
    """What one invoiced part's status update does about its store order's status."""

    turn: Turn
    parts: int = 0
    invoiced: int = 0
    never_invoiced: int = 0
    claimed_now: bool = False
    others: tuple[str, ...] = ()
    """Schemas of the other invoiced parts, whose waiting updates a new claim settles."""

    @property
    def progress(self) -> str:
        """ "1 of 2 parts invoiced", with the cancelled ones when there are any."""
        words = f"{self.invoiced} of {self.parts} parts invoiced"
        if self.never_invoiced:
            words += f" ({self.never_invoiced} cancelled)"
        return words


def claim_status_write(store_id: int, store_order_id: str) -> StatusTurn:
    """Whether this tenant's invoiced part writes its store order's status now.

    Call it inside the transaction that also records the outcome on the status update: the
    store order's parts stay locked (in id order) until it commits. This part counts as
    invoiced (its status update exists because it is), and is recorded so if a move was missed.
    """
    parts = list(
        StoreOrderPart.objects.select_for_update(of=("self",))
        .filter(store_id=store_id, store_order_id=store_order_id)
        .order_by("pk")
        .values_list("pk", "tenant__schema_name", "state", "status_claimed_at", named=True)
    )
    if not parts:
        return StatusTurn(Turn.ALONE)
    schema = connection.schema_name
    mine = next((part for part in parts if part.tenant__schema_name == schema), None)
    if mine is None:
        raise NeedsAttention(
            f"Store order {store_order_id} is split between tenants, but the hub holds no part "
            "of it for this tenant.",
            hint="Replay the store order's inbox item so its parts are recorded, then retry.",
        )
    states = [State.INVOICED if part is mine else part.state for part in parts]
    figures = dict(
        parts=len(parts),
        invoiced=states.count(State.INVOICED),
        never_invoiced=sum(state in NEVER_INVOICED for state in states),
    )
    holder = next((part for part in parts if part.status_claimed_at), None)
    if holder is not None:
        return StatusTurn(Turn.WRITE if holder is mine else Turn.OTHER, **figures)
    if any(state not in FINISHED for state in states):
        if mine.state != State.INVOICED:
            record_progress([(store_id, store_order_id)], State.INVOICED)
        return StatusTurn(Turn.WAIT, **figures)
    claimed = StoreOrderPart.objects.filter(pk=mine.pk, status_claimed_at__isnull=True).update(
        status_claimed_at=timezone.now(), state=State.INVOICED, updated_at=timezone.now()
    )
    if not claimed:
        return StatusTurn(Turn.OTHER, **figures)
    others = tuple(
        part.tenant__schema_name
        for part in parts
        if part is not mine and part.state == State.INVOICED
    )
    return StatusTurn(Turn.WRITE, **figures, claimed_now=True, others=others)


def other_parts_summary(order: HasStoreOrder) -> str:
    """How far the other tenants' parts of this order's store order are, as counts only, e.g.
    "1 of 2 other parts shipped (1 invoiced)"; "" when the order is its store order's only
    part, or not a part this tenant holds. One query."""
    if order.store_id is None:
        return ""
    mine = Q(tenant_id=_this_tenant())
    figures = StoreOrderPart.objects.filter(
        store_id=order.store_id, store_order_id=order.store_order_id
    ).aggregate(
        mine=Count("pk", filter=mine),
        others=Count("pk", filter=~mine),
        shipped=Count("pk", filter=~mine & Q(state__in=SHIPPED_OR_LATER)),
        partially=Count("pk", filter=~mine & Q(state=State.PARTIALLY_SHIPPED)),
        invoiced=Count("pk", filter=~mine & Q(state=State.INVOICED)),
        cancelled=Count("pk", filter=~mine & Q(state__in=NEVER_INVOICED)),
    )
    others = figures["others"]
    if not (figures["mine"] and others):
        return ""
    words = f"{figures['shipped']} of {others} other part{'s' if others > 1 else ''} shipped"
    details = [
        f"{figures[name]} {label}"
        for name, label in (
            ("partially", "partially shipped"),
            ("invoiced", "invoiced"),
            ("cancelled", "cancelled"),
        )
        if figures[name]
    ]
    return f"{words} ({', '.join(details)})" if details else words


def _this_tenant() -> Subquery:
    """The id of the tenant whose schema is in use, inside the statement that needs it."""
    return Subquery(Tenant.objects.filter(schema_name=connection.schema_name).values("pk")[:1])


def _any_of(keys: set[StoreOrderKey]) -> Q:
    condition = Q()
    for store_id, store_order_id in sorted(keys):
        condition |= Q(store_id=store_id, store_order_id=store_order_id)
    return condition
