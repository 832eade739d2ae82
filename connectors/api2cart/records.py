"""The records API2Cart sends and receives (contracts/api2cart.md), as dataclasses.

Each is built from the documented field names (`from_api`) or writes them (`to_api`), reading
values with `values` so the platform-specific shapes of §7.15 (one-element arrays, nulls, text
flags) are read in one place. The client methods that fetch and send them live in the modules
per entity (`carts`, `orders`, `products`, `shipments`, `customers`, `webhooks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors._http import drop_empty
from connectors.api2cart.values import (
    decimal_or_none,
    entries,
    flag,
    json_value,
    many,
    obj,
    one,
    parse_a2c_datetime,
    text,
)

# --- Account and cart (`account.*`, `cart.info`) ------------------------------------------


@dataclass(frozen=True)
class StoreInfo:
    store_id: str
    name: str
    currency: str
    timezone: str
    default_warehouse_id: str
    carriers: tuple[tuple[str, str], ...]
    """(carrier id, name) pairs usable as `carrier_id` in shipments."""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> StoreInfo:
        return cls(
            store_id=text(one(data.get("store_id"))),
            name=text(data.get("name")),
            currency=text(obj(data.get("currency")).get("iso3")),
            timezone=text(data.get("timezone")),
            default_warehouse_id=text(data.get("default_warehouse_id")),
            carriers=tuple(
                (text(c.get("id")), text(c.get("name")))
                for c in (obj(row) for row in many(data.get("carrier_info")))
            ),
        )


@dataclass(frozen=True)
class CartInfo:
    name: str
    url: str
    version: str
    stores: tuple[StoreInfo, ...]
    warehouse_ids: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CartInfo:
        return cls(
            name=text(data.get("name")),
            url=text(data.get("url")),
            version=text(data.get("version")),
            stores=tuple(StoreInfo.from_api(s) for s in _store_infos(data.get("stores_info"))),
            warehouse_ids=tuple(
                text(w.get("id")) for w in (obj(row) for row in many(data.get("warehouses")))
            ),
            raw=dict(data),
        )


def _store_infos(value: Any) -> list[Mapping[str, Any]]:
    """`stores_info` as SPEC lists it, or wrapped as `[{store_info: [...]}]` (§7.15)."""
    infos: list[Mapping[str, Any]] = []
    for entry in many(value):
        entry = obj(entry)
        if "store_info" in entry and "store_id" not in entry:
            infos.extend(obj(inner) for inner in many(entry["store_info"]))
        elif entry:
            infos.append(entry)
    return infos


@dataclass(frozen=True)
class SupportedPlatform:
    cart_id: str
    cart_name: str
    required: tuple[tuple[str, ...], ...]
    """Alternative sets of required parameter names (any one set suffices)."""
    additional: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SupportedPlatform:
        params = data.get("params") or {}
        return cls(
            cart_id=text(data.get("cart_id")),
            cart_name=text(data.get("cart_name")),
            required=tuple(
                tuple(text(p.get("name")) for p in option)
                for option in params.get("required") or []
            ),
            additional=tuple(text(p.get("name")) for p in params.get("additional") or []),
        )


# --- Orders (`order.*`) -------------------------------------------------------------------


class UnreadableOrder(ValueError):
    """An order whose shape the client cannot read; `raw` is kept so it can be parked."""

    def __init__(self, message: str, raw: Any) -> None:
        super().__init__(message)
        self.raw = raw

    @property
    def reference(self) -> str:
        """The order's identifier as far as it can be told (`id`, else `order_id`)."""
        data = one(self.raw) if isinstance(self.raw, list) else self.raw
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
        data = obj(data)
        state = one(data.get("state"))
        country = one(data.get("country"))
        return cls(
            first_name=text(data.get("first_name")),
            last_name=text(data.get("last_name")),
            company=text(data.get("company")),
            address1=text(data.get("address1")),
            address2=text(data.get("address2")),
            city=text(data.get("city")),
            postcode=text(data.get("postcode")),
            state=text(state.get("code") if isinstance(state, Mapping) else state),
            country=text(country.get("code2") if isinstance(country, Mapping) else country),
            phone=text(data.get("phone")),
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

    `discount` is the positive amount taken off, whatever sign the platform used. `subtotal` is
    as the store reports it: before the discount on most platforms, after it on some (§7.21).
    `subtotal_ex_tax`, `wrapping_ex_tax` and `total_paid` are read from `total{...}` alone, so
    the money module can tell a net subtotal from a gross one and see gift wrapping and what
    was paid; the contract names no flag saying whether prices include tax.
    """

    total: Decimal | None = None
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    discount: Decimal | None = None
    subtotal_ex_tax: Decimal | None = None
    wrapping_ex_tax: Decimal | None = None
    total_paid: Decimal | None = None

    @classmethod
    def from_api(cls, totals: Any, total: Any) -> OrderTotals:
        """`totals{total, subtotal, shipping, tax, discount}` first, `total{...}` filling gaps."""
        short, long = obj(totals), obj(total)

        def pick(name: str, fallback: str) -> Decimal | None:
            value = decimal_or_none(short.get(name))
            return decimal_or_none(long.get(fallback)) if value is None else value

        discount = pick("discount", "total_discount")
        return cls(
            total=pick("total", "total"),
            subtotal=pick("subtotal", "subtotal_ex_tax"),
            shipping=pick("shipping", "shipping_ex_tax"),
            tax=pick("tax", "total_tax"),
            discount=None if discount is None else abs(discount),
            subtotal_ex_tax=decimal_or_none(long.get("subtotal_ex_tax")),
            wrapping_ex_tax=decimal_or_none(long.get("wrapping_ex_tax")),
            total_paid=decimal_or_none(long.get("total_paid")),
        )


@dataclass(frozen=True)
class OrderProduct:
    """An order line; `sku` is the line's `model` field (§7.4), empty when the platform sent none.

    `Api2CartClient.with_variant_skus` fills an empty SKU from the line's variant (§7.15). The
    money fields are as the store reports them (§3.5), None where it says nothing: `price` and
    `total_price` may or may not include tax depending on the platform (§7.20), `price_inc_tax`
    does; `tax_value` is the line's tax before its `discount_amount`,
    `tax_value_after_discount` after it; `tax_percent` is a percentage (20 for 20%).
    """

    order_product_id: str
    product_id: str
    variant_id: str
    sku: str
    name: str
    price: Decimal | None
    quantity: Decimal
    total_price: Decimal | None
    price_inc_tax: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_percent: Decimal | None = None
    tax_value: Decimal | None = None
    tax_value_after_discount: Decimal | None = None

    @classmethod
    def from_api(cls, data: Any) -> OrderProduct:
        """One row of `order_products` (unwrapped by `entries`); a row with nothing that makes
        it a line (no id, no SKU, no quantity) is a reading error, not a line (§7.19)."""
        data = obj(data)
        line = cls(
            order_product_id=text(data.get("order_product_id")),
            product_id=text(data.get("product_id")),
            variant_id=text(data.get("variant_id")),
            sku=text(data.get("model")).strip(),
            name=text(data.get("name")),
            price=decimal_or_none(data.get("price")),
            quantity=decimal_or_none(data.get("quantity")) or Decimal(0),
            total_price=decimal_or_none(data.get("total_price")),
            price_inc_tax=decimal_or_none(data.get("price_inc_tax")),
            discount_amount=decimal_or_none(data.get("discount_amount")),
            tax_percent=decimal_or_none(data.get("tax_percent")),
            tax_value=decimal_or_none(data.get("tax_value")),
            tax_value_after_discount=decimal_or_none(data.get("tax_value_after_discount")),
        )
        if not (line.order_product_id or line.product_id or line.variant_id or line.sku) and (
            data.get("quantity") in (None, "")
        ):
            raise ValueError(f"an order line with no id, no SKU and no quantity: {dict(data)!r}")
        return line

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
    financial_status: str = ""
    fulfillment_status: str = ""
    refunds: tuple[OrderRefund, ...] = ()

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
        raw = one(data) if isinstance(data, list) else data
        if not isinstance(raw, Mapping):
            raise UnreadableOrder("the order is not a JSON object", data)
        try:
            return cls._read(raw)
        except (ValueError, TypeError, AttributeError) as exc:
            raise UnreadableOrder(f"unreadable order: {exc}", raw) from exc

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> Order:
        customer = obj(data.get("customer"))
        status = obj(data.get("status"))
        currency = one(data.get("currency"))
        return cls(
            id=text(one(data.get("id"))).strip(),
            order_id=text(one(data.get("order_id"))).strip(),
            store_id=text(one(data.get("store_id"))),
            customer=OrderCustomer(
                id=text(customer.get("id")),
                email=text(customer.get("email")),
                first_name=text(customer.get("first_name")),
                last_name=text(customer.get("last_name")),
                phone=text(customer.get("phone")),
            ),
            created_at=parse_a2c_datetime(data.get("create_at")),
            modified_at=parse_a2c_datetime(data.get("modified_at")),
            currency=text(currency.get("iso3") if isinstance(currency, Mapping) else currency),
            status_id=text(status.get("id")),
            status_name=text(status.get("name")),
            totals=OrderTotals.from_api(data.get("totals"), data.get("total")),
            billing_address=Address.from_api(data.get("billing_address")),
            shipping_address=Address.from_api(data.get("shipping_address")),
            shipping_method=text(obj(data.get("shipping_method")).get("name")),
            payment_method=text(obj(data.get("payment_method")).get("name")),
            comment=text(data.get("comment")),
            products=tuple(OrderProduct.from_api(p) for p in entries(data.get("order_products"))),
            raw=dict(data),
            financial_status=text(one(data.get("financial_status"))),
            fulfillment_status=text(one(data.get("fulfillment_status"))),
            refunds=OrderRefund.all_from_api(data.get("refunds"), status.get("refund_info")),
        )


SUMMARY_FIELDS = (
    "id,order_id,status,financial_status,fulfillment_status,totals,total,create_at,order_products"
)
"""`order.list` `params` for `OrderSummary`: a fraction of a whole order to send and read."""


@dataclass(frozen=True)
class OrderSummary:
    """What a comparison needs of a store order (a reconciliation): its ids, status words,
    total, creation date and line SKUs, read from a list asked for `SUMMARY_FIELDS` only."""

    id: str
    order_id: str
    status: str
    financial_status: str
    fulfillment_status: str
    total: Decimal | None
    created_at: datetime | None
    skus: tuple[str, ...]

    @property
    def reference(self) -> str:
        return self.id or self.order_id

    @classmethod
    def from_api(cls, data: Any) -> OrderSummary:
        raw = one(data) if isinstance(data, list) else data
        if not isinstance(raw, Mapping):
            raise UnreadableOrder("the order is not a JSON object", data)
        try:
            status = obj(raw.get("status"))
            return cls(
                id=text(one(raw.get("id"))).strip(),
                order_id=text(one(raw.get("order_id"))).strip(),
                status=text(status.get("name")) or text(status.get("id")),
                financial_status=text(one(raw.get("financial_status"))),
                fulfillment_status=text(one(raw.get("fulfillment_status"))),
                total=OrderTotals.from_api(raw.get("totals"), raw.get("total")).total,
                created_at=parse_a2c_datetime(raw.get("create_at")),
                skus=tuple(
                    text(obj(line).get("model")).strip()
                    for line in entries(raw.get("order_products"))
                ),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise UnreadableOrder(f"unreadable order: {exc}", raw) from exc


@dataclass(frozen=True)
class OrderRefund:
    """One refund the store made (§3.5 `refunds[]`); `total` is the amount given back."""

    id: str
    total: Decimal
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    time: datetime | None = None
    comment: str = ""
    items: tuple[tuple[str, Decimal], ...] = ()
    """(order_product_id, quantity) of the refunded lines."""

    @classmethod
    def all_from_api(cls, refunds: Any, refund_info: Any) -> tuple[OrderRefund, ...]:
        """`refunds[]`, or the one summary `status.refund_info` where a platform sends only it."""
        rows = [obj(row) for row in many(refunds)]
        if rows:
            return tuple(cls._one(row, row.get("total"), row.get("items")) for row in rows)
        info = obj(refund_info)
        total = decimal_or_none(info.get("total_refunded"))
        if not total:
            return ()
        return (cls._one(info, total, info.get("refunded_items")),)

    @classmethod
    def _one(cls, row: Mapping[str, Any], total: Any, items: Any) -> OrderRefund:
        return cls(
            id=text(row.get("id")),
            total=decimal_or_none(total) or Decimal(0),
            shipping=decimal_or_none(row.get("shipping")) or Decimal(0),
            tax=decimal_or_none(row.get("tax")) or Decimal(0),
            time=parse_a2c_datetime(row.get("modified_time") or row.get("time")),
            comment=text(row.get("comment")),
            items=tuple(
                (text(item.get("order_product_id")), decimal_or_none(item.get("qty")) or Decimal(0))
                for item in entries(items)
            ),
        )


@dataclass(frozen=True)
class OrderStatus:
    id: str
    name: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderStatus:
        return cls(text(data.get("id")), text(data.get("name")))


# --- Products, variants and batch jobs (`product.*`, `batch.job.*`) -----------------------


@dataclass(frozen=True)
class InventoryLevel:
    warehouse_id: str
    quantity: Decimal
    in_stock: bool


def _inventory(rows: Any) -> tuple[InventoryLevel, ...]:
    return tuple(
        InventoryLevel(
            text(r.get("warehouse_id")),
            decimal_or_none(r.get("quantity")) or Decimal(0),
            flag(r.get("in_stock")),
        )
        for r in (obj(row) for row in many(rows))
    )


@dataclass(frozen=True)
class Product:
    """A product; SKUs read as `u_sku`/`u_model` and are written as `sku`/`model` (§7.4)."""

    id: str
    name: str
    sku: str
    model: str
    price: Decimal | None
    quantity: Decimal | None
    inventory: tuple[InventoryLevel, ...]
    created_at: datetime | None
    modified_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Product:
        return cls(
            id=text(data.get("id")),
            name=text(data.get("name")),
            sku=text(data.get("u_sku")),
            model=text(data.get("u_model")),
            price=decimal_or_none(data.get("price")),
            quantity=decimal_or_none(data.get("quantity")),
            inventory=_inventory(data.get("inventory")),
            created_at=parse_a2c_datetime(data.get("create_at")),
            modified_at=parse_a2c_datetime(data.get("modified_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ChildItem:
    """A variant (`product.child_item.*`)."""

    id: str
    parent_id: str
    sku: str
    name: str
    price: Decimal | None
    quantity: Decimal | None
    inventory: tuple[InventoryLevel, ...]
    modified_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ChildItem:
        return cls(
            id=text(data.get("id")),
            parent_id=text(data.get("parent_id")),
            sku=text(data.get("sku")),
            name=text(data.get("name")),
            price=decimal_or_none(data.get("default_price", data.get("price"))),
            quantity=decimal_or_none(data.get("inventory_level", data.get("quantity"))),
            inventory=_inventory(data.get("inventory")),
            modified_at=parse_a2c_datetime(data.get("modified_time")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class BatchJob:
    id: str
    method: str
    status: str
    created_at: datetime | None
    processed_at: datetime | None

    @property
    def is_processed(self) -> bool:
        return self.status == "processed"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BatchJob:
        return cls(
            id=text(data.get("id")),
            method=text(data.get("method")),
            status=text(data.get("status")),
            created_at=parse_a2c_datetime(data.get("created_time")),
            processed_at=parse_a2c_datetime(data.get("processed_time")),
        )


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    """Position of the item in the submitted payload."""
    status: str
    entity_id: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BatchItemResult:
        return cls(
            index=int(data.get("id") or 0),
            status=text(data.get("status")),
            entity_id=text(data.get("entity_id")),
            errors=tuple(str(e) for e in data.get("errors") or []),
            warnings=tuple(str(w) for w in data.get("warnings") or []),
        )


@dataclass(frozen=True)
class BatchJobResult:
    job_id: str
    status: str
    items_processed: int
    items_succeed: int
    items: tuple[BatchItemResult, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BatchJobResult:
        """`batch.job.result`; a result without a status is a processed one."""
        return cls(
            job_id=text(data.get("job_id")),
            status=text(data.get("status") or "processed"),
            items_processed=int(data.get("items_processed") or 0),
            items_succeed=int(data.get("items_succeed") or 0),
            items=tuple(BatchItemResult.from_api(item) for item in data.get("items") or []),
        )


@dataclass(frozen=True)
class ProductUpdate:
    """Price and stock change for a product (`product.update`, or one batch item).

    Prefer `increase_quantity`/`reduce_quantity` over `quantity` where concurrent writers
    exist (SPEC advice); never send `quantity` together with a relative change.
    """

    id: str
    price: Decimal | None = None
    special_price: Decimal | None = None
    quantity: Decimal | None = None
    increase_quantity: Decimal | None = None
    reduce_quantity: Decimal | None = None
    warehouse_id: str | None = None
    manage_stock: bool | None = None
    in_stock: bool | None = None
    store_id: str | None = None

    def __post_init__(self) -> None:
        if self.quantity is not None and (
            self.increase_quantity is not None or self.reduce_quantity is not None
        ):
            raise ValueError("Send either an absolute quantity or a relative change, not both")

    def to_api(self) -> dict[str, Any]:
        return {k: json_value(v) for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class VariantUpdate(ProductUpdate):
    """Price and stock change for a variant; API2Cart needs the parent `product_id` too."""

    product_id: str = ""


# --- Shipments (`order.shipment.*`) -------------------------------------------------------


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
        """A shipment (§3.4); a platform's wrapper around each item is taken off (§7.19)."""
        return cls(
            id=text(data.get("id")),
            order_id=text(data.get("order_id")),
            tracking_numbers=tuple(
                TrackingNumber(text(t.get("carrier_id")), text(t.get("tracking_number")))
                for t in entries(data.get("tracking_numbers"))
            ),
            items=tuple(
                (text(i.get("order_product_id")), decimal_or_none(i.get("quantity")) or Decimal(0))
                for i in entries(data.get("items"))
            ),
            created_at=parse_a2c_datetime(data.get("created_at")),
            is_shipped=flag(data.get("is_shipped"), default=True),
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
                    {"order_product_id": i.order_product_id, "quantity": json_value(i.quantity)}
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


# --- Customers (`customer.*`) -------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    first_name: str
    last_name: str
    phone: str
    company: str
    created_at: datetime | None
    modified_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Customer:
        return cls(
            id=text(data.get("id")),
            email=text(data.get("email")),
            first_name=text(data.get("first_name")),
            last_name=text(data.get("last_name")),
            phone=text(data.get("phone")),
            company=text(data.get("company")),
            created_at=parse_a2c_datetime(data.get("created_time")),
            modified_at=parse_a2c_datetime(data.get("modified_time")),
            raw=dict(data),
        )


# --- Webhooks (`webhook.*`, `account.failed_webhooks`, webhook bodies) --------------------


@dataclass(frozen=True)
class WebhookEvent:
    entity: str
    action: str
    filterable_fields: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookEvent:
        return cls(
            entity=text(data.get("entity")),
            action=text(data.get("action")),
            filterable_fields=tuple(data.get("filterable_fields") or ()),
        )


@dataclass(frozen=True)
class Webhook:
    id: int
    entity: str
    action: str
    callback: str
    active: bool
    label: str
    store_id: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(
            id=int(data["id"]),
            entity=text(data.get("entity")),
            action=text(data.get("action")),
            callback=text(data.get("callback")),
            active=flag(data.get("active"), default=True),
            label=text(data.get("label")),
            store_id=text(data.get("store_id")),
        )


@dataclass(frozen=True)
class FailedWebhook:
    """A delivery the account's webhook missed (`account.failed_webhooks`)."""

    webhook_id: int
    entity_id: str
    time: datetime | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FailedWebhook:
        return cls(
            webhook_id=int(data.get("webhook_id") or 0),
            entity_id=text(data.get("entity_id")),
            time=parse_a2c_datetime(data.get("time")),
        )


@dataclass(frozen=True)
class WebhookIds:
    """The ids a webhook (or poll) body names (`webhooks.read_webhook_ids`); "" when absent.

    `entity_id` names the entity the event is about: `id`, else `<entity>_id`, else `order_id`
    (platforms that leave `id` empty, §7.15). `internal_id` is API2Cart's `id`, `order_number`
    the store-facing `order_id`.
    """

    entity_id: str = ""
    internal_id: str = ""
    order_number: str = ""
