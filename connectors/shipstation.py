"""ShipStation API V1 client (contracts/shipstation.md).

Basic auth with the key pair, camelCase JSON, Pacific local time on the wire (no offset) and
aware datetimes in Python, `page`/`pages` paging, 40 requests per minute per key pair shared
through an optional `SlidingWindowLimiter`. ShipStation's `X-Rate-Limit-*` headers are honoured:
`Remaining: 0` pauses every process until the window resets, a 429 raises `RateLimitedError`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import requests

from connectors._http import (
    HttpClient,
    Timeout,
    drop_empty,
    json_or_none,
    parse_retry_after,
)
from connectors.errors import (
    PermanentError,
    RateLimitedError,
    UpstreamError,
    ValidationError,
)
from connectors.guard import AddressPolicy
from connectors.url_paths import UnsafeURL, normalise_url, path_under

DEFAULT_BASE_URL = "https://ssapi.shipstation.com"
PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_ORDERS_PER_CALL = 100
MAX_PAGE_SIZE = 500
WEBHOOK_EVENTS = (
    "ORDER_NOTIFY",
    "ITEM_ORDER_NOTIFY",
    "SHIP_NOTIFY",
    "ITEM_SHIP_NOTIFY",
    "FULFILLMENT_SHIPPED",
    "FULFILLMENT_REJECTED",
)
# Webhook resource URLs may name a numbered shard of the production API host (contract §5.2).
_SHIPSTATION_SHARD = re.compile(r"^ssapi\d*\.shipstation\.com$")


class RequestLimiter(Protocol):
    """What the client needs from a shared limiter (see ratelimit.SlidingWindowLimiter)."""

    def acquire(self) -> None: ...

    def hold(self, seconds: float) -> None: ...


# --- Pacific time on the wire ------------------------------------------------------------


def parse_pacific(value: str | None) -> datetime | None:
    """A ShipStation timestamp (Pacific local, no offset, up to 7 fractional digits) → UTC."""
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    main, dot, fraction = text.partition(".")
    if dot:
        text = f"{main}.{fraction[:6].ljust(6, '0')}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PACIFIC)
    return parsed.astimezone(UTC)


def parse_pacific_date(value: str | None) -> date | None:
    """A date-only field such as a shipment's `shipDate`."""
    if not value:
        return None
    return date.fromisoformat(value.strip()[:10])


def format_pacific(value: datetime) -> str:
    """An aware datetime → `yyyy-mm-dd hh:mm:ss` in Pacific local time, as ShipStation asks."""
    if value.tzinfo is None:
        raise ValueError("ShipStation dates must be timezone-aware")
    return value.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S")


