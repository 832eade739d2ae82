"""`POST /api/v1/orders/<id>/invoice`: generate invoice through the API.

It lives here rather than in `orders.intake.api` because orders may not import invoicing
(layers); the tenant URL conf routes it next to the other order endpoints.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ErrorSerializer, error_body
from invoicing.models import Invoice
from invoicing.services import generate_invoice
from orders.models import Order


class CanGenerateInvoice(BasePermission):
    """The token's user holds the Finance permission (Finance or Tenant admin role)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("invoicing.generate_invoice"))


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["erp_invoice_number", "year", "invoice_date", "due_date", "amount",
                  "remaining_amount", "currency", "paid_at"]  # fmt: skip


def generated_fields() -> dict[str, serializers.Field]:
    return {
        "order_id": serializers.IntegerField(),
        "order_state": serializers.ChoiceField(choices=Order.State.choices),
        "detail": serializers.CharField(help_text="What the ERP did or why it cannot yet."),
        "invoices": InvoiceSerializer(many=True),
    }


GeneratedSerializer = inline_serializer("GeneratedInvoice", generated_fields())
NotYetSerializer = inline_serializer(
    "InvoiceNotYet",
    {
        **generated_fields(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Empty: the order is fine, the ERP cannot invoice it yet.",
        ),
    },
)
EXAMPLES = [
    OpenApiExample(
        "Invoiced",
        response_only=True,
        status_codes=["200"],
        value={
            "order_id": 17,
            "order_state": "invoiced",
            "detail": "ERP invoice 1000123.",
            "invoices": [
                {
                    "erp_invoice_number": "1000123",
                    "year": 2025,
                    "invoice_date": "2025-03-04",
                    "due_date": "2025-04-03",
                    "amount": "44.48",
                    "remaining_amount": "0.00",
                    "currency": "USD",
                    "paid_at": "2025-03-05T09:12:00Z",
                }
            ],
        },
    ),
    OpenApiExample(
        "Not in the ERP yet",
        response_only=True,
        status_codes=["409"],
        value={
            "order_id": 17,
            "order_state": "routed",
            "detail": "The order is not in the ERP yet.",
            "invoices": [],
            "errors": {},
        },
    ),
    OpenApiExample(
        "Not a Finance token",
        response_only=True,
        status_codes=["403"],
        value={"detail": "You do not have permission to perform this action.", "errors": {}},
    ),
    OpenApiExample(
        "No such order",
        response_only=True,
        status_codes=["404"],
        value={"detail": "No such order.", "errors": {}},
    ),
]


class OrderInvoiceView(APIView):
    permission_classes = [CanGenerateInvoice]

    @extend_schema(
        operation_id="orders_generate_invoice",
        summary="Generate invoice",
        description="Asks the ERP to invoice what is ready for this order (deliveries held "
        "for approval are approved; M3 makes the invoice) and records the ERP invoices. "
        "Needs a token of a user with the Finance role.",
        tags=["orders"],
        request=None,
        examples=EXAMPLES,
        responses={
            200: OpenApiResponse(GeneratedSerializer, "The ERP invoiced or is invoicing."),
            403: OpenApiResponse(ErrorSerializer, "The token's user may not invoice."),
            404: OpenApiResponse(ErrorSerializer, "No such order."),
            409: OpenApiResponse(
                NotYetSerializer,
                "The ERP cannot invoice yet (its words); the error body with the order's state.",
            ),
        },
    )
    def post(self, request: Request, pk: int, *args: Any, **kwargs: Any) -> Response:
        order = Order.objects.filter(pk=pk).first()
        if order is None:
            raise NotFound("No such order.")
        outcome = generate_invoice(order, f"{request.user.get_username()} (API)")
        order.refresh_from_db(fields=["state"])
        invoices = order.invoices.order_by("year", "erp_invoice_number")
        body = {
            "order_id": order.pk,
            "order_state": order.state,
            "detail": outcome.message,
            "invoices": InvoiceSerializer(invoices, many=True).data,
        }
        if outcome.ok:
            return Response(body)
        return Response(error_body(**body), status=status.HTTP_409_CONFLICT)
