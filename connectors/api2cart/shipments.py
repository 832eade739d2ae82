"""Shipments of an order: `order.shipment.add` and `order.shipment.list`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors._http import drop_empty
from connectors.api2cart.base import Api2CartBase
from connectors.api2cart.values import (
    _bool,
    _decimal,
    _json_value,
    _str,
    parse_a2c_datetime,
)


@dataclass(frozen=True)
class TrackingNumber:
    carrier_id: str
    tracking_number: str


@dataclass(frozen=True)
class Shipment:
    id: str
    order_id: str
    tracking_numbers: tuple[TrackingNumber, ...]
    items: tuple[tuple[str, Decimal], ...]
    """(order_product_id, quantity) pairs."""
    created_at: datetime | None
    is_shipped: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Shipment:
        return cls(
            id=_str(data.get("id")),
            order_id=_str(data.get("order_id")),
            tracking_numbers=tuple(
                TrackingNumber(_str(t.get("carrier_id")), _str(t.get("tracking_number")))
                for t in data.get("tracking_numbers") or []
            ),
            items=tuple(
                (_str(i.get("order_product_id")), _decimal(i.get("quantity")) or Decimal(0))
                for i in data.get("items") or []
            ),
            created_at=parse_a2c_datetime(data.get("created_at")),
            is_shipped=_bool(data.get("is_shipped"), default=True),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ShipmentLine:
    order_product_id: str
    quantity: Decimal


@dataclass(frozen=True)
class NewShipment:
    """Input of `order.shipment.add`; `idempotency_key` makes a retry within 15 min safe."""

    order_id: str
    items: Sequence[ShipmentLine] = ()
    tracking_numbers: Sequence[TrackingNumber] = ()
    shipment_provider: str | None = None
    shipping_method: str | None = None
    tracking_link: str | None = None
    warehouse_id: str | None = None
    store_id: str | None = None
    is_shipped: bool = True
    send_notifications: bool = False
    idempotency_key: str | None = None

    def to_api(self) -> dict[str, Any]:
        return drop_empty(
            {
                "order_id": self.order_id,
                "items": [
                    {"order_product_id": i.order_product_id, "quantity": _json_value(i.quantity)}
                    for i in self.items
                ]
                or None,
                "tracking_numbers": [asdict(t) for t in self.tracking_numbers] or None,
                "shipment_provider": self.shipment_provider,
                "shipping_method": self.shipping_method,
                "tracking_link": self.tracking_link,
                "warehouse_id": self.warehouse_id,
                "store_id": self.store_id,
                "is_shipped": self.is_shipped,
                "send_notifications": self.send_notifications,
                "idempotency_key": self.idempotency_key,
            }
        )


class ShipmentsMixin(Api2CartBase):
    """Adding and listing an order's shipments."""

    # Shipments

    def add_shipment(self, shipment: NewShipment) -> str:
        """`order.shipment.add`; returns the store's shipment id."""
        result = self._call("POST", "order.shipment.add", json=shipment.to_api())
        return _str(result.get("shipment_id"))

    def shipments(self, order_id: str) -> Iterator[Shipment]:
        params = {"order_id": order_id}
        for row in self._cursor_pages("order.shipment.list", params, "shipment"):
            yield Shipment.from_api(row)
