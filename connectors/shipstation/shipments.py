"""Shipments (labels bought in ShipStation) and fulfillments (orders marked shipped without one)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from connectors._http import drop_empty
from connectors.shipstation.base import ShipStationBase
from connectors.shipstation.records import Fulfillment, Shipment
from connectors.shipstation.values import date_param


class ShipmentsMixin(ShipStationBase):
    """What was shipped: shipments with their lines, and fulfillments."""

    def list_shipments(
        self,
        *,
        order_id: int | None = None,
        order_number: str | None = None,
        store_id: int | None = None,
        create_date_start: datetime | None = None,
        create_date_end: datetime | None = None,
        ship_date_start: date | None = None,
        ship_date_end: date | None = None,
        include_items: bool = True,
    ) -> Iterator[Shipment]:
        """Labels bought in ShipStation, with their lines unless `include_items` is False."""
        params = {
            "orderId": order_id,
            "orderNumber": order_number,
            "storeId": store_id,
            "createDateStart": date_param(create_date_start),
            "createDateEnd": date_param(create_date_end),
            "shipDateStart": date_param(ship_date_start),
            "shipDateEnd": date_param(ship_date_end),
            "includeShipmentItems": "true" if include_items else "false",
        }
        for row in self._pages(self.url("shipments"), drop_empty(params), "shipments"):
            yield Shipment.from_api(row)

    def list_fulfillments(
        self,
        *,
        order_id: int | None = None,
        order_number: str | None = None,
        create_date_start: datetime | None = None,
        create_date_end: datetime | None = None,
    ) -> Iterator[Fulfillment]:
        """Orders marked as shipped without a label (they never appear under shipments)."""
        params = {
            "orderId": order_id,
            "orderNumber": order_number,
            "createDateStart": date_param(create_date_start),
            "createDateEnd": date_param(create_date_end),
        }
        for row in self._pages(self.url("fulfillments"), drop_empty(params), "fulfillments"):
            yield Fulfillment.from_api(row)
