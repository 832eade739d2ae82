"""Store customers: `customer.list`, `customer.info` and `customer.find`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.values import _flag, _str, parse_a2c_datetime
from connectors.errors import NotFoundError


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


class CustomersMixin(Api2CartBase):
    """Reading and finding the store's customers."""

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