def _date_param(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_pacific(value)
    return value.isoformat()


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return format_pacific(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- Data shapes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    name: str | None = None
    company: str | None = None
    street1: str | None = None
    street2: str | None = None
    street3: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    residential: bool | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> Address:
        data = data or {}
        return cls(
            name=data.get("name"),
            company=data.get("company"),
            street1=data.get("street1"),
            street2=data.get("street2"),
            street3=data.get("street3"),
            city=data.get("city"),
            state=data.get("state"),
            postal_code=data.get("postalCode"),
            country=data.get("country"),
            phone=data.get("phone"),
            residential=data.get("residential"),
        )

    def to_api(self) -> dict[str, Any]:
        return drop_empty(
            {
                "name": self.name,
                "company": self.company,
                "street1": self.street1,
                "street2": self.street2,
                "street3": self.street3,
                "city": self.city,
                "state": self.state,
                "postalCode": self.postal_code,
                "country": self.country,
                "phone": self.phone,
                "residential": self.residential,
            }
        )


@dataclass(frozen=True)
class Weight:
    value: Decimal
    units: str = "grams"


@dataclass(frozen=True)
class OrderItem:
    """One order line. `line_item_key` is the source system's line id."""

    sku: str | None
    name: str
    quantity: int
    unit_price: Decimal | None = None
    line_item_key: str | None = None
    weight: Weight | None = None
    tax_amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    options: tuple[tuple[str, str], ...] = ()
    order_item_id: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderItem:
        weight = data.get("weight")
        return cls(
            sku=data.get("sku"),
            name=data.get("name") or "",
            quantity=int(data.get("quantity") or 0),
            unit_price=_decimal(data.get("unitPrice")),
            line_item_key=data.get("lineItemKey"),
            weight=Weight(_decimal(weight["value"]), weight.get("units") or "")
            if weight and weight.get("value") is not None
            else None,
            tax_amount=_decimal(data.get("taxAmount")),
            shipping_amount=_decimal(data.get("shippingAmount")),
            options=tuple(
                (o.get("name", ""), o.get("value", "")) for o in data.get("options") or []
            ),
            order_item_id=data.get("orderItemId"),
        )

    def to_api(self) -> dict[str, Any]:
        return drop_empty(
            {
                "lineItemKey": self.line_item_key,
                "sku": self.sku,
                "name": self.name,
                "quantity": self.quantity,
                "unitPrice": _json_value(self.unit_price),
                "taxAmount": _json_value(self.tax_amount),
                "shippingAmount": _json_value(self.shipping_amount),
                "weight": {"value": float(self.weight.value), "units": self.weight.units}
                if self.weight
                else None,
                "options": [{"name": n, "value": v} for n, v in self.options] or None,
            }
        )


@dataclass(frozen=True)
class OrderRequest:
    """What we send to `createorder`: a full order (ShipStation replaces, never merges).

    `order_key` must be deterministic (e.g. "{store}:{order id}") so a retry updates the
    same order instead of creating a duplicate (contract §2.2).
    """

    order_number: str
    order_key: str
    order_date: datetime
    order_status: str
    bill_to: Address
    ship_to: Address
    items: Sequence[OrderItem]
    customer_email: str | None = None
    customer_username: str | None = None
    payment_date: datetime | None = None
    ship_by_date: datetime | None = None
    amount_paid: Decimal | None = None
    tax_amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    customer_notes: str | None = None
    internal_notes: str | None = None
    requested_shipping_service: str | None = None
    carrier_code: str | None = None
    service_code: str | None = None
    weight: Weight | None = None
    store_id: int | None = None
    warehouse_id: int | None = None
    custom_field1: str | None = None
    custom_field2: str | None = None
    custom_field3: str | None = None
    source: str | None = None
    order_id: int | None = None

    def to_api(self) -> dict[str, Any]:
        advanced = drop_empty(
            {
                "storeId": self.store_id,
                "warehouseId": self.warehouse_id,
                "customField1": self.custom_field1,
                "customField2": self.custom_field2,
                "customField3": self.custom_field3,
                "source": self.source,
            }
        )
        return drop_empty(
            {
                "orderId": self.order_id,
                "orderNumber": self.order_number,
                "orderKey": self.order_key,
                "orderDate": format_pacific(self.order_date),
                "paymentDate": _date_param(self.payment_date),
                "shipByDate": _date_param(self.ship_by_date),
                "orderStatus": self.order_status,
                "customerUsername": self.customer_username,
                "customerEmail": self.customer_email,
                "billTo": self.bill_to.to_api(),
                "shipTo": self.ship_to.to_api(),
                "items": [item.to_api() for item in self.items],
                "amountPaid": _json_value(self.amount_paid),
                "taxAmount": _json_value(self.tax_amount),
                "shippingAmount": _json_value(self.shipping_amount),
                "customerNotes": self.customer_notes,
                "internalNotes": self.internal_notes,
                "requestedShippingService": self.requested_shipping_service,
                "carrierCode": self.carrier_code,
                "serviceCode": self.service_code,
                "weight": {"value": float(self.weight.value), "units": self.weight.units}
                if self.weight
                else None,
                "advancedOptions": advanced or None,
            }
        )


@dataclass(frozen=True)
class Order:
    """An order as ShipStation reports it; `raw` keeps every field not modelled here."""

    order_id: int
    order_number: str
    order_key: str
    order_status: str
    order_date: datetime | None
    create_date: datetime | None
    modify_date: datetime | None
    ship_date: date | None
    customer_email: str | None
    ship_to: Address
    items: tuple[OrderItem, ...]
    order_total: Decimal | None
    amount_paid: Decimal | None
    store_id: int | None
    custom_field1: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Order:
        advanced = data.get("advancedOptions") or {}
        return cls(
            order_id=int(data["orderId"]),
            order_number=data.get("orderNumber") or "",
            order_key=data.get("orderKey") or "",
            order_status=data.get("orderStatus") or "",
            order_date=parse_pacific(data.get("orderDate")),
            create_date=parse_pacific(data.get("createDate")),
            modify_date=parse_pacific(data.get("modifyDate")),
            ship_date=parse_pacific_date(data.get("shipDate")),
            customer_email=data.get("customerEmail"),
            ship_to=Address.from_api(data.get("shipTo")),
            items=tuple(OrderItem.from_api(item) for item in data.get("items") or []),
            order_total=_decimal(data.get("orderTotal")),
            amount_paid=_decimal(data.get("amountPaid")),
            store_id=advanced.get("storeId"),
            custom_field1=advanced.get("customField1"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class OrderResult:
    """One element of a `createorders` answer: each order succeeds or fails on its own."""

    order_id: int | None
    order_number: str
    order_key: str
    success: bool
    error_message: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderResult:
        return cls(
            order_id=data.get("orderId") or None,
            order_number=data.get("orderNumber") or "",
            order_key=data.get("orderKey") or "",
            success=bool(data.get("success")),
            error_message=data.get("errorMessage"),
        )


@dataclass(frozen=True)
class ShipmentItem:
    order_item_id: int | None
    line_item_key: str | None
    sku: str | None
    name: str
    quantity: int

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ShipmentItem:
        return cls(
            order_item_id=data.get("orderItemId"),
            line_item_key=data.get("lineItemKey"),
            sku=data.get("sku"),
            name=data.get("name") or "",
            quantity=int(data.get("quantity") or 0),
        )


@dataclass(frozen=True)
class Shipment:
    """A label bought in ShipStation; several per order are possible."""

    shipment_id: int
    order_id: int | None
    order_key: str | None
    order_number: str | None
    create_date: datetime | None
    ship_date: date | None
    tracking_number: str | None
    carrier_code: str | None
    service_code: str | None
    voided: bool
    items: tuple[ShipmentItem, ...] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Shipment:
        items = data.get("shipmentItems")
        return cls(
            shipment_id=int(data["shipmentId"]),
            order_id=data.get("orderId"),
            order_key=data.get("orderKey"),
            order_number=data.get("orderNumber"),
            create_date=parse_pacific(data.get("createDate")),
            ship_date=parse_pacific_date(data.get("shipDate")),
            tracking_number=data.get("trackingNumber"),
            carrier_code=data.get("carrierCode"),
            service_code=data.get("serviceCode"),
            voided=bool(data.get("voided")),
            items=None if items is None else tuple(ShipmentItem.from_api(i) for i in items),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Fulfillment:
    """An order marked shipped without a label (absent from /shipments, contract §3.2)."""

    fulfillment_id: int
    order_id: int | None
    order_number: str | None
    tracking_number: str | None
    carrier_code: str | None
    create_date: datetime | None
    ship_date: date | None
    voided: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Fulfillment:
        return cls(
            fulfillment_id=int(data["fulfillmentId"]),
            order_id=data.get("orderId"),
            order_number=data.get("orderNumber"),
            tracking_number=data.get("trackingNumber"),
            carrier_code=data.get("carrierCode"),
            create_date=parse_pacific(data.get("createDate")),
            ship_date=parse_pacific_date(data.get("shipDate")),
            voided=bool(data.get("voided")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Store:
    store_id: int
    store_name: str
    marketplace_id: int | None
    marketplace_name: str | None
    active: bool

    @property
    def is_manual(self) -> bool:
        return self.marketplace_id == 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Store:
        return cls(
            store_id=int(data["storeId"]),
            store_name=data.get("storeName") or "",
            marketplace_id=data.get("marketplaceId"),
            marketplace_name=data.get("marketplaceName"),
            active=bool(data.get("active", True)),
        )


@dataclass(frozen=True)
class Webhook:
    webhook_id: int
    event: str
    url: str
    name: str | None
    store_id: int | None
    active: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(
            webhook_id=int(data["WebHookID"]),
            event=data.get("HookType") or "",
            url=data.get("Url") or "",
            name=data.get("Name"),
            store_id=data.get("StoreID"),
            active=bool(data.get("Active", True)),
        )


# --- The client ----------------------------------------------------------------------------


class ShipStationClient(HttpClient):
    """One ShipStation V1 account (API key pair)."""

    upstream = "shipstation"

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = (5.0, 30.0),
        limiter: RequestLimiter | None = None,
        max_wait: float = 30.0,
        page_size: int = MAX_PAGE_SIZE,
        session: requests.Session | None = None,
        allow_address: AddressPolicy | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, session=session, allow_address=allow_address)
        self.session.auth = (api_key, api_secret)
        self.session.headers["Accept"] = "application/json"
        self.limiter = limiter
        self.max_wait = max_wait
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self._paused_until = 0.0

    # Orders

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
        sort_by: str | None = None,
        sort_dir: str | None = None,
    ) -> Iterator[Order]:
        """All matching orders, page after page. `order_number` is a prefix match upstream."""
        params = {
            "orderNumber": order_number,
            "orderStatus": order_status,
            "storeId": store_id,
            "modifyDateStart": _date_param(modify_date_start),
            "modifyDateEnd": _date_param(modify_date_end),
            "createDateStart": _date_param(create_date_start),
            "createDateEnd": _date_param(create_date_end),
            "sortBy": sort_by,
            "sortDir": sort_dir,
        }
        for row in self._pages(self.url("orders"), drop_empty(params), "orders"):
            yield Order.from_api(row)

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
                "shipDate": _date_param(ship_date),
                "trackingNumber": tracking_number,
                "notifyCustomer": notify_customer,
                "notifySalesChannel": notify_sales_channel,
            }
        )
        self._call("POST", "orders/markasshipped", json=body)

    # Shipments and fulfillments

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
            "createDateStart": _date_param(create_date_start),
            "createDateEnd": _date_param(create_date_end),
            "shipDateStart": _date_param(ship_date_start),
            "shipDateEnd": _date_param(ship_date_end),
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
            "createDateStart": _date_param(create_date_start),
            "createDateEnd": _date_param(create_date_end),
        }
        for row in self._pages(self.url("fulfillments"), drop_empty(params), "fulfillments"):
            yield Fulfillment.from_api(row)

    # Stores

    def list_stores(self, *, show_inactive: bool = False) -> list[Store]:
        params = {"showInactive": "true"} if show_inactive else {}
        return [Store.from_api(s) for s in self._call("GET", "stores", params=params) or []]

    # Webhooks

    def subscribe_webhook(
        self,
        target_url: str,
        event: str,
        *,
        store_id: int | None = None,
        friendly_name: str | None = None,
    ) -> int:
        """Register a callback; returns the webhook id (accepts `id` or `WebHookID` replies)."""
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"Unknown ShipStation webhook event {event!r}")
        body = drop_empty(
            {
                "target_url": target_url,
                "event": event,
                "store_id": store_id,
                "friendly_name": friendly_name,
            }
        )
        answer = self._call("POST", "webhooks/subscribe", json=body)
        return int(answer.get("id") or answer["WebHookID"])

    def list_webhooks(self) -> list[Webhook]:
        answer = self._call("GET", "webhooks")
        rows = answer.get("webhooks", []) if isinstance(answer, dict) else answer
        return [Webhook.from_api(w) for w in rows or []]

    def unsubscribe_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", f"webhooks/{int(webhook_id)}")

    def fetch_resource_orders(self, resource_url: str) -> Iterator[Order]:
        """The orders behind an ORDER_NOTIFY webhook's `resource_url`, every page."""
        url, params = self._resource(resource_url)
        for row in self._pages(url, params, "orders"):
            yield Order.from_api(row)

    def fetch_resource_shipments(
        self, resource_url: str, *, include_items: bool = True
    ) -> Iterator[Shipment]:
        """The shipments behind a SHIP_NOTIFY webhook's `resource_url`, with their lines."""
        url, params = self._resource(resource_url)
        if include_items:
            params = {k: v for k, v in params.items() if k.lower() != "includeshipmentitems"}
            params["includeShipmentItems"] = "true"
        for row in self._pages(url, params, "shipments"):
            yield Shipment.from_api(row)

    # Plumbing

    def _resource(self, resource_url: str) -> tuple[str, dict[str, str]]:
        """Check a webhook URL before our credentials go anywhere near it (contract §5.4).

        The URL is normalised first (`url_paths.normalise_url`: dot segments removed, encoded
        dots decoded, encoded slashes, backslashes and user-info refused), then it must have the
        base URL's scheme, host and port (or be a numbered `ssapiN` shard when the base is
        ShipStation's own API) and a path under the base path. The request goes to the base URL
        plus that normalised remainder, never to the text that arrived in the webhook.
        """
        try:
            target = normalise_url(resource_url)
            base = normalise_url(self.base_url)
        except UnsafeURL as exc:
            raise PermanentError(
                f"Webhook resource_url {resource_url!r} is not a plain URL on {self.base_url}: "
                f"{exc}",
                upstream=self.upstream,
                hint="Ignored a webhook whose resource_url could be read as another address.",
            ) from exc
        same_host = target.origin == base.origin
        shard = (
            (target.scheme, target.port) == (base.scheme, base.port) == ("https", 443)
            and bool(_SHIPSTATION_SHARD.match(target.host))
            and bool(_SHIPSTATION_SHARD.match(base.host))
        )
        if not (same_host or shard):
            raise PermanentError(
                f"Webhook resource_url {resource_url!r} is not on {self.base_url}",
                upstream=self.upstream,
                hint="Ignored a webhook whose resource_url points at a foreign host.",
            )
        below = path_under(target.path, base.path)
        if below is None:
            raise PermanentError(
                f"Webhook resource_url {resource_url!r} is outside {self.base_url}",
                upstream=self.upstream,
                hint="Ignored a webhook whose resource_url is outside the ShipStation API.",
            )
        return self.url(below), dict(parse_qsl(target.query, keep_blank_values=True))

    def _pages(self, url: str, params: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self._call(
                "GET", url, params={**params, "page": page, "pageSize": self.page_size}
            )
            yield from body.get(key) or []
            if page >= int(body.get("pages") or 0):
                return
            page += 1

    def _call(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        self._wait_for_turn()
        response = self.send(method, url, **kwargs)
        self._note_rate_headers(response)
        if response.status_code >= 400:
            raise self._error(response)
        return json_or_none(response) if response.content else {}

    def _wait_for_turn(self) -> None:
        """Respect our own pause (no limiter) or the shared limiter before each request."""
        if self.limiter is not None:
            self.limiter.acquire()
            return
        pause = self._paused_until - time.monotonic()
        if pause <= 0:
            return
        if pause > self.max_wait:
            raise RateLimitedError(
                "ShipStation rate window spent", retry_after=pause, upstream=self.upstream
            )
        time.sleep(pause)

    def _note_rate_headers(self, response: requests.Response) -> None:
        """`X-Rate-Limit-Remaining: 0` (or a 429) means: nobody calls until the reset."""
        reset = _float_header(response, "X-Rate-Limit-Reset")
        remaining = _float_header(response, "X-Rate-Limit-Remaining")
        if response.status_code == 429:
            wait = parse_retry_after(response.headers.get("Retry-After")) or reset or 1.0
        elif remaining is not None and remaining <= 0 and reset:
            wait = reset
        else:
            return
        if self.limiter is not None:
            self.limiter.hold(wait)
        else:
            self._paused_until = max(self._paused_until, time.monotonic() + wait)

    def _error(self, response: requests.Response) -> UpstreamError:
        body = json_or_none(response)
        message = _error_message(body) or f"HTTP {response.status_code}"
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None:
                retry_after = _float_header(response, "X-Rate-Limit-Reset")
            return RateLimitedError(
                message, retry_after=retry_after, upstream=self.upstream, status=429
            )
        error = self.http_error(response, message)
        if isinstance(error, ValidationError) and isinstance(body, dict) and body.get("ModelState"):
            error.hint = "ShipStation rejected the order: " + "; ".join(
                f"{name}: {' '.join(problems)}" for name, problems in body["ModelState"].items()
            )
        return error


def _float_header(response: requests.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None


def _error_message(body: Any) -> str:
    """ShipStation's ASP.NET error bodies: `Message` (+ `ExceptionMessage`) or `message`."""
    if not isinstance(body, dict):
        return ""
    message = body.get("Message") or body.get("message") or ""
    if body.get("ExceptionMessage"):
        message = f"{message} {body['ExceptionMessage']}".strip()
    return message
