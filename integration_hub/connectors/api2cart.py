"""API2Cart v1.1 client (contracts/api2cart.md): one connected store, or the account alone.

API2Cart answers errors with HTTP 200 and a non-zero `return_code`; `_call` maps every code to
the shared taxonomy (§1.4). List methods are generators that page by `page_cursor` (the only
paging Shopify supports) or by `start`/`count` where the method has no cursor. Reads ask for
`params=force_all`, because the defaults hide ids and dates (§7.2). Concurrency (5 calls per
store, 10 per account) is shared through an optional `ConcurrencyLimiter`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import unquote

import requests

from ._http import HttpClient, Timeout, drop_empty, json_or_none
from .errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    UpstreamError,
    ValidationError,
)

DEFAULT_BASE_URL = "https://api.api2cart.com/v1.1"
MAX_PAGE_SIZE = 250
MAX_BATCH_ITEMS = 250
FORCE_ALL = "force_all"
# §1.8: the error text names `Y-m-d\TH:i:sO`; SPEC examples use `Y-m-d H:i:s`. Configurable.
ISO_INPUT_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
PLAIN_INPUT_FORMAT = "%Y-%m-%d %H:%M:%S"

# §1.4 return codes. Concurrency/throttling first: the caller waits and tries again.
RATE_LIMIT_CODES = frozenset({7, 10, 110})
TRANSIENT_CODES = frozenset({1, 9, 100, 105, 106})
AUTH_CODES = frozenset({2, 4, 5, 6})
NOT_FOUND_CODES = frozenset({112})
CODE_HINTS = {
    1: "API2Cart is not available right now.",
    2: "The API2Cart API key is wrong; check the account settings.",
    3: "The client called API2Cart without a method (a bug in the hub).",
    4: "API2Cart refused access to this store; check the store key.",
    5: "API2Cart refused API access for this account.",
    6: "The API2Cart API key is disabled.",
    7: "Too many calls to this store at once; the hub will retry.",
    8: "This store is already connected to the API2Cart account.",
    9: "API2Cart had an internal error.",
    10: "Too many calls on the API2Cart account at once; the hub will retry.",
    100: "API2Cart cannot reach the store (URL, credentials or bridge); check the store.",
    101: "API2Cart does not know this store key; reconnect the store.",
    102: "The store's FTP access is wrong.",
    103: "The store's FTP user cannot write.",
    104: "The bridge was not found in the store's FTP folder.",
    105: "The store's connection bridge answered with an error.",
    106: "The store URL is not reachable.",
    107: "The store returned an error (or the cart is unsupported).",
    109: "A parameter was not valid (format or value).",
    110: "The store's platform is throttling API calls; the hub will retry.",
    111: "Too many items were requested at once.",
    112: "The item was not found in the store.",
    113: "The item already exists in the store (e.g. a duplicate SKU).",
    114: "A required parameter was missing.",
    115: "Too many possible prefixes.",
    116: "Duplicate record in API2Cart's database.",
}

_PHP_TO_STRPTIME = {
    "Y": "%Y",
    "m": "%m",
    "d": "%d",
    "H": "%H",
    "i": "%M",
    "s": "%S",
    "O": "%z",
    "P": "%z",
    "u": "%f",
    "y": "%y",
}


class ConcurrencySlots(Protocol):
    """What the client needs from a shared limiter (see ratelimit.ConcurrencyLimiter)."""

    def slot(self) -> AbstractContextManager[None]: ...


# --- Dates and numbers -------------------------------------------------------------------


def _php_format_to_strptime(php: str) -> str:
    out, escaped = [], False
    for char in php:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(_PHP_TO_STRPTIME.get(char, char.replace("%", "%%")))
    return "".join(out)


def parse_a2c_datetime(value: Any) -> datetime | None:
    """An `A2CDateTime` object `{value, format}` (or a plain string) → aware UTC datetime.

    Strings without an offset are read as UTC (the timezone API2Cart uses is unconfirmed).
    """
    if value is None:
        return None
    fmt = None
    if isinstance(value, Mapping):
        fmt = value.get("format")
        value = value.get("value")
    if not value:
        return None
    text = str(value).strip()
    parsed = None
    if fmt:
        try:
            parsed = datetime.strptime(text, _php_format_to_strptime(str(fmt)))
        except ValueError:
            parsed = None
    if parsed is None:
        iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace(" ", "T", 1))
        try:
            parsed = datetime.fromisoformat(iso)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_a2c_datetime(value: datetime, fmt: str = ISO_INPUT_FORMAT) -> str:
    """An aware datetime → API2Cart input text (ISO-8601 with offset unless told otherwise)."""
    if value.tzinfo is None:
        raise ValueError("API2Cart dates must be timezone-aware")
    return value.astimezone(UTC).strftime(fmt)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _json_value(value: Any) -> Any:
    """JSON for API2Cart: whole numbers as ints (it rejects 2.0 where it wants an integer)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return format_a2c_datetime(value, PLAIN_INPUT_FORMAT)
    return value


