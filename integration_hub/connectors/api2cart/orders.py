"""Orders: `order.list`, `order.info`, `order.count`, `order.update`, order statuses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from integration_hub.connectors.api2cart.base import FORCE_ALL, Api2CartBase
from integration_hub.connectors.api2cart.values import _decimal, _flag, _str, parse_a2c_datetime


@dataclass(frozen=True)
class Address:
    first_name: str
    last_name: str
    company: str
    address1: str
    address2: str
    city: str
    postcode: str
    state: str
    country: str
    phone: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> Address:
        data = data or {}
        state = data.get("state") or {}
        country = data.get("country") or {}
        return cls(
            first_name=_str(data.get("first_name")),
            last_name=_str(data.get("last_name")),
            company=_str(data.get("company")),
            address1=_str(data.get("address1")),
            address2=_str(data.get("address2")),
            city=_str(data.get("city")),
            postcode=_str(data.get("postcode")),
            state=_str(state.get("code") if isinstance(state, Mapping) else state),
            country=_str(country.get("code2") if isinstance(country, Mapping) else country),
            phone=_str(data.get("phone")),
        )


@dataclass(frozen=True)
class OrderCustomer:
    id: str
    email: str
    first_name: str
    last_name: str
    phone: str


@dataclass(frozen=True)
class OrderProduct:
    """An order line; `sku` is the line's `model` field (§7.4)."""

    order_product_id: str
    product_id: str
    variant_id: str
    sku: str
    name: str
    price: Decimal | None
    quantity: Decimal
    total_price: Decimal | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderProduct:
        return cls(
            order_product_id=_str(data.get("order_product_id")),
            product_id=_str(data.get("product_id")),
            variant_id=_str(data.get("variant_id")),
            sku=_str(data.get("model")),
            name=_str(data.get("name")),
            price=_decimal(data.get("price")),
            quantity=_decimal(data.get("quantity")) or Decimal(0),
            total_price=_decimal(data.get("total_price")),
        )


@dataclass(frozen=True)
class Order:
    id: str
    order_id: str
    store_id: str
    customer: OrderCustomer
    created_at: datetime | None
    modified_at: datetime | None
    currency: str
    status_id: str
    status_name: str
    total: Decimal | None
    subtotal: Decimal | None
    shipping: Decimal | None
    tax: Decimal | None
    discount: Decimal | None
    billing_address: Address
    shipping_address: Address
    shipping_method: str
    payment_method: str
    comment: str
    products: tuple[OrderProduct, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Order:
        customer = data.get("customer") or {}
        status = data.get("status") or {}
        totals = data.get("totals") or {}
        currency = data.get("currency") or {}
        return cls(
            id=_str(data.get("id")),
            order_id=_str(data.get("order_id")),
            store_id=_str(data.get("store_id")),
            customer=OrderCustomer(
                id=_str(customer.get("id")),
                email=_str(customer.get("email")),
                first_name=_str(customer.get("first_name")),
                last_name=_str(customer.get("last_name")),
                phone=_str(customer.get("phone")),
            ),
            created_at=parse_a2c_datetime(data.get("create_at")),
            modified_at=parse_a2c_datetime(data.get("modified_at")),
            currency=_str(currency.get("iso3") if isinstance(currency, Mapping) else currency),
            status_id=_str(status.get("id")),
            status_name=_str(status.get("name")),
            total=_decimal(totals.get("total")),
            subtotal=_decimal(totals.get("subtotal")),
            shipping=_decimal(totals.get("shipping")),
            tax=_decimal(totals.get("tax")),
            discount=_decimal(totals.get("discount")),
            billing_address=Address.from_api(data.get("billing_address")),
            shipping_address=Address.from_api(data.get("shipping_address")),
            shipping_method=_str((data.get("shipping_method") or {}).get("name")),
            payment_method=_str((data.get("payment_method") or {}).get("name")),
            comment=_str(data.get("comment")),
            products=tuple(OrderProduct.from_api(p) for p in data.get("order_products") or []),
            raw=dict(data),
        )


@dataclass(frozen=True)
class OrderStatus:
    id: str
    name: str


class OrdersMixin(Api2CartBase):
    """Reading and updating the store's orders."""

    # Orders

    def orders(
        self,
        *,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        order_ids: Iterable[str] = (),
        order_status: str | None = None,
        customer_email: str | None = None,
        store_id: str | None = None,
        sort_by: str | None = None,
        sort_direction: str | None = None,
    ) -> Iterator[Order]:
        """`order.list` with every field, paged by cursor. Poll with `modified_from` + overlap."""
        params = {
            **self._dates(modified_from, modified_to, created_from, created_to),
            "order_ids": ",".join(order_ids) or None,
            "order_status": order_status,
            "customer_email": customer_email,
            "store_id": store_id,
            "sort_by": sort_by,
            "sort_direction": sort_direction,
        }
        for row in self._cursor_pages("order.list", params, "order"):
            yield Order.from_api(row)

    def order_info(self, order_id: str | None = None, *, id: str | None = None) -> Order:
        """One order by store-facing `order_id` or internal `id`; NotFoundError when unknown."""
        if not (order_id or id):
            raise ValueError("order_info needs order_id or id")
        params = {"order_id": order_id, "id": id, "params": FORCE_ALL}
        return Order.from_api(self._call("GET", "order.info", params=params))

    def order_count(
        self,
        *,
        modified_from: datetime | None = None,
        created_from: datetime | None = None,
        order_status: str | None = None,
    ) -> int:
        params = {
            **self._dates(modified_from, None, created_from, None),
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
            "send_notifications": _flag(send_notifications),
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
                statuses.append(OrderStatus(_str(status.get("id")), _str(status.get("name"))))
        return statuses
