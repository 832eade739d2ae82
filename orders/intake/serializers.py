"""The order API's shapes: what a client sends to place an order, and how an order is shown.

The input serializer is also the rule book for CSV uploads, so both doors accept the same orders.
An order may say where its store has it (`store_status`, `financial_status`,
`fulfillment_status`): one already fulfilled, cancelled or refunded is never sent to the ERP or
ShipStation (`orders.intake.accept`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pycountry
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api_errors import ErrorSerializer
from core.api_errors import error_paths as error_paths  # CSV and manual entry read it here
from core.api_fields import SPACE, StrictCharField, decimal_schema, whole_number_schema
from orders.addresses import ShipTo, country_code
from orders.changes.versions import DONE_LIFECYCLES, store_lifecycle
from orders.intake.accept import IncomingLine, IncomingOrder
from orders.models import Order, OrderEvent, OrderLine

MAX_LINES = 500
MAX_STATUS_LENGTH = 50
CURRENCY_CODE = re.compile(r"\A[A-Za-z]{3}\Z")
COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)


def status_field(help_text: str) -> StrictCharField:
    return StrictCharField(
        max_length=MAX_STATUS_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text=help_text,
    )


def optional_text(max_length: int) -> StrictCharField:
    return StrictCharField(max_length=max_length, required=False, allow_blank=True, default="")


@extend_schema_field(
    {
        "type": "string",
        "enum": COUNTRY_CODES,
        "description": "ISO 3166-1 alpha-2 code, e.g. US or DE (lower case is taken too).",
    }
)
class CountryField(StrictCharField):
    pass


@extend_schema_field(
    {
        "type": "string",
        # "" is the blank branch drf-spectacular adds; only spaces are taken as blank too.
        "pattern": rf"^([{SPACE}]*[A-Za-z]{{3}}[{SPACE}]*|[{SPACE}]+)$",
        "description": "ISO 4217 code, e.g. USD (lower case is taken too); empty: the tenant's.",
    }
)
class CurrencyField(StrictCharField):
    pass


@extend_schema_field(
    whole_number_schema(digits=9, places=3, description="Units ordered, a whole number above 0.")
)
class QuantityField(serializers.DecimalField):
    pass


@extend_schema_field(
    decimal_schema(whole_digits=10, places=4, description="Price of one unit, at least 0.")
)
class UnitPriceField(serializers.DecimalField):
    pass


class ShipToSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    company = optional_text(200)
    street1 = StrictCharField(max_length=200)
    street2 = optional_text(200)
    city = StrictCharField(max_length=100)
    state = optional_text(100)
    postal_code = StrictCharField(max_length=20)
    country = CountryField(help_text="ISO 3166-1 alpha-2 code, e.g. US or DE.")
    phone = optional_text(50)

    def validate_country(self, value: str) -> str:
        code = country_code(value) if len(value.strip()) == 2 else None
        if code is None:
            raise serializers.ValidationError(
                f"'{value}' is not an ISO 3166-1 alpha-2 country code (e.g. US, DE)."
            )
        return code


class OrderLineInputSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=128)
    name = optional_text(300)
    quantity = QuantityField(max_digits=12, decimal_places=3)
    unit_price = UnitPriceField(max_digits=14, decimal_places=4, min_value=Decimal("0"))

    def validate_quantity(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        if value != value.to_integral_value():
            raise serializers.ValidationError("Must be a whole number (ShipStation ships units).")
        return value


class OrderInputSerializer(serializers.Serializer):
    """An order placed by a person or a program, without a store behind it."""

    order_number = StrictCharField(
        max_length=100, help_text="Your order number; unique among API and CSV orders."
    )
    ordered_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="ISO 8601, e.g. 2025-03-01T14:30:00Z.",
    )
    email = serializers.EmailField(max_length=254)
    currency = CurrencyField(
        required=False, allow_blank=True, default="", help_text="ISO 4217 code, e.g. USD."
    )
    ship_to = ShipToSerializer()
    lines = serializers.ListField(
        child=OrderLineInputSerializer(), allow_empty=False, min_length=1, max_length=MAX_LINES
    )
    store_status = status_field(
        "Optional: the order's status where it comes from. An order that arrives already "
        "cancelled, refunded or completed is never sent to the ERP or ShipStation: the tenant "
        "keeps it as history only (state `history`) or skips it."
    )
    financial_status = status_field("Optional: e.g. paid, pending, refunded, voided.")
    fulfillment_status = status_field("Optional: e.g. unfulfilled, partial, fulfilled.")

    def validate_currency(self, value: str) -> str:
        code = value.strip()
        if code and not CURRENCY_CODE.match(code):
            raise serializers.ValidationError("Use a three-letter ISO 4217 code, e.g. USD.")
        return code.upper()

    def to_incoming(
        self, *, source: str, payload: dict[str, Any], idempotency_key: str | None = None
    ) -> IncomingOrder:
        """The validated order in the form intake accepts from every source."""
        data = self.validated_data
        return IncomingOrder(
            source=source,
            store_order_id=data["order_number"],
            order_number=data["order_number"],
            ordered_at=data["ordered_at"],
            email=data["email"],
            currency=data["currency"],
            ship_to=ShipTo(**data["ship_to"]),
            lines=tuple(IncomingLine(**line) for line in data["lines"]),
            payload=payload,
            idempotency_key=idempotency_key,
        )

    def lifecycle(self) -> str:
        """Where the validated order already is: open, or fulfilled, cancelled, refunded."""
        data = self.validated_data
        return store_lifecycle(
            data["store_status"], data["financial_status"], data["fulfillment_status"]
        )


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["line_number", "sku", "name", "quantity", "unit_price", "erp_item_number"]


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["created_at", "step", "outcome", "message", "upstream_ref", "actor"]


class OrderLinksSerializer(serializers.Serializer):
    self = serializers.URLField(help_text="This order in the API.")
    portal = serializers.URLField(help_text="This order in the tenant portal.")


class OrderSerializer(serializers.ModelSerializer):
    """An order as the hub sees it: where it is in the pipeline and the ids it got upstream."""

    email = serializers.EmailField(source="customer_email")
    ship_to = ShipToSerializer()
    lines = OrderLineSerializer(many=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "order_number",
            "source",
            "state",
            "state_message",
            "ordered_at",
            "email",
            "currency",
            "ship_to",
            "lines",
            "erp_order_number",
            "shipstation_order_id",
            "created_at",
            "updated_at",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(OrderLinksSerializer)
    def get_links(self, order: Order) -> dict[str, str]:
        request = self.context["request"]
        return {
            "self": request.build_absolute_uri(reverse("api-order-detail", args=[order.pk])),
            "portal": request.build_absolute_uri(
                reverse("tenant_admin:orders_order_change", args=[order.pk])
            ),
        }


class OrderDetailSerializer(OrderSerializer):
    """An order with its timeline, oldest step first."""

    events = OrderEventSerializer(many=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "events"]
        read_only_fields = fields


class ProblemSerializer(ErrorSerializer):
    """Why a request was refused, naming the order it collided with when there is one."""

    order_id = serializers.IntegerField(required=False)
    order_number = serializers.CharField(required=False)


class SkippedOrderSerializer(serializers.Serializer):
    """An order that arrived already done where the tenant skips such orders: nothing created."""

    detail = serializers.CharField()
    skipped = serializers.BooleanField(help_text="Always true: no order was created.")
    order_number = serializers.CharField()
    arrived = serializers.ChoiceField(
        choices=DONE_LIFECYCLES, help_text="How the order was already done when it arrived."
    )


class OrderQuerySerializer(serializers.Serializer):
    """The list's query parameters, checked before the orders are read (400 naming each)."""

    state = serializers.ChoiceField(
        choices=Order.State.choices,
        required=False,
        help_text="Only orders in this state.",
        error_messages={"invalid_choice": f"Use one of: {', '.join(Order.State.values)}."},
    )
    order_number = StrictCharField(
        max_length=100, required=False, help_text="Only the order with this number."
    )
    page = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Page number, from 1. A page past the last one is a 404.",
    )
    page_size = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text="Orders per page (50 unless given)."
    )
