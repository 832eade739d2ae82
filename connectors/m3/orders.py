"""Customer orders (`OIS100MI`): batch orders in, confirmed; heads and lines read back."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.errors import NotFoundError, UpstreamError
from connectors.m3.base import M3Base, parsed_each
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
