"""Stores: the account's selling channels (a manual store has marketplace 0)."""

from __future__ import annotations

from connectors.shipstation.base import ShipStationBase
from connectors.shipstation.records import Store


class StoresMixin(ShipStationBase):
    """The account's stores."""

    def list_stores(self, *, show_inactive: bool = False) -> list[Store]:
        params = {"showInactive": "true"} if show_inactive else {}
        return [Store.from_api(s) for s in self._call("GET", "stores", params=params) or []]
