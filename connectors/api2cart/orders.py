"""Orders: `order.list`, `order.info`, `order.count`, `order.update`, order statuses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.records import ChildItem, Order, OrderStatus
from connectors.api2cart.values import flag_param, obj
from connectors.errors import NotFoundError


class OrdersMixin(Api2CartBase):
    """Reading and updating the store's orders."""

    # Orders

    def orders(self, **filters: Any) -> Iterator[Order]:
        """`order.list` with every field, paged by cursor (filters as for `order_rows`).

        Poll with `modified_from` + overlap. Raises `UnreadableOrder` on the first order it
        cannot read; `order_rows` plus `Order.from_api` lets a caller read each order alone.
        """
        for row in self.order_rows(**filters):
            yield Order.from_api(row)

    def order_rows(
        self,
        *,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        ids: Iterable[str] = (),
        order_ids: Iterable[str] = (),
        order_status: str | None = None,
        customer_email: str | None = None,
        store_id: str | None = None,
        sort_by: str | None = None,
        sort_direction: str | None = None,
    ) -> Iterator[Any]:
        """`order.list` rows as received, so one unreadable order never stops the others.

        `ids` are internal ids, `order_ids` store-facing order numbers (§3.1).
        """
        params = {
            **self._dates(modified_from, modified_to, created_from, created_to),
            "ids": ",".join(ids) or None,
            "order_ids": ",".join(order_ids) or None,
            "order_status": order_status,
            "customer_email": customer_email,
            "store_id": store_id,
            "sort_by": sort_by,
            "sort_direction": sort_direction,
        }
        yield from self._cursor_pages("order.list", params, "order")

    def order_page(
        self,
        cursor: str = "",
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        fields: str = FORCE_ALL,
    ) -> tuple[list[Any], str]:
        """One `order.list` page of orders created in a range, oldest first, and the cursor of
        the next page ("" after the last): a caller that keeps the cursor can resume there
        after a crash (a backfill). A cursor carries the filters, so none are sent with it.
        `fields`: every field, or fewer (`SUMMARY_FIELDS` for `OrderSummary`)."""
        fixed = {"count": self.page_size, "params": fields}
        if cursor:
            params: dict[str, Any] = {**fixed, "page_cursor": cursor}
        else:
            dates = self._dates(None, None, created_from, created_to)
            params = {**{k: v for k, v in dates.items() if v}, **fixed}
            params.update(sort_by="create_at", sort_direction="asc")
        result, pagination = self._call_paged("GET", "order.list", params=params)
        rows = list(result.get("order") or [])
        following = (pagination or {}).get("next") if rows else None
        return rows, unquote(following) if following else ""

    def order_info(self, order_id: str | None = None, *, id: str | None = None) -> Order:
        """One order by store-facing `order_id` or internal `id`; NotFoundError when unknown.

        Raises `UnreadableOrder` when the answer cannot be read.
        """
        if not (order_id or id):
            raise ValueError("order_info needs order_id or id")
        params = {"order_id": order_id, "id": id, "params": FORCE_ALL}
        return Order.from_api(self._call("GET", "order.info", params=params))

    def order_status(self, order_id: str) -> OrderStatus:
        """The order's status now (`order.info` asking for the status alone).

        A repeated idempotency key is answered from API2Cart's cache without applying the
        call, and nothing in the answer says so: reading the status back is how a caller
        knows an `order.update` took effect.
        """
        params = {"order_id": order_id, "params": "order_id,status"}
        return OrderStatus.from_api(
            obj(self._call("GET", "order.info", params=params).get("status"))
        )

    def with_variant_skus(self, order: Order) -> Order:
        """The order with each SKU-less line's SKU taken from its variant (§7.15).

        A line with no `model` and no variant, or whose variant has no SKU either, keeps an
        empty SKU: the caller decides what a line nobody can identify means.
        """
        if all(line.sku for line in order.products):
            return order
        lines = []
        for line in order.products:
            if not line.sku and line.variant_id:
                params = {"product_id": line.product_id or None, "id": line.variant_id}
                try:
                    child = ChildItem.from_api(
                        self._call("GET", "product.child_item.info", params=params)
                    )
                except NotFoundError:
                    child = None
                if child is not None and child.sku.strip():
                    line = replace(line, sku=child.sku.strip())
            lines.append(line)
        return replace(order, products=tuple(lines))

    def order_count(
        self,
        *,
        modified_from: datetime | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        order_status: str | None = None,
    ) -> int:
        params = {
            **self._dates(modified_from, None, created_from, created_to),
            "order_status": order_status,
        }
        return int(self._call("GET", "order.count", params=params).get("orders_count") or 0)

    def update_order(
        self,
        order_id: str,
        *,
        order_status: str | None = None,
        financial_status: str | None = None,
        fulfillment_status: str | None = None,
        comment: str | None = None,
        admin_comment: str | None = None,
        send_notifications: bool | None = None,
        store_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        """`order.update` (all parameters in the query string, §3.3); returns items updated."""
        params = {
            "order_id": order_id,
            "order_status": order_status,
            "financial_status": financial_status,
            "fulfillment_status": fulfillment_status,
            "comment": comment,
            "admin_comment": admin_comment,
            "send_notifications": flag_param(send_notifications),
            "store_id": store_id,
            "idempotency_key": idempotency_key,
        }
        return int(self._call("PUT", "order.update", params=params).get("updated_items") or 0)

    def order_statuses(self, *, store_id: str | None = None) -> list[OrderStatus]:
        """`order.status.list`; accepts the SPEC shape and the nested eBay shape (§3.2)."""
        result = self._call("GET", "order.status.list", params={"store_id": store_id})
        statuses = []
        for entry in result.get("cart_order_statuses") or []:
            for status in entry.get("status") if "status" in entry else [entry]:
                statuses.append(OrderStatus.from_api(status))
        return statuses
