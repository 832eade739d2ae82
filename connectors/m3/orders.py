"""Customer orders (`OIS100MI`): batch orders in, confirmed; heads and lines read back."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.errors import NotFoundError, RetryableError, UpstreamError
from connectors.m3.base import BULK_READS, M3Base, is_no_such_record, parsed_each
from connectors.m3.records import (
    BulkResult,
    BulkTransaction,
    M3Address,
    M3OrderHead,
    M3OrderLine,
    NewM3OrderHead,
    NewM3OrderLine,
)
from connectors.m3.values import Record


class OrdersMixin(M3Base):
    """Creating customer orders through batch orders, and reading them."""

    def add_batch_head(self, head: NewM3OrderHead) -> str:
        """`OIS100MI/AddBatchHead`; returns the *temporary* order number."""
        record = self.execute_one("OIS100MI", "AddBatchHead", head.to_fields())
        return (record or {}).get("ORNO", "")

    def add_batch_address(self, temporary_order: str, address: M3Address) -> None:
        self.execute(
            "OIS100MI", "AddBatchAddress", {"ORNO": temporary_order, **address.to_fields()}
        )

    def add_batch_lines(
        self, temporary_order: str, lines: Iterable[NewM3OrderLine]
    ) -> list[BulkResult]:
        """All `OIS100MI/AddBatchLine` calls of an order in one bulk request."""
        transactions = [
            BulkTransaction("AddBatchLine", {"ORNO": temporary_order, **line.to_fields()})
            for line in lines
        ]
        return self.execute_bulk("OIS100MI", transactions)

    def confirm_order(self, temporary_order: str) -> str:
        """`OIS100MI/Confirm`: turns the batch order into a real one; returns its number."""
        record = self.execute_one("OIS100MI", "Confirm", {"ORNO": temporary_order})
        return (record or {}).get("ORNO", "")

    def final_order_number(self, temporary_order: str) -> str | None:
        """`OIS100MI/GetOrderNo`: the real number behind a temporary one (after a crash)."""
        record = self.execute_one("OIS100MI", "GetOrderNo", {"ORNO": temporary_order})
        return (record or {}).get("ORNR") or None

    def batch_order_errors(self, temporary_order: str) -> list[Record]:
        """`OIS100MI/LstErrMsgOrder`: why a batch order would not confirm."""
        return self.execute("OIS100MI", "LstErrMsgOrder", {"ORNO": temporary_order}, max_records=0)

    def orders_for_customer(self, customer_number: str) -> list[M3OrderHead]:
        """`OIS100MI/LstHead`: used to find an existing order by `CUOR` (idempotency)."""
        records = self.execute("OIS100MI", "LstHead", {"CUNO": customer_number}, max_records=0)
        return [M3OrderHead.from_record(r) for r in records]

    def order_heads(self, order_numbers: Iterable[str]) -> dict[str, M3OrderHead | None]:
        """`OIS100MI/GetHead` of many orders, `BULK_READS` to a bulk call: each order's head,
        or None where M3 has no such order. Any other refusal, or a transaction M3 did not
        process, raises: a reconciliation must not take an unread order for a missing one."""
        heads: dict[str, M3OrderHead | None] = {}
        wanted = list(dict.fromkeys(order_numbers))
        for start in range(0, len(wanted), BULK_READS):
            chunk = wanted[start : start + BULK_READS]
            sent = [BulkTransaction("GetHead", {"ORNO": number}) for number in chunk]
            for number, result in zip(chunk, self.execute_bulk("OIS100MI", sent), strict=True):
                if result.ok and result.records:
                    heads[number] = M3OrderHead.from_record(result.records[0])
                elif result.refused and is_no_such_record(result.error, "ORNO"):
                    heads[number] = None
                elif result.refused:
                    raise result.error
                else:
                    raise RetryableError(
                        f"OIS100MI/GetHead for {number} was not processed by M3",
                        upstream=self.upstream,
                    )
        return heads

    def orders_of_customers(self, customer_numbers: Iterable[str]) -> dict[str, list[M3OrderHead]]:
        """`OIS100MI/LstHead` of many customers, `BULK_READS` to a bulk call (every order of
        each: the one way the contract offers to see two orders under one `CUOR`)."""
        found = self.list_for_each("OIS100MI", "LstHead", "CUNO", customer_numbers)
        listed: dict[str, list[M3OrderHead]] = {}
        for customer, records in found.items():
            if isinstance(records, UpstreamError):
                raise records
            listed[customer] = [M3OrderHead.from_record(r) for r in records]
        return listed

    def get_order_head(self, order_number: str) -> M3OrderHead:
        record = self.execute_one("OIS100MI", "GetHead", {"ORNO": order_number})
        if record is None:
            raise NotFoundError(f"M3 order {order_number} not found", upstream=self.upstream)
        return M3OrderHead.from_record(record)

    def each_order_lines(
        self, order_numbers: Iterable[str]
    ) -> dict[str, list[M3OrderLine] | UpstreamError]:
        """`OIS100MI/LstLine` of many orders, `BULK_READS` orders to a bulk call."""
        found = self.list_for_each("OIS100MI", "LstLine", "ORNO", order_numbers)
        return parsed_each(found, M3OrderLine.from_record)

    def order_lines(self, order_number: str) -> list[M3OrderLine]:
        records = self.execute("OIS100MI", "LstLine", {"ORNO": order_number}, max_records=0)
        return [M3OrderLine.from_record(r) for r in records]
