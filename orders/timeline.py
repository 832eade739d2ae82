"""An order's timeline as a person reads it: one list across store, ERP and ShipStation, where a
step repeated back to back (fifty retries of the same refusal) is one row with a count."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from inbox.models import InboxItem
from orders.models import Order, OrderEvent

STORE, ERP, SHIPSTATION, HUB = "Store", "ERP", "ShipStation", "Hub"

SYSTEM_OF_STEP = {
    "received": STORE,
    "store_update": STORE,
    "store_status": STORE,
    "store_shipment": STORE,
    "customer_linked": ERP,
    "in_erp": ERP,
    "erp_batch_head_requested": ERP,
    "erp_batch_head": ERP,
    "erp_batch_discarded": ERP,
    "erp_lines_not_processed": ERP,
    "late_result": ERP,
    "generate_invoice": ERP,
    "invoiced": ERP,
    "sent_to_shipstation": SHIPSTATION,
    "shipstation_rejected": SHIPSTATION,
    "shipment": SHIPSTATION,
    "shipment_voided": SHIPSTATION,
    "partially_shipped": SHIPSTATION,
    "shipped": SHIPSTATION,
}
"""Which upstream a step talks about; anything else (retries, cancelling, parking) is the hub's."""

_NUMBERS = re.compile(r"\d+(\.\d+)?")


@dataclass
class TimelineRow:
    system: str
    step: str
    outcome: str
    message: str
    actor: str
    upstream_ref: str
    first_at: datetime
    last_at: datetime
    count: int = 1

    @property
    def step_label(self) -> str:
        """A state's own label ("In ERP") or the step's words ("Retry scheduled")."""
        if self.step in Order.State.values:
            return Order.State(self.step).label
        return self.step.replace("_", " ").capitalize()


def _same_kind(row: TimelineRow, event: OrderEvent) -> bool:
    """Attempt numbers and wait times change between retries; the words do not."""
    return (
        row.step == event.step
        and row.outcome == event.outcome
        and _NUMBERS.sub("#", row.message) == _NUMBERS.sub("#", event.message)
    )


def collapsed(events: Iterable[OrderEvent]) -> list[TimelineRow]:
    """Events oldest first, consecutive repeats folded into one row showing the latest words."""
    rows: list[TimelineRow] = []
    for event in events:
        if rows and _same_kind(rows[-1], event):
            row = rows[-1]
            row.count += 1
            row.last_at = event.created_at
            row.message = event.message
            row.upstream_ref = event.upstream_ref or row.upstream_ref
            continue
        rows.append(
            TimelineRow(
                system=SYSTEM_OF_STEP.get(event.step, HUB),
                step=event.step,
                outcome=event.outcome,
                message=event.message,
                actor=event.actor,
                upstream_ref=event.upstream_ref,
                first_at=event.created_at,
                last_at=event.created_at,
            )
        )
    return rows


def store_deliveries(order: Order) -> list[TimelineRow]:
    """What the store sent about this order (webhooks, polls), each event once with its repeats
    counted: the inbox keeps one row per event and counts the deliveries it dropped."""
    if order.store_id is None:
        return []
    items = InboxItem.objects.filter(
        store_id=order.store_id, entity="order", entity_id=order.store_order_id
    ).order_by("received_at")
    return [
        TimelineRow(
            system=STORE,
            step=f"order.{item.action}" if item.action else item.source,
            outcome=OrderEvent.Outcome.INFO,
            message=f"{item.get_source_display()} received ({item.get_state_display().lower()}).",
            actor="",
            upstream_ref=item.entity_id,
            first_at=item.received_at,
            last_at=item.received_at,
            count=1 + item.duplicates,
        )
        for item in items
    ]


def order_timeline(order: Order) -> list[TimelineRow]:
    """The order's own steps and the store's deliveries about it, oldest first."""
    rows = collapsed(order.events.order_by("created_at", "id")) + store_deliveries(order)
    return sorted(rows, key=lambda row: row.first_at)
