"""Customers (`CRS610MI`): read, look up by search key or query, add, add addresses."""

from __future__ import annotations

from connectors.errors import M3TransactionError
from connectors.m3.base import M3Base, is_no_such_record
from connectors.m3.records import M3Address, M3Customer, NewM3Customer


class CustomersMixin(M3Base):
    """The tenant's M3 customers."""

    def get_customer(self, customer_number: str) -> M3Customer | None:
        """`CRS610MI/GetBasicData`; None when M3 does not know the number."""
        try:
            record = self.execute_one("CRS610MI", "GetBasicData", {"CUNO": customer_number})
        except M3TransactionError as exc:
            if is_no_such_record(exc, "CUNO"):
                return None
            raise
        return M3Customer.from_record(record) if record else None

    def customers_by_search_key(self, search_key: str) -> list[M3Customer]:
        """`CRS610MI/LstBySearchKey` on `ALCU` (10 characters): our external-reference lookup.

        M3 list transactions start *at* the key and run on, so only exact matches are kept.
        """
        key = search_key[:10]
        records = self.execute("CRS610MI", "LstBySearchKey", {"ALCU": key}, max_records=50)
        return [M3Customer.from_record(r) for r in records if r.get("ALCU") == key]

    def search_customers(self, query: str, *, max_records: int = 20) -> list[M3Customer]:
        """`CRS610MI/SearchCustomer` with a search-engine query such as `MAIL:a@b.example`."""
        records = self.execute(
            "CRS610MI", "SearchCustomer", {"SQRY": query}, max_records=max_records
        )
        return [M3Customer.from_record(r) for r in records]

    def add_customer(self, customer: NewM3Customer) -> str:
        """`CRS610MI/Add` from a template customer; returns the new customer number."""
        record = self.execute_one("CRS610MI", "Add", customer.to_fields())
        number = (record or {}).get("CUNO", "")
        if not number:
            raise M3TransactionError(
                "M3 created no customer number",
                program="CRS610MI",
                transaction="Add",
                upstream=self.upstream,
            )
        return number

    def add_customer_address(self, customer_number: str, address: M3Address) -> None:
        """`CRS610MI/AddAddress` for a delivery address."""
        self.execute("CRS610MI", "AddAddress", {"CUNO": customer_number, **address.to_fields()})
