"""Customers (`CRS610MI`): read, look up by search key or query, add, add addresses; one at a
time, or many in one bulk call (one program per bulk POST: every customer transaction is
`CRS610MI`, so a batch's lookups, adds and addresses are a few calls, one after another)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from connectors.errors import M3TransactionError, RetryableError, UpstreamError
from connectors.m3.base import BULK_READS, M3Base, is_no_such_record
from connectors.m3.records import BulkResult, BulkTransaction, M3Address, M3Customer, NewM3Customer

SEARCH_KEY_ROWS = 50
"""Rows asked of a `LstBySearchKey` lookup: the exact matches come first, and the list runs on
through the rest of the customer table after them."""
SEARCH_ROWS = 20
"""Rows asked of a `SearchCustomer` query: the hub links a shopper only on a single match."""


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
        records = self.execute(
            "CRS610MI", "LstBySearchKey", {"ALCU": key}, max_records=SEARCH_KEY_ROWS
        )
        return [M3Customer.from_record(r) for r in records if r.get("ALCU") == key]

    def search_customers(self, query: str, *, max_records: int = SEARCH_ROWS) -> list[M3Customer]:
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

    def customers_by_search_keys(
        self, search_keys: Iterable[str]
    ) -> dict[str, list[M3Customer] | UpstreamError]:
        """`customers_by_search_key` for many keys, `BULK_READS` to a bulk call."""
        keys = [key[:10] for key in search_keys]
        answers = self.list_for_each(
            "CRS610MI", "LstBySearchKey", "ALCU", keys, max_records=SEARCH_KEY_ROWS
        )
        return {
            key: found
            if isinstance(found, UpstreamError)
            else [M3Customer.from_record(r) for r in found if r.get("ALCU") == key]
            for key, found in answers.items()
        }

    def search_customers_each(
        self, queries: Iterable[str]
    ) -> dict[str, list[M3Customer] | UpstreamError]:
        """`search_customers` for many queries, `BULK_READS` to a bulk call."""
        answers = self.list_for_each(
            "CRS610MI", "SearchCustomer", "SQRY", queries, max_records=SEARCH_ROWS
        )
        return {
            query: found
            if isinstance(found, UpstreamError)
            else [M3Customer.from_record(r) for r in found]
            for query, found in answers.items()
        }

    def add_customers(self, customers: Sequence[NewM3Customer]) -> list[str | UpstreamError]:
        """`CRS610MI/Add` for many customers in bulk calls: each one's new number, or its error
        (refused; or not processed by a run that stopped, which is retryable)."""
        sent = [BulkTransaction("Add", customer.to_fields()) for customer in customers]
        return [self._added(result) for result in self._bulk_in_chunks(sent)]

    def add_customer_addresses(
        self, addresses: Sequence[tuple[str, M3Address]]
    ) -> list[UpstreamError | None]:
        """`CRS610MI/AddAddress` for many (customer number, address) in bulk calls."""
        sent = [
            BulkTransaction("AddAddress", {"CUNO": number, **address.to_fields()})
            for number, address in addresses
        ]
        return [self._bulk_error(result) for result in self._bulk_in_chunks(sent)]

    def _bulk_in_chunks(self, sent: list[BulkTransaction]) -> list[BulkResult]:
        results: list[BulkResult] = []
        for start in range(0, len(sent), BULK_READS):
            results += self.execute_bulk("CRS610MI", sent[start : start + BULK_READS])
        return results

    def _added(self, result: BulkResult) -> str | UpstreamError:
        if error := self._bulk_error(result):
            return error
        number = (result.records[0] if result.records else {}).get("CUNO", "")
        if not number:
            return M3TransactionError(
                "M3 created no customer number",
                program="CRS610MI",
                transaction="Add",
                upstream=self.upstream,
            )
        return number

    def _bulk_error(self, result: BulkResult) -> UpstreamError | None:
        if not result.processed:
            return RetryableError(
                f"CRS610MI/{result.transaction} was not processed by M3", upstream=self.upstream
            )
        return result.error
