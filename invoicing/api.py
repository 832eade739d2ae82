"""`POST /api/v1/orders/<id>/invoice`: generate invoice through the API.

It lives here rather than in `orders.intake.api` because orders may not import invoicing
(layers); the tenant URL conf routes it next to the other order endpoints.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from invoicing.models import Invoice
from invoicing.services import generate_invoice
from orders.intake.serializers import ProblemSerializer
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


GeneratedSerializer = inline_serializer(
    "GeneratedInvoice",
    {
        "order_id": serializers.IntegerField(),
        "order_state": serializers.CharField(),
        "detail": serializers.CharField(help_text="What the ERP did or why it cannot yet."),
        "invoices": InvoiceSerializer(many=True),
    },
)


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
        responses={
            200: OpenApiResponse(GeneratedSerializer, "The ERP invoiced or is invoicing."),
            401: OpenApiResponse(ProblemSerializer, "Missing or invalid token."),
            403: OpenApiResponse(ProblemSerializer, "The token's user may not invoice."),
            404: OpenApiResponse(ProblemSerializer, "No such order."),
            409: OpenApiResponse(GeneratedSerializer, "The ERP cannot invoice yet (its words)."),
        },
    )
    def post(self, request: Request, pk: int, *args: Any, **kwargs: Any) -> Response:
        order = Order.objects.filter(pk=pk).first()
        if order is None:
            return Response({"detail": "No such order."}, status=status.HTTP_404_NOT_FOUND)
        outcome = generate_invoice(order, f"{request.user.get_username()} (API)")
        order.refresh_from_db(fields=["state"])
        invoices = order.invoices.order_by("year", "erp_invoice_number")
        body = {
            "order_id": order.pk,
            "order_state": order.state,
            "detail": outcome.message,
            "invoices": InvoiceSerializer(invoices, many=True).data,
        }
        code = status.HTTP_200_OK if outcome.ok else status.HTTP_409_CONFLICT
        return Response(body, status=code)
