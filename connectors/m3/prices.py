"""Sales prices (`OIS320MI`): changed since a moment, or one price list, read as streams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from connectors.m3.base import M3Base
from connectors.m3.records import M3Price


class PricesMixin(M3Base):
    """Price lines for the catalog sync."""

    def new_prices(self, since: datetime, *, max_records: int = 0) -> list[M3Price]:
        """`OIS320MI/LstNewPrices`: price lines new or changed since `since` (`LMTS`)."""
        fields = {"LMTS": self.lmts(since)}
        records = self.execute("OIS320MI", "LstNewPrices", fields, max_records=max_records)
        return [M3Price.from_record(r) for r in records]

    def changed_prices(self, since: datetime) -> Iterator[M3Price]:
        """`OIS320MI/LstNewPrices` since `since`, read as a stream (a mass change can be big)."""
        for record in self.stream("OIS320MI", "LstNewPrices", {"LMTS": self.lmts(since)}):
            yield M3Price.from_record(record)

    def list_prices(self, price_list: str, currency: str) -> Iterator[M3Price]:
        """`OIS320MI/LstListPrices`: every price line of one list, read as a stream."""
        fields = {"PRRF": price_list, "CUCD": currency}
        for record in self.stream("OIS320MI", "LstListPrices", fields):
            yield M3Price.from_record(record)
