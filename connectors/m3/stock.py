"""Warehouse stock balances (`OIS100MI/LstNewBalances`), changed since a moment or all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from connectors.m3.base import M3Base
from connectors.m3.records import M3Balance


class StockMixin(M3Base):
    """Stock balances for the catalog sync."""

    def new_balances(self, since: datetime, *, max_records: int = 0) -> list[M3Balance]:
        """`OIS100MI/LstNewBalances`: warehouse stock changed since `since` (`LMTS`)."""
        fields = {"LMTS": self.lmts(since)}
        records = self.execute("OIS100MI", "LstNewBalances", fields, max_records=max_records)
        return [M3Balance.from_record(r) for r in records]

    def changed_balances(self, since: datetime) -> Iterator[M3Balance]:
        """`OIS100MI/LstNewBalances` since `since`, read as a stream."""
        for record in self.stream("OIS100MI", "LstNewBalances", {"LMTS": self.lmts(since)}):
            yield M3Balance.from_record(record)

    def all_balances(self) -> Iterator[M3Balance]:
        """Every warehouse balance, read as a stream.

        `LstWarehBalance` needs an item number, one call per item; `LstNewBalances` from the
        first possible `LMTS` lists every balance row in one call instead.
        """
        yield from self.changed_balances(datetime(1970, 1, 1, tzinfo=UTC))
