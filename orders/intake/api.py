"""The order API: programs place orders and follow them through the pipeline.

Every query runs in the caller's tenant schema, so an order of another tenant is simply absent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import ErrorSerializer, error_body, error_paths, invalid_fields
from core.parsers import SafeJSONParser
from orders.changes.versions import OPEN
from orders.intake.accept import IncomingOrder, accept_order, done_orders_policy
from orders.intake.serializers import (
    OrderDetailSerializer,
    OrderInputSerializer,
    OrderQuerySerializer,
    OrderSerializer,
    ProblemSerializer,
    SkippedOrderSerializer,
)
from orders.models import Order
from tenants.activity import record_activity

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200


class OrderPermissions(DjangoModelPermissions):
    """Reading needs the view permission too, not just a valid token (Viewers may read)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class OrderPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def request_hash(data: Any) -> str:
    """The same JSON document always hashes the same, whatever its key order or spacing."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def manual_order_numbered(order_number: str) -> Order | None:
    """An order entered through the API, a CSV file or by hand; one namespace for their numbers."""
    return Order.objects.filter(store__isnull=True, order_number=order_number).first()


def problem(detail: str, code: int, order: Order | None = None) -> Response:
    extra = {} if order is None else {"order_id": order.pk, "order_number": order.order_number}
    return Response(error_body(detail, **extra), status=code)


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": r"^[^\u0000]*$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string up to 200 characters (a UUID is fine). Repeating a request with the "
        "same key and body returns the order created the first time (200, "
        f"`{REPLAYED_HEADER}: true`); the same key with a different body is refused with 422."
    ),
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="`true` when the response repeats an earlier request with the same key.",
)
ORDER_EXAMPLE = OpenApiExample(
    "Two-line order",
    request_only=True,
    value={
        "order_number": "B2B-10042",
        "ordered_at": "2025-03-01T14:30:00Z",
        "email": "buyer@example.com",
        "currency": "USD",
        "ship_to": {
            "name": "Jane Doe",
            "company": "Example Corp",
            "street1": "1 Main St",
            "street2": "Suite 200",
            "city": "Austin",
            "state": "TX",
            "postal_code": "78701",
            "country": "US",
            "phone": "+1 512 555 0100",
        },
        "lines": [
            {"sku": "WIDGET-1", "name": "Widget", "quantity": "2", "unit_price": "9.99"},
            {"sku": "GADGET-7", "name": "Gadget", "quantity": "1", "unit_price": "24.50"},
        ],
    },
)
VALIDATION_EXAMPLE = OpenApiExample(
    "Invalid line",
    response_only=True,
    status_codes=["400"],
    value={
        "detail": "The order has 1 invalid field.",
        "errors": {"lines[1].quantity": ["Must be greater than 0."]},
    },
)
SKIPPED_EXAMPLE = OpenApiExample(
    "Order skipped as already done",
    response_only=True,
    status_codes=["200"],
    value={
        "detail": "Order B2B-10042 arrived already cancelled; this tenant skips such orders, so "
        "nothing was created.",
        "skipped": True,
        "order_number": "B2B-10042",
        "arrived": "cancelled",
    },
)
REPLAY_OR_SKIPPED = PolymorphicProxySerializer(
    component_name="OrderReplayedOrSkipped",
    serializers=[OrderDetailSerializer, SkippedOrderSerializer],
    resource_type_field_name=None,
)
CONFLICT_EXAMPLE = OpenApiExample(
    "Order number taken",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "Order B2B-10042 already exists (id 17).",
        "errors": {},
        "order_id": 17,
        "order_number": "B2B-10042",
    },
)
KEY_REUSED_EXAMPLE = OpenApiExample(
    "Idempotency key used for another body",
    response_only=True,
    status_codes=["422"],
    value={
        "detail": "Idempotency-Key 'key-1' was already used for order B2B-10042 (id 17) with a "
        "different request body; use a new key for a new order.",
        "errors": {},
        "order_id": 17,
        "order_number": "B2B-10042",
    },
)
NO_ADD_EXAMPLE = OpenApiExample(
    "Viewer token",
    response_only=True,
    status_codes=["403"],
    value={"detail": "You do not have permission to perform this action.", "errors": {}},
)
BAD_FILTER_EXAMPLE = OpenApiExample(
    "Unknown state",
    response_only=True,
    status_codes=["400"],
    value={
        "detail": "The request has 1 invalid field.",
        "errors": {"state": [f"Use one of: {', '.join(Order.State.values)}."]},
    },
)
PAST_THE_LAST_PAGE_EXAMPLE = OpenApiExample(
    "Page past the last one",
    response_only=True,
    status_codes=["404"],
    value={"detail": "Invalid page.", "errors": {}},
)
NO_SUCH_ORDER_EXAMPLE = OpenApiExample(
    "No such order",
    response_only=True,
    status_codes=["404"],
    value={"detail": "No Order matches the given query.", "errors": {}},
)


@extend_schema_view(
    get=extend_schema(
        summary="List orders",
        tags=["orders"],
        parameters=[OrderQuerySerializer],
        responses={
            200: OrderSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, "A query parameter is invalid."),
            404: OpenApiResponse(ErrorSerializer, "The page is past the last one."),
            403: OpenApiResponse(ErrorSerializer, "The token's user may not read orders."),
        },
        examples=[BAD_FILTER_EXAMPLE, PAST_THE_LAST_PAGE_EXAMPLE, NO_ADD_EXAMPLE],
    ),
)
class OrderListCreateView(generics.ListCreateAPIView):
    """Orders of the caller's tenant, newest first; POST places a new one."""

    permission_classes = [OrderPermissions]
    parser_classes = [SafeJSONParser]
    serializer_class = OrderSerializer
    pagination_class = OrderPagination

    def get_queryset(self) -> QuerySet[Order]:
        return Order.objects.prefetch_related("lines")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Query parameters are checked after the permission check, so a bad one never hides
        a 403, and before any order is read."""
        self.query = OrderQuerySerializer(data=request.query_params.dict())
        self.query.is_valid(raise_exception=True)
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        wanted = self.query.validated_data
        if "state" in wanted:
            orders = orders.filter(state=wanted["state"])
        if "order_number" in wanted:
            orders = orders.filter(order_number=wanted["order_number"])
        return orders

    @extend_schema(
        summary="Place an order",
        tags=["orders"],
        request=OrderInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER],
        responses={
            201: OpenApiResponse(
                OrderDetailSerializer,
                "Order accepted: queued, or (state `history`) kept as history only because it "
                "arrived already fulfilled, cancelled or refunded and the tenant keeps such "
                "orders; a history order is never sent to the ERP or ShipStation.",
            ),
            200: OpenApiResponse(
                REPLAY_OR_SKIPPED,
                "Replay of an earlier request (the order), or an order that arrived already "
                "fulfilled, cancelled or refunded where the tenant skips such orders: nothing "
                "was created (`skipped: true`).",
            ),
            400: OpenApiResponse(ErrorSerializer, "Invalid order or JSON."),
            403: OpenApiResponse(ErrorSerializer, "The token's user may not add orders."),
            409: OpenApiResponse(ProblemSerializer, "An order with this number exists."),
            422: OpenApiResponse(ProblemSerializer, "Idempotency key used for another body."),
        },
        examples=[
            ORDER_EXAMPLE,
            VALIDATION_EXAMPLE,
            SKIPPED_EXAMPLE,
            CONFLICT_EXAMPLE,
            KEY_REUSED_EXAMPLE,
            NO_ADD_EXAMPLE,
        ],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or None
        if key and len(key) > MAX_KEY_LENGTH:
            message = f"{IDEMPOTENCY_HEADER} is longer than {MAX_KEY_LENGTH} characters."
            return problem(message, status.HTTP_400_BAD_REQUEST)
        body_hash = request_hash(request.data)
        if key and (earlier := Order.objects.filter(idempotency_key=key).first()):
            return self.repeat(earlier, key, body_hash)

        serializer = OrderInputSerializer(data=request.data)
        if not serializer.is_valid():
            errors = error_paths(serializer.errors)
            return Response(
                error_body(invalid_fields(errors, "order"), errors),
                status=status.HTTP_400_BAD_REQUEST,
            )
        if taken := manual_order_numbered(serializer.validated_data["order_number"]):
            return self.number_taken(taken)

        incoming = serializer.to_incoming(
            source=Order.Source.API, payload=request.data, idempotency_key=key
        )
        arrived = serializer.lifecycle()
        if arrived != OPEN:
            incoming = incoming.with_arrival(arrived, done_orders_policy())
        with transaction.atomic():
            order, created = accept_order(incoming, actor=self.actor())
            if created:
                Order.objects.filter(pk=order.pk).update(request_hash=body_hash)
        if order is None:
            return self.skipped(incoming, request)
        if not created:
            if key and order.idempotency_key == key:
                return self.repeat(order, key, body_hash)
            return self.number_taken(order)

        record_activity(
            "order.api_accepted",
            actor=self.actor(),
            obj=order,
            message=f"Order {order.order_number} placed through the API with "
            f"{len(incoming.lines)} line(s).",
            request=request._request,
        )
        return Response(self.detail(order), status=status.HTTP_201_CREATED)

    def repeat(self, order: Order, key: str, body_hash: str) -> Response:
        if order.request_hash != body_hash:
            return problem(
                f"{IDEMPOTENCY_HEADER} '{key}' was already used for order {order.order_number} "
                f"(id {order.pk}) with a different request body; use a new key for a new order.",
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                order,
            )
        return Response(self.detail(order), headers={REPLAYED_HEADER: "true"})

    def skipped(self, incoming: IncomingOrder, request: Request) -> Response:
        """The order arrived already done and the tenant skips such orders: 200, nothing kept."""
        detail = (
            f"Order {incoming.order_number} arrived already {incoming.arrived_done}; this tenant "
            "skips such orders, so nothing was created."
        )
        record_activity(
            "order.api_skipped",
            actor=self.actor(),
            object_type="orders.Order",
            object_repr=incoming.order_number,
            message=detail,
            request=request._request,
        )
        body = SkippedOrderSerializer(
            {
                "detail": detail,
                "skipped": True,
                "order_number": incoming.order_number,
                "arrived": incoming.arrived_done,
            }
        ).data
        return Response(body, status=status.HTTP_200_OK)

    def number_taken(self, order: Order) -> Response:
        return problem(
            f"Order {order.order_number} already exists (id {order.pk}).",
            status.HTTP_409_CONFLICT,
            order,
        )

    def detail(self, order: Order) -> dict[str, Any]:
        fresh = Order.objects.prefetch_related("lines", "events").get(pk=order.pk)
        return OrderDetailSerializer(fresh, context=self.get_serializer_context()).data

    def actor(self) -> str:
        token = self.request.auth
        username = self.request.user.get_username()
        prefix = getattr(token, "key_prefix", "")
        return f"{username} (token {prefix})" if prefix else username


@extend_schema_view(
    get=extend_schema(
        summary="Show an order with its timeline",
        tags=["orders"],
        responses={
            200: OrderDetailSerializer,
            403: OpenApiResponse(ErrorSerializer, "The token's user may not read orders."),
            404: OpenApiResponse(ErrorSerializer, "No such order in this tenant."),
        },
        examples=[NO_SUCH_ORDER_EXAMPLE, NO_ADD_EXAMPLE],
    )
)
class OrderDetailView(generics.RetrieveAPIView):
    """One order: its state, ERP order number, ShipStation order id and timeline."""

    permission_classes = [OrderPermissions]
    serializer_class = OrderDetailSerializer
    queryset = Order.objects.prefetch_related("lines", "events")
