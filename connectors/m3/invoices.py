"""Invoices of customer orders (`OIS350MI`), with the amount still to pay."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.errors import UpstreamError
from connectors.m3.base import M3Base, parsed_each
from connectors.m3.records import M3Invoice


class InvoicesMixin(M3Base):
    """The invoices of one order or of many."""

    def each_order_invoices(
        self, order_numbers: Iterable[str]
    ) -> dict[str, list[M3Invoice] | UpstreamError]:
        """`OIS350MI/LstAllInvByCO` of many orders, `BULK_READS` orders to a bulk call."""
        found = self.list_for_each("OIS350MI", "LstAllInvByCO", "ORNO", order_numbers)
        return parsed_each(found, M3Invoice.from_record)

    def order_invoices(self, order_number: str) -> list[M3Invoice]:
        """`OIS350MI/LstAllInvByCO`: invoices of an order with the amount still to pay."""
        records = self.execute("OIS350MI", "LstAllInvByCO", {"ORNO": order_number}, max_records=0)
        return [M3Invoice.from_record(r) for r in records]
