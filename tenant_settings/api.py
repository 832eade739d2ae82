"""API endpoints about the caller itself."""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class WhoAmIView(APIView):
    """Lets an API client check its token: which tenant and user it acts as."""

    @extend_schema(
        summary="Check the token",
        tags=["token"],
        responses=inline_serializer(
            "WhoAmI",
            {
                "tenant": serializers.CharField(),
                "user": serializers.CharField(),
                "token": serializers.CharField(allow_null=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        token = request.auth
        return Response(
            {
                "tenant": connection.tenant.slug,
                "user": request.user.get_username(),
                "token": getattr(token, "name", None),
            }
        )
