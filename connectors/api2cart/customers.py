"""Store customers: `customer.list`, `customer.info` and `customer.find`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.records import Customer
from connectors.api2cart.values import flag_param
from connectors.errors import NotFoundError


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
            "include_guests": flag_param(include_guests),
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
