"""Shared makers for the order input tests: API tokens and a valid order body."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_tenants.utils import schema_context

from tenant_settings.models import ApiToken

VALID_ORDER: dict[str, Any] = {
    "order_number": "B2B-1001",
    "ordered_at": "2025-03-01T14:30:00Z",
    "email": "buyer@example.com",
    "currency": "usd",
    "ship_to": {
        "name": "Jane Doe",
        "company": "Example Corp",
        "street1": "1 Main St",
        "city": "Austin",
        "state": "TX",
        "postal_code": "78701",
        "country": "us",
    },
    "lines": [
        {"sku": "WIDGET-1", "name": "Widget", "quantity": "2", "unit_price": "9.99"},
        {"sku": "GADGET-7", "quantity": 1, "unit_price": 24.5},
    ],
}


def order_body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID_ORDER)
    body.update(changes)
    return body


def issue_token(schema: str, username: str | None = None, role: str | None = None) -> str:
    """A raw API token for the tenant admin, or for a new user with the given role."""
    with schema_context(schema):
        users = get_user_model().objects
        if role is None:
            user = users.get(username=username or f"ops@{schema}.test")
        else:
            user = users.create_user(username or f"{role.lower()}@{schema}.test", is_staff=True)
            user.groups.add(Group.objects.get(name=role))
        token = ApiToken(name="Test client", user=user)
        raw = token.issue()
        token.save()
        return raw


class ApiClient:
    """A program calling one tenant's API with a bearer token."""

    def __init__(self, host: str, token: str | None) -> None:
        self.client = Client()
        self.host = host
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def post(self, path: str, body: Any, key: str | None = None, raw: str | None = None):
        extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return self.client.post(
            path,
            raw if raw is not None else body,
            content_type="application/json",
            HTTP_HOST=self.host,
            **self.headers,
            **extra,
        )

    def get(self, path: str, **params: Any):
        return self.client.get(path, params, HTTP_HOST=self.host, **self.headers)
