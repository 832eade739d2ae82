"""The records ShipStation sends and receives (contracts/shipstation.md), as dataclasses.

Each is built from the documented camelCase field names (`from_api`) or writes them (`to_api`);
values (Pacific times, numbers) are read and written by `values`. `raw` keeps every field of
an answer that is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors._http import drop_empty
from connectors.shipstation.values import (
    date_param,
    decimal_or_none,
    format_pacific,
    json_value,
    parse_pacific,
    parse_pacific_date,
)


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
    adjustment: bool = False
    """A non-physical line, such as a discount (contract §2.2 OrderItem)."""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderItem:
        weight = data.get("weight")
        return cls(
            sku=data.get("sku"),
            name=data.get("name") or "",
            quantity=int(data.get("quantity") or 0),
            unit_price=decimal_or_none(data.get("unitPrice")),
            line_item_key=data.get("lineItemKey"),
            weight=Weight(decimal_or_none(weight["value"]), weight.get("units") or "")
            if weight and weight.get("value") is not None
            else None,
            tax_amount=decimal_or_none(data.get("taxAmount")),
            shipping_amount=decimal_or_none(data.get("shippingAmount")),
            options=tuple(
                (o.get("name", ""), o.get("value", "")) for o in data.get("options") or []
            ),
            order_item_id=data.get("orderItemId"),
            adjustment=bool(data.get("adjustment")),
        )

    def to_api(self) -> dict[str, Any]:
        return drop_empty(
            {
                "lineItemKey": self.line_item_key,
                "sku": self.sku,
                "name": self.name,
                "quantity": self.quantity,
                "unitPrice": json_value(self.unit_price),
                "taxAmount": json_value(self.tax_amount),
                "shippingAmount": json_value(self.shipping_amount),
                "weight": {"value": float(self.weight.value), "units": self.weight.units}
                if self.weight
                else None,
                "options": [{"name": n, "value": v} for n, v in self.options] or None,
                "adjustment": True if self.adjustment else None,
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
                "paymentDate": date_param(self.payment_date),
                "shipByDate": date_param(self.ship_by_date),
                "orderStatus": self.order_status,
                "customerUsername": self.customer_username,
                "customerEmail": self.customer_email,
                "billTo": self.bill_to.to_api(),
                "shipTo": self.ship_to.to_api(),
                "items": [item.to_api() for item in self.items],
                "amountPaid": json_value(self.amount_paid),
                "taxAmount": json_value(self.tax_amount),
                "shippingAmount": json_value(self.shipping_amount),
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
            order_total=decimal_or_none(data.get("orderTotal")),
            amount_paid=decimal_or_none(data.get("amountPaid")),
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
