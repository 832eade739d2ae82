"""Comparing a store order's new version with the last one the hub kept.

The order's `payload` is the last store version seen. A webhook or poll of a known order is
compared with it: each real difference becomes one `OrderChange` (what changed, from what, to
what) on the order's timeline, and the ones that need acting on are scheduled as work items
(`orders.changes.actions`). A repeat, or a version older than the one kept, changes nothing.

The comparison runs first without a lock (most versions are repeats); a difference is confirmed
under the order row's lock, so two workers holding the same update record it once, and the
change's digest makes a second row impossible anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from core import work
from orders.changes.versions import CANCELLED, StoreVersion, version_of_payload
from orders.models import Order, OrderChange, OrderEvent

Kind = OrderChange.Kind
INFO_ONLY = {Kind.STATUS}
"""Recorded on the timeline; nothing to do."""


@dataclass(frozen=True)
class Difference:
    kind: str
    summary: str
    before: dict[str, Any]
    after: dict[str, Any]


def note_store_version(order: Order, payload: dict[str, Any], *, seen: str) -> list[OrderChange]:
    """Record how `payload` (the store's new version of this order part) differs from the
    version kept; returns the changes recorded (none for a repeat, none for an order whose
    personal data was removed: it keeps no store version, and a late version would bring the
    shopper back)."""
    if order.personal_data_removed_at is not None:
        return []  # done long ago and stripped of its payload: no version to compare with
    new = version_of_payload(payload)
    if new is None or not _differs(version_of_payload(order.payload), new):
        return []
    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        old = version_of_payload(locked.payload)
        if not _differs(old, new) or _older(new, old):
            return []
        Order.objects.filter(pk=order.pk).update(payload=payload)
        order.payload = payload
        if old is None:
            return []
        return [_record(order, difference, seen) for difference in differences(old, new)]


def _differs(old: StoreVersion | None, new: StoreVersion) -> bool:
    return old is None or _without_time(old) != _without_time(new)


def _without_time(version: StoreVersion) -> tuple:
    return (
        version.status,
        version.financial_status,
        version.fulfillment_status,
        version.ship_to,
        version.lines,
        version.total,
        version.refunded,
        version.refund_ids,
    )


def _older(new: StoreVersion, old: StoreVersion | None) -> bool:
    """A version older than the one kept (a late poll of an earlier change) is not news."""
    if old is None or new.modified_at is None or old.modified_at is None:
        return False
    return new.modified_at < old.modified_at


def differences(old: StoreVersion, new: StoreVersion) -> list[Difference]:
    """Every real difference between two versions, one per kind, in plain words."""
    found = []
    cancelled = new.lifecycle == CANCELLED and old.lifecycle != CANCELLED
    if cancelled:
        found.append(
            Difference(
                Kind.CANCELLED,
                f"The store cancelled the order (status {old.status_words()} → "
                f"{new.status_words()}).",
                {"status": old.status_words()},
                {"status": new.status_words()},
            )
        )
    if new.refunded > old.refunded or set(new.refund_ids) - set(old.refund_ids):
        found.append(_refund(old, new, cancelled))
    if new.paid and not old.paid:
        found.append(
            Difference(
                Kind.PAID,
                f"The store reports the order paid ({new.financial_status}).",
                {"financial_status": old.financial_status},
                {"financial_status": new.financial_status},
            )
        )
    if new.ship_to != old.ship_to:
        found.append(
            Difference(
                Kind.SHIP_TO,
                f"The ship-to changed from {_address(old.ship_to)} to {_address(new.ship_to)}.",
                {"ship_to": old.ship_to},
                {"ship_to": new.ship_to},
            )
        )
    if _line_counts(old) != _line_counts(new):
        found.append(_lines(old, new))
    if not found and old.status_words() != new.status_words():
        found.append(
            Difference(
                Kind.STATUS,
                f"The store status changed from {old.status_words()} to {new.status_words()}.",
                {"status": old.status_words()},
                {"status": new.status_words()},
            )
        )
    return found


def _refund(old: StoreVersion, new: StoreVersion, cancelled: bool) -> Difference:
    given = new.refunded - old.refunded
    full = new.fully_refunded
    words = "in full" if full else "in part"
    return Difference(
        Kind.REFUNDED,
        f"The store refunded {given:.2f} {words} (refunded in all: {new.refunded:.2f}).",
        {"refunded": str(old.refunded)},
        {
            "refunded": str(new.refunded),
            "given": str(given),
            "full": full,
            "with_cancel": cancelled,
            "refund_ids": list(new.refund_ids),
        },
    )


def _line_counts(version: StoreVersion) -> Counter:
    counts: Counter = Counter()
    for line in version.lines:
        counts[line.sku] += line.quantity
    return counts


def _lines(old: StoreVersion, new: StoreVersion) -> Difference:
    before, after = _line_counts(old), _line_counts(new)
    said = []
    for sku in sorted(set(before) | set(after)):
        was, now = before.get(sku, Decimal(0)), after.get(sku, Decimal(0))
        if was == now:
            continue
        if not was:
            said.append(f"SKU {sku} added × {_qty(now)}")
        elif not now:
            said.append(f"SKU {sku} removed (was × {_qty(was)})")
        else:
            said.append(f"SKU {sku} × {_qty(was)} → × {_qty(now)}")
    return Difference(
        Kind.LINES,
        f"The store changed the lines: {'; '.join(said)}.",
        {"lines": {sku: str(qty) for sku, qty in before.items()}},
        {"lines": {sku: str(qty) for sku, qty in after.items()}},
    )


def _qty(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"


def _address(ship_to: dict[str, str]) -> str:
    parts = [ship_to.get(name, "") for name in ("name", "street1", "city", "postal_code")]
    parts.append(ship_to.get("country", ""))
    return ", ".join(part for part in parts if part) or "(none)"


def _record(order: Order, difference: Difference, seen: str) -> OrderChange:
    """One change row and its timeline entry; scheduled unless there is nothing to do."""
    digest = hashlib.sha256(
        json.dumps([difference.kind, difference.after], sort_keys=True, default=str).encode()
    ).hexdigest()
    info = difference.kind in INFO_ONLY
    change, created = OrderChange.objects.get_or_create(
        order=order,
        digest=digest,
        defaults={
            "kind": difference.kind,
            "summary": difference.summary,
            "before": difference.before,
            "after": difference.after,
            "state": OrderChange.State.DONE if info else OrderChange.State.PENDING,
            "outcome": "Recorded; nothing to do." if info else "",
        },
    )
    if created:
        OrderEvent.objects.create(
            order=order,
            step="store_change",
            outcome=OrderEvent.Outcome.INFO if info else OrderEvent.Outcome.WARNING,
            message=f"{seen}: {difference.summary}",
            upstream_ref=order.store_order_id,
        )
        if not info:
            work.schedule(change)
    return change
