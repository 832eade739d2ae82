"""The item master (`MMS200MI/GetItmBasic`), read for many items in bulk calls."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.errors import M3TransactionError, UpstreamError
from connectors.m3.base import M3Base, is_no_such_record
from connectors.m3.records import M3Item


class ItemsMixin(M3Base):
    """Which item numbers M3 knows."""

    def each_item(self, item_numbers: Iterable[str]) -> dict[str, M3Item | UpstreamError | None]:
        """`MMS200MI/GetItmBasic` for many items, `BULK_READS` to a bulk call: each item, None
        when M3 has no such item, or the error M3 gave for it (refused otherwise, or not
        processed: ask again later)."""
        found: dict[str, M3Item | UpstreamError | None] = {}
        for number, answer in self.list_for_each(
            "MMS200MI", "GetItmBasic", "ITNO", item_numbers
        ).items():
            if isinstance(answer, M3TransactionError) and is_no_such_record(answer, "ITNO"):
                found[number] = None
            elif isinstance(answer, UpstreamError):
                found[number] = answer
            else:
                found[number] = M3Item.from_record(answer[0]) if answer else None
        return found
