"""What one version of a store order says, reduced to what the hub acts on.

The lifecycle words (cancelled, refunded, fulfilled) are read here and nowhere else: intake uses
them to keep orders that arrive already done out of the ERP and ShipStation, change detection to
tell a cancellation from any other status change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from connectors import api2cart
from orders.addresses import ship_to_of_store_order

OPEN = "open"
CANCELLED = "cancelled"
REFUNDED = "refunded"
FULFILLED = "fulfilled"
DONE_LIFECYCLES = (CANCELLED, REFUNDED, FULFILLED)
"""An order in one of these at its first sight is history: never sent to the ERP or ShipStation."""

DEFAULT_LIFECYCLE_WORDS = {
    CANCELLED: ["cancelled", "canceled", "voided", "void", "declined", "rejected"],
    REFUNDED: ["refunded"],
    FULFILLED: ["complete", "completed", "shipped", "delivered", "fulfilled", "closed"],
}
PAID_WORDS = {"paid", "captured"}


def _word(value: str) -> str:
    return value.strip().casefold().replace(" ", "_").replace("-", "_")


def lifecycle_words() -> dict[str, set[str]]:
    """Status, financial and fulfilment words by lifecycle: `HUB_STORE_LIFECYCLE_WORDS` over
    the defaults, for a platform that names its statuses its own way."""
    words = {**DEFAULT_LIFECYCLE_WORDS, **getattr(settings, "HUB_STORE_LIFECYCLE_WORDS", {})}
    return {name: {_word(w) for w in values} for name, values in words.items()}


def store_lifecycle(status: str, financial_status: str = "", fulfillment_status: str = "") -> str:
    """Where the store says the order is: open, cancelled, refunded or fulfilled."""
    words = lifecycle_words()
    said = {_word(status), _word(financial_status)}
    if said & words[CANCELLED]:
        return CANCELLED
    if said & words[REFUNDED]:
        return REFUNDED
    if (said | {_word(fulfillment_status)}) & words[FULFILLED]:
        return FULFILLED
    return OPEN


@dataclass(frozen=True)
class StoreLine:
    key: str
    """The store's line id (`order_product_id`), else the SKU."""
    sku: str
    quantity: Decimal


@dataclass(frozen=True)
class StoreVersion:
    """One version of (this tenant's part of) a store order, as change detection compares it."""

    status: str
    financial_status: str
    fulfillment_status: str
    ship_to: dict[str, str]
    lines: tuple[StoreLine, ...]
    total: Decimal | None
    refunded: Decimal
    refund_ids: tuple[str, ...]
    modified_at: datetime | None

    @property
    def lifecycle(self) -> str:
        return store_lifecycle(self.status, self.financial_status, self.fulfillment_status)

    @property
    def paid(self) -> bool:
        return _word(self.financial_status) in PAID_WORDS

    @property
    def fully_refunded(self) -> bool:
        if self.lifecycle == REFUNDED:
            return True
        return bool(self.total and self.refunded >= self.total)

    def status_words(self) -> str:
        said = [self.status or "no status"]
        said += [word for word in (self.financial_status, self.fulfillment_status) if word]
        return " / ".join(said)


def version_of(order: api2cart.Order) -> StoreVersion:
    return StoreVersion(
        status=order.status_name or order.status_id,
        financial_status=order.financial_status,
        fulfillment_status=order.fulfillment_status,
        ship_to=asdict(ship_to_of_store_order(order)),
        lines=tuple(
            StoreLine(line.order_product_id or line.sku, line.sku, line.quantity)
            for line in order.products
        ),
        total=order.totals.total,
        refunded=sum((refund.total for refund in order.refunds), Decimal(0)),
        refund_ids=tuple(refund.id for refund in order.refunds),
        modified_at=order.modified_at,
    )


def version_of_payload(payload: Any) -> StoreVersion | None:
    """The version an order's stored payload holds; None when it is not a store order's."""
    if not isinstance(payload, dict) or "order_products" not in payload:
        return None
    try:
        return version_of(api2cart.Order.from_api(payload))
    except api2cart.UnreadableOrder:
        return None