# --- Data shapes (read) ------------------------------------------------------------------


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
            is_shipped=bool(data.get("is_shipped", True)),
            raw=dict(data),
        )


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
            id=_str(data.get("id")),
            email=_str(data.get("email")),
            first_name=_str(data.get("first_name")),
            last_name=_str(data.get("last_name")),
            phone=_str(data.get("phone")),
            company=_str(data.get("company")),
            created_at=parse_a2c_datetime(data.get("created_time")),
            modified_at=parse_a2c_datetime(data.get("modified_time")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class InventoryLevel:
    warehouse_id: str
    quantity: Decimal
    in_stock: bool


def _inventory(rows: Any) -> tuple[InventoryLevel, ...]:
    return tuple(
        InventoryLevel(
            _str(r.get("warehouse_id")),
            _decimal(r.get("quantity")) or Decimal(0),
            bool(r.get("in_stock")),
        )
        for r in rows or []
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
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            sku=_str(data.get("u_sku")),
            model=_str(data.get("u_model")),
            price=_decimal(data.get("price")),
            quantity=_decimal(data.get("quantity")),
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
            id=_str(data.get("id")),
            parent_id=_str(data.get("parent_id")),
            sku=_str(data.get("sku")),
            name=_str(data.get("name")),
            price=_decimal(data.get("default_price", data.get("price"))),
            quantity=_decimal(data.get("inventory_level", data.get("quantity"))),
            inventory=_inventory(data.get("inventory")),
            modified_at=parse_a2c_datetime(data.get("modified_time")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class StoreInfo:
    store_id: str
    name: str
    currency: str
    timezone: str
    default_warehouse_id: str
    carriers: tuple[tuple[str, str], ...]
    """(carrier id, name) pairs usable as `carrier_id` in shipments."""


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
        stores = tuple(
            StoreInfo(
                store_id=_str(s.get("store_id")),
                name=_str(s.get("name")),
                currency=_str((s.get("currency") or {}).get("iso3")),
                timezone=_str(s.get("timezone")),
                default_warehouse_id=_str(s.get("default_warehouse_id")),
                carriers=tuple(
                    (_str(c.get("id")), _str(c.get("name"))) for c in s.get("carrier_info") or []
                ),
            )
            for s in data.get("stores_info") or []
        )
        return cls(
            name=_str(data.get("name")),
            url=_str(data.get("url")),
            version=_str(data.get("version")),
            stores=stores,
            warehouse_ids=tuple(_str(w.get("id")) for w in data.get("warehouses") or []),
            raw=dict(data),
        )


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
            cart_id=_str(data.get("cart_id")),
            cart_name=_str(data.get("cart_name")),
            required=tuple(
                tuple(_str(p.get("name")) for p in option)
                for option in params.get("required") or []
            ),
            additional=tuple(_str(p.get("name")) for p in params.get("additional") or []),
        )


@dataclass(frozen=True)
class WebhookEvent:
    entity: str
    action: str
    filterable_fields: tuple[str, ...]


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
            entity=_str(data.get("entity")),
            action=_str(data.get("action")),
            callback=_str(data.get("callback")),
            active=data.get("active") not in (False, "false", 0, "0"),
            label=_str(data.get("label")),
            store_id=_str(data.get("store_id")),
        )


@dataclass(frozen=True)
class FailedWebhook:
    webhook_id: int
    entity_id: str
    time: datetime | None


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


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    """Position of the item in the submitted payload."""
    status: str
    entity_id: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class BatchJobResult:
    job_id: str
    status: str
    items_processed: int
    items_succeed: int
    items: tuple[BatchItemResult, ...]


# --- Data shapes (write) -----------------------------------------------------------------


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
        return {k: _json_value(v) for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class VariantUpdate(ProductUpdate):
    """Price and stock change for a variant; API2Cart needs the parent `product_id` too."""

    product_id: str = ""


# --- The client ----------------------------------------------------------------------------


class Api2CartClient(HttpClient):
    """API2Cart for one account (`api_key`) and, for store methods, one store (`store_key`)."""

    upstream = "api2cart"

    def __init__(
        self,
        api_key: str,
        store_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = (10.0, 180.0),
        limiter: ConcurrencySlots | None = None,
        page_size: int = MAX_PAGE_SIZE,
        date_input_format: str = ISO_INPUT_FORMAT,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, session=session)
        self.store_key = store_key
        self.limiter = limiter
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.date_input_format = date_input_format
        self.session.headers.update({"x-api-key": api_key, "Accept": "application/json"})

    # Account

    def supported_platforms(self) -> list[SupportedPlatform]:
        result = self._call("GET", "account.supported_platforms", store=False)
        return [SupportedPlatform.from_api(p) for p in result.get("supported_platforms") or []]

    def add_store(
        self,
        cart_id: str,
        store_url: str,
        credentials: Mapping[str, Any],
        *,
        verify: bool = True,
        idempotency_key: str | None = None,
    ) -> str:
        """`account.cart.add`: connect a store; returns the new store key."""
        body = drop_empty(
            {
                "cart_id": cart_id,
                "store_url": store_url,
                **credentials,
                "verify": verify,
                "idempotency_key": idempotency_key,
            }
        )
        result = self._call("POST", "account.cart.add", json=body, store=False)
        return _str(result.get("store_key"))

    def failed_webhooks(self, webhook_ids: Iterable[int] = ()) -> Iterator[FailedWebhook]:
        """Deliveries our callback missed in the last 24 h, to resync by `entity_id`."""
        params = {"ids": ",".join(str(i) for i in webhook_ids) or None}
        for row in self._offset_pages("account.failed_webhooks", params, "webhook", store=False):
            yield FailedWebhook(
                webhook_id=int(row.get("webhook_id") or 0),
                entity_id=_str(row.get("entity_id")),
                time=parse_a2c_datetime(row.get("time")),
            )

    # Store

    def cart_info(self) -> CartInfo:
        return CartInfo.from_api(self._call("GET", "cart.info", params={"params": FORCE_ALL}))

    def validate(self) -> str:
        """`cart.validate`: clears API2Cart's cache for the store and checks the connection."""
        return _str(self._call("GET", "cart.validate").get("status"))

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

    def add_shipment(self, shipment: NewShipment) -> str:
        """`order.shipment.add`; returns the store's shipment id."""
        result = self._call("POST", "order.shipment.add", json=shipment.to_api())
        return _str(result.get("shipment_id"))

    def shipments(self, order_id: str) -> Iterator[Shipment]:
        params = {"order_id": order_id}
        for row in self._cursor_pages("order.shipment.list", params, "shipment"):
            yield Shipment.from_api(row)

    # Customers

    def customers(
        self,
        *,
        modified_from: datetime | None = None,
        created_from: datetime | None = None,
        include_guests: bool | None = None,
    ) -> Iterator[Customer]:
        params = {
            **self._dates(modified_from, None, created_from, None),
            "include_guests": _flag(include_guests),
        }
        for row in self._cursor_pages("customer.list", params, "customer"):
            yield Customer.from_api(row)

    def customer_info(self, customer_id: str) -> Customer:
        params = {"id": customer_id, "params": FORCE_ALL}
        return Customer.from_api(self._call("GET", "customer.info", params=params))

    def find_customers(self, value: str, *, where: str = "email") -> list[Customer]:
        """`customer.find`; the response may be one object or a list (§4), both are read."""
        params = {"find_value": value, "find_where": where}
        try:
            result = self._call("GET", "customer.find", params=params)
        except NotFoundError:
            return []
        rows = result.get("customer", result) if isinstance(result, Mapping) else result
        if isinstance(rows, Mapping):
            rows = [rows] if rows.get("id") else []
        return [Customer.from_api(r) for r in rows or []]

    # Products

    def products(
        self,
        *,
        modified_from: datetime | None = None,
        created_from: datetime | None = None,
        sku: str | None = None,
        product_ids: Iterable[str] = (),
    ) -> Iterator[Product]:
        params = {
            **self._dates(modified_from, None, created_from, None),
            "sku": sku,
            "product_ids": ",".join(product_ids) or None,
        }
        for row in self._cursor_pages("product.list", params, "product"):
            yield Product.from_api(row)

    def product_info(self, product_id: str) -> Product:
        params = {"id": product_id, "params": FORCE_ALL}
        return Product.from_api(self._call("GET", "product.info", params=params))

    def find_products(self, value: str, *, where: str = "model") -> list[Product]:
        """`product.find` (by `model` = SKU by default); empty list when nothing matches.

        Matches carry only id, name and price; fetch the rest with `product_info`.
        """
        params = {"find_value": value, "find_where": where}
        try:
            result = self._call("GET", "product.find", params=params)
        except NotFoundError:
            return []
        return [Product.from_api(p) for p in result.get("product") or []]

    def child_items(
        self,
        *,
        product_id: str | None = None,
        sku: str | None = None,
        modified_from: datetime | None = None,
    ) -> Iterator[ChildItem]:
        params = {
            **self._dates(modified_from, None, None, None),
            "product_id": product_id,
            "sku": sku,
        }
        for row in self._cursor_pages("product.child_item.list", params, "children"):
            yield ChildItem.from_api(row)

    def find_child_items(self, value: str, *, where: str = "sku") -> list[ChildItem]:
        params = {"find_value": value, "find_where": where}
        try:
            result = self._call("GET", "product.child_item.find", params=params)
        except NotFoundError:
            return []
        return [ChildItem.from_api(c) for c in result.get("children") or []]

    def update_product(self, update: ProductUpdate, *, idempotency_key: str | None = None) -> int:
        body = drop_empty({**update.to_api(), "idempotency_key": idempotency_key})
        return int(self._call("PUT", "product.update", json=body).get("updated_items") or 0)

    def update_variant(self, update: VariantUpdate, *, idempotency_key: str | None = None) -> int:
        if not update.product_id:
            raise ValueError("A variant update needs the parent product_id")
        body = drop_empty({**update.to_api(), "idempotency_key": idempotency_key})
        return int(self._call("PUT", "product.variant.update", json=body).get("updated_items") or 0)

    def update_products_batch(
        self, updates: Sequence[ProductUpdate], *, idempotency_key: str | None = None
    ) -> list[str]:
        """`product.update.batch`, 250 items per job; returns the job ids to poll."""
        return self._batch("product.update.batch", updates, idempotency_key)

    def update_variants_batch(
        self, updates: Sequence[VariantUpdate], *, idempotency_key: str | None = None
    ) -> list[str]:
        """`product.variant.update.batch`, 250 items per job; returns the job ids to poll."""
        return self._batch("product.variant.update.batch", updates, idempotency_key)

    def batch_jobs(
        self, *, ids: Iterable[str] = (), created_from: datetime | None = None
    ) -> Iterator[BatchJob]:
        params = {
            "ids": ",".join(ids) or None,
            **self._dates(None, None, created_from, None),
        }
        for row in self._cursor_pages("batch.job.list", params, "jobs", force_all=False):
            yield BatchJob(
                id=_str(row.get("id")),
                method=_str(row.get("method")),
                status=_str(row.get("status")),
                created_at=parse_a2c_datetime(row.get("created_time")),
                processed_at=parse_a2c_datetime(row.get("processed_time")),
            )

    def batch_job_result(self, job_id: str) -> BatchJobResult:
        result = self._call("GET", "batch.job.result", params={"id": job_id})
        return BatchJobResult(
            job_id=_str(result.get("job_id")),
            status=_str(result.get("status") or "processed"),
            items_processed=int(result.get("items_processed") or 0),
            items_succeed=int(result.get("items_succeed") or 0),
            items=tuple(
                BatchItemResult(
                    index=int(item.get("id") or 0),
                    status=_str(item.get("status")),
                    entity_id=_str(item.get("entity_id")),
                    errors=tuple(str(e) for e in item.get("errors") or []),
                    warnings=tuple(str(w) for w in item.get("warnings") or []),
                )
                for item in result.get("items") or []
            ),
        )

    # Webhooks

    def webhook_events(self) -> list[WebhookEvent]:
        """The events this store supports: the only reliable source (§6.2)."""
        result = self._call("GET", "webhook.events")
        return [
            WebhookEvent(
                entity=_str(e.get("entity")),
                action=_str(e.get("action")),
                filterable_fields=tuple(e.get("filterable_fields") or ()),
            )
            for e in result.get("events") or []
        ]

    def create_webhook(
        self,
        entity: str,
        action: str,
        callback: str,
        *,
        label: str | None = None,
        fields: str = FORCE_ALL,
        active: bool = True,
        store_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        body = drop_empty(
            {
                "entity": entity,
                "action": action,
                "callback": callback,
                "label": label,
                "fields": fields,
                "active": active,
                "store_id": store_id,
                "idempotency_key": idempotency_key,
            }
        )
        return int(self._call("POST", "webhook.create", json=body)["id"])

    def webhooks(
        self, *, entity: str | None = None, action: str | None = None
    ) -> Iterator[Webhook]:
        params = {
            "entity": entity,
            "action": action,
            "params": "id,entity,action,callback,label,active,store_id",
        }
        for row in self._offset_pages("webhook.list", params, "webhook"):
            yield Webhook.from_api(row)

    def delete_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", "webhook.delete", params={"id": webhook_id})

    # Generic call and paging

    def call(
        self,
        method: str,
        http_method: str = "GET",
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        store: bool = True,
    ) -> dict[str, Any]:
        """Any API2Cart method (e.g. "order.shipment.info"); returns the `result` object."""
        return self._call(http_method, method, params=params, json=json, store=store)

    def _dates(
        self,
        modified_from: datetime | None,
        modified_to: datetime | None,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> dict[str, str | None]:
        values = {
            "modified_from": modified_from,
            "modified_to": modified_to,
            "created_from": created_from,
            "created_to": created_to,
        }
        return {
            name: None if value is None else format_a2c_datetime(value, self.date_input_format)
            for name, value in values.items()
        }

    def _batch(self, method: str, updates: Sequence[ProductUpdate], key: str | None) -> list[str]:
        jobs = []
        for start in range(0, len(updates), MAX_BATCH_ITEMS):
            chunk = updates[start : start + MAX_BATCH_ITEMS]
            chunk_key = None if key is None else f"{key}:{start // MAX_BATCH_ITEMS}"
            body = drop_empty(
                {"payload": [u.to_api() for u in chunk], "idempotency_key": chunk_key}
            )
            jobs.append(_str(self._call("POST", method, json=body).get("job_id")))
        return jobs

    def _cursor_pages(
        self, method: str, filters: Mapping[str, Any], key: str, *, force_all: bool = True
    ) -> Iterator[dict[str, Any]]:
        """First page with the filters; then only `page_cursor` (it encodes them, §1.7)."""
        fixed = {"count": self.page_size, **({"params": FORCE_ALL} if force_all else {})}
        params: dict[str, Any] = {**drop_empty(filters), **fixed}
        while True:
            result, pagination = self._call_paged("GET", method, params=params)
            rows = result.get(key) or []
            yield from rows
            cursor = (pagination or {}).get("next")
            if not rows or not cursor:
                return
            params = {**fixed, "page_cursor": unquote(cursor)}

    def _offset_pages(
        self, method: str, filters: Mapping[str, Any], key: str, *, store: bool = True
    ) -> Iterator[dict[str, Any]]:
        """`start`/`count` paging; stops on a short page, never on `next` (§1.7)."""
        start = 0
        while True:
            params = {**drop_empty(filters), "start": start, "count": self.page_size}
            result, _ = self._call_paged("GET", method, params=params, store=store)
            rows = result.get(key) or []
            yield from rows
            if len(rows) < self.page_size:
                return
            start += len(rows)

    def _call(self, http_method: str, method: str, **kwargs: Any) -> dict[str, Any]:
        result, _ = self._call_paged(http_method, method, **kwargs)
        return result

    def _call_paged(
        self,
        http_method: str,
        method: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        store: bool = True,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        headers = {}
        if store:
            if not self.store_key:
                raise ValueError(f"{method} needs a store key")
            headers["x-store-key"] = self.store_key
        slot = self.limiter.slot() if self.limiter is not None else nullcontext()
        with slot:
            response = self.send(
                http_method,
                self.url(f"{method}.json"),
                params=drop_empty(params or {}),
                json=json,
                headers=headers,
            )
        body = json_or_none(response)
        if response.status_code != 200:
            raise self.http_error(response, f"{method}: HTTP {response.status_code}")
        if not isinstance(body, Mapping) or "return_code" not in body:
            raise RetryableError(
                f"{method}: answer is not an API2Cart envelope", upstream=self.upstream
            )
        code = int(body["return_code"])
        if code != 0:
            raise return_code_error(method, code, _str(body.get("return_message")))
        result = body.get("result")
        return (result if isinstance(result, dict) else {}), body.get("pagination")


def return_code_error(method: str, code: int, message: str) -> UpstreamError:
    """The taxonomy for a non-zero `return_code` (§1.4)."""
    text = f"{method}: {message or 'error'}"
    hint = CODE_HINTS.get(code, f"API2Cart error {code}: {message}")
    common = {"upstream": "api2cart", "code": str(code)}
    if code in RATE_LIMIT_CODES:
        return RateLimitedError(text, retry_after=None, **common)
    if code in TRANSIENT_CODES:
        return RetryableError(text, **common)
    if code in AUTH_CODES:
        return AuthenticationError(text, hint=hint, **common)
    if code in NOT_FOUND_CODES:
        return NotFoundError(text, **common)
    if code in (109, 111, 114):
        return ValidationError(text, hint=hint, **common)
    return PermanentError(text, hint=hint, **common)


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")
