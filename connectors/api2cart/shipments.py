"""Shipments of an order: `order.shipment.add` and `order.shipment.list`."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.api2cart.base import Api2CartBase
from connectors.api2cart.records import NewShipment, Shipment
from connectors.api2cart.values import identifier


class ShipmentsMixin(Api2CartBase):
    """Adding and listing an order's shipments."""

    # Shipments

    def add_shipment(self, shipment: NewShipment) -> str:
        """`order.shipment.add`; returns the store's shipment id, "" when the store answered
        something that is not an id (Bol: "shipment created", §7.22): the shipment was added,
        and `shipments(order_id)` finds it."""
        result = self._call("POST", "order.shipment.add", json=shipment.to_api())
        return identifier(result.get("shipment_id"))

    def shipments(self, order_id: str) -> Iterator[Shipment]:
        """`order.shipment.list` of one order (store-facing `order_id`), every field."""
        params = {"order_id": order_id}
        for row in self._cursor_pages("order.shipment.list", params, "shipment"):
            yield Shipment.from_api(row)
