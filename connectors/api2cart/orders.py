"""Orders: `order.list`, `order.info`, `order.count`, `order.update`, order statuses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.products import ChildItem
from connectors.api2cart.values import (
    _decimal,
    _flag,
    _list,
    _obj,
    _one,
    _str,
    parse_a2c_datetime,
)
from connectors.errors import NotFoundError


class UnreadableOrder(ValueError):
    """An order whose shape the client cannot read; `raw` is kept so it can be parked."""

    def __init__(self, message: str, raw: Any) -> None:
        super().__init__(message)
        self.raw = raw

    @property
    def reference(self) -> str:
        """The order's identifier as far as it can be told (`id`, else `order_id`)."""
        data = _one(self.raw) if isinstance(self.raw, list) else self.raw
        if not isinstance(data, Mapping):
            return ""
        for name in ("id", "order_id"):
            value = data.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value).strip()[:100]
        return ""


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
    def from_api(cls, data: Any) -> Address:
        """Null, `{}` and a one-element array are all read (§7.15: billing can be null)."""
        data = _obj(data)
        state = _one(data.get("state"))
        country = _one(data.get("country"))
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
class OrderTotals:
    """The order's money (§3.5): `totals`, or `total` where a platform leaves `totals` null.

    `discount` is the positive amount taken off, whatever sign the platform used.
    """

    total: Decimal | None = None
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    discount: Decimal | None = None

    @classmethod
    def from_api(cls, totals: Any, total: Any) -> OrderTotals:
        """`totals{total, subtotal, shipping, tax, discount}` first, `total{...}` filling gaps."""
        short, long = _obj(totals), _obj(total)

        def pick(name: str, fallback: str) -> Decimal | None:
            value = _decimal(short.get(name))
            return _decimal(long.get(fallback)) if value is None else value

        discount = pick("discount", "total_discount")
        return cls(
            total=pick("total", "total"),
            subtotal=pick("subtotal", "subtotal_ex_tax"),
            shipping=pick("shipping", "shipping_ex_tax"),
            tax=pick("tax", "total_tax"),
            discount=None if discount is None else abs(discount),
        )


@dataclass(frozen=True)
class OrderProduct:
    """An order line; `sku` is the line's `model` field (§7.4), empty when the platform sent none.

    `Api2CartClient.with_variant_skus` fills an empty SKU from the line's variant (§7.15).
    """

    order_product_id: str
    product_id: str
    variant_id: str
    sku: str
    name: str
    price: Decimal | None
    quantity: Decimal
    total_price: Decimal | None

    @classmethod
    def from_api(cls, data: Any) -> OrderProduct:
        data = _obj(data)
        return cls(
            order_product_id=_str(data.get("order_product_id")),
            product_id=_str(data.get("product_id")),
            variant_id=_str(data.get("variant_id")),
            sku=_str(data.get("model")).strip(),
            name=_str(data.get("name")),
            price=_decimal(data.get("price")),
            quantity=_decimal(data.get("quantity")) or Decimal(0),
            total_price=_decimal(data.get("total_price")),
        )

    @property
    def amount(self) -> Decimal:
        """What the line costs: `total_price`, else price × quantity."""
        if self.total_price is not None:
            return self.total_price
        return (self.price or Decimal(0)) * self.quantity

    @property
    def label(self) -> str:
        """How a person finds the line in the store: its name and ids."""
        ids = ", ".join(
            f"{name} {value}"
            for name, value in (
                ("order_product_id", self.order_product_id),
                ("product_id", self.product_id),
                ("variant_id", self.variant_id),
            )
            if value
        )
        return f"{self.name or 'unnamed line'} ({ids or 'no ids'})"


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
    totals: OrderTotals
    billing_address: Address
    shipping_address: Address
    shipping_method: str
    payment_method: str
    comment: str
    products: tuple[OrderProduct, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def reference(self) -> str:
        """The order's identifier: `id`, or `order_id` where a platform leaves `id` empty."""
        return self.id or self.order_id

    @property
    def changed_at(self) -> datetime | None:
        """When the order last changed: `modified_at`, or `create_at` where that is null."""
        return self.modified_at or self.created_at

    @classmethod
    def from_api(cls, data: Any) -> Order:
        """Any readable shape of §3.5 and §7.15; `UnreadableOrder` names what is not."""
        raw = _one(data) if isinstance(data, list) else data
        if not isinstance(raw, Mapping):
            raise UnreadableOrder("the order is not a JSON object", data)
        try:
            return cls._read(raw)
        except (ValueError, TypeError, AttributeError) as exc:
            raise UnreadableOrder(f"unreadable order: {exc}", raw) from exc

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> Order:
        customer = _obj(data.get("customer"))
        status = _obj(data.get("status"))
        currency = _one(data.get("currency"))
        return cls(
            id=_str(_one(data.get("id"))).strip(),
            order_id=_str(_one(data.get("order_id"))).strip(),
            store_id=_str(_one(data.get("store_id"))),
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
            totals=OrderTotals.from_api(data.get("totals"), data.get("total")),
            billing_address=Address.from_api(data.get("billing_address")),
            shipping_address=Address.from_api(data.get("shipping_address")),
            shipping_method=_str(_obj(data.get("shipping_method")).get("name")),
            payment_method=_str(_obj(data.get("payment_method")).get("name")),
            comment=_str(data.get("comment")),
            products=tuple(OrderProduct.from_api(p) for p in _list(data.get("order_products"))),
            raw=dict(data),
        )


@dataclass(frozen=True)
class OrderStatus:
    id: str
    name: str


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
        status = _obj(self._call("GET", "order.info", params=params).get("status"))
        return OrderStatus(_str(status.get("id")), _str(status.get("name")))

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
