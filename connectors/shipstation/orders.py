"""Orders: create or update (one or 100 to a call), read, list, mark as shipped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime

from connectors._http import drop_empty
from connectors.shipstation.base import ShipStationBase
from connectors.shipstation.records import Order, OrderRequest, OrderResult
from connectors.shipstation.values import date_param

MAX_ORDERS_PER_CALL = 100


class OrdersMixin(ShipStationBase):
    """The account's orders."""

    def create_order(self, order: OrderRequest) -> Order:
        """Create or update (upsert by `order_key`) one order."""
        return Order.from_api(self._call("POST", "orders/createorder", json=order.to_api()))

    def create_orders(self, orders: Iterable[OrderRequest]) -> list[OrderResult]:
        """Upsert many orders, 100 per call; one result per order, in input order."""
        pending = list(orders)
        results: list[OrderResult] = []
        for start in range(0, len(pending), MAX_ORDERS_PER_CALL):
            chunk = [o.to_api() for o in pending[start : start + MAX_ORDERS_PER_CALL]]
            body = self._call("POST", "orders/createorders", json=chunk)
            results.extend(OrderResult.from_api(r) for r in body.get("results") or [])
        return results

    def get_order(self, order_id: int) -> Order:
        return Order.from_api(self._call("GET", f"orders/{int(order_id)}"))

    def list_orders(
        self,
        *,
        order_number: str | None = None,
        order_status: str | None = None,
        store_id: int | None = None,
        modify_date_start: datetime | None = None,
        modify_date_end: datetime | None = None,
        create_date_start: datetime | None = None,
        create_date_end: datetime | None = None,
        order_date_start: datetime | None = None,
        order_date_end: datetime | None = None,
        sort_by: str | None = None,
        sort_dir: str | None = None,
    ) -> Iterator[Order]:
        """All matching orders, page after page. `order_number` is a prefix match upstream."""
        params = {
            "orderNumber": order_number,
            "orderStatus": order_status,
            "storeId": store_id,
            "modifyDateStart": date_param(modify_date_start),
            "modifyDateEnd": date_param(modify_date_end),
            "createDateStart": date_param(create_date_start),
            "createDateEnd": date_param(create_date_end),
            "orderDateStart": date_param(order_date_start),
            "orderDateEnd": date_param(order_date_end),
            "sortBy": sort_by,
            "sortDir": sort_dir,
        }
        for row in self._pages(self.url("orders"), drop_empty(params), "orders"):
            yield Order.from_api(row)

    def hold_until(self, order_id: int, until: date) -> None:
        """`POST /orders/holduntil`: *on hold* until `until`, when ShipStation releases it."""
        self._call(
            "POST",
            "orders/holduntil",
            json={"orderId": int(order_id), "holdUntilDate": until.isoformat()},
        )

    def mark_as_shipped(
        self,
        order_id: int,
        carrier_code: str,
        *,
        ship_date: date | None = None,
        tracking_number: str | None = None,
        notify_customer: bool = False,
        notify_sales_channel: bool = False,
    ) -> None:
        """Ship without a label; the result shows under fulfillments, never under shipments."""
        body = drop_empty(
            {
                "orderId": int(order_id),
                "carrierCode": carrier_code,
                "shipDate": date_param(ship_date),
                "trackingNumber": tracking_number,
                "notifyCustomer": notify_customer,
                "notifySalesChannel": notify_sales_channel,
            }
        )
        self._call("POST", "orders/markasshipped", json=body)
