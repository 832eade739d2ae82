"""The account (supported platforms, connecting a store) and the connected cart's info."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors._http import drop_empty
from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.values import _list, _obj, _one, _str


@dataclass(frozen=True)
class StoreInfo:
    store_id: str
    name: str
    currency: str
    timezone: str
    default_warehouse_id: str
    carriers: tuple[tuple[str, str], ...]
    """(carrier id, name) pairs usable as `carrier_id` in shipments."""


@dataclass(frozen=True)
class CartInfo:
    name: str
    url: str
    version: str
    stores: tuple[StoreInfo, ...]
    warehouse_ids: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CartInfo:
        stores = tuple(
            StoreInfo(
                store_id=_str(_one(s.get("store_id"))),
                name=_str(s.get("name")),
                currency=_str(_obj(s.get("currency")).get("iso3")),
                timezone=_str(s.get("timezone")),
                default_warehouse_id=_str(s.get("default_warehouse_id")),
                carriers=tuple(
                    (_str(c.get("id")), _str(c.get("name")))
                    for c in (_obj(row) for row in _list(s.get("carrier_info")))
                ),
            )
            for s in _store_infos(data.get("stores_info"))
        )
        return cls(
            name=_str(data.get("name")),
            url=_str(data.get("url")),
            version=_str(data.get("version")),
            stores=stores,
            warehouse_ids=tuple(
                _str(w.get("id")) for w in (_obj(row) for row in _list(data.get("warehouses")))
            ),
            raw=dict(data),
        )


def _store_infos(value: Any) -> list[Mapping[str, Any]]:
    """`stores_info` as SPEC lists it, or wrapped as `[{store_info: [...]}]` (§7.15)."""
    infos: list[Mapping[str, Any]] = []
    for entry in _list(value):
        entry = _obj(entry)
        if "store_info" in entry and "store_id" not in entry:
            infos.extend(_obj(inner) for inner in _list(entry["store_info"]))
        elif entry:
            infos.append(entry)
    return infos


@dataclass(frozen=True)
class SupportedPlatform:
    cart_id: str
    cart_name: str
    required: tuple[tuple[str, ...], ...]
    """Alternative sets of required parameter names (any one set suffices)."""
    additional: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SupportedPlatform:
        params = data.get("params") or {}
        return cls(
            cart_id=_str(data.get("cart_id")),
            cart_name=_str(data.get("cart_name")),
            required=tuple(
                tuple(_str(p.get("name")) for p in option)
                for option in params.get("required") or []
            ),
            additional=tuple(_str(p.get("name")) for p in params.get("additional") or []),
        )


class CartsMixin(Api2CartBase):
    """The account's platforms and stores, and the connected store's cart."""

    # Account

    def supported_platforms(self) -> list[SupportedPlatform]:
        result = self._call("GET", "account.supported_platforms", store=False)
        return [SupportedPlatform.from_api(p) for p in result.get("supported_platforms") or []]

    def add_store(
        self,
        cart_id: str,
        store_url: str,
        credentials: Mapping[str, Any],
        *,
        verify: bool = True,
        idempotency_key: str | None = None,
    ) -> str:
        """`account.cart.add`: connect a store; returns the new store key."""
        body = drop_empty(
            {
                "cart_id": cart_id,
                "store_url": store_url,
                **credentials,
                "verify": verify,
                "idempotency_key": idempotency_key,
            }
        )
        result = self._call("POST", "account.cart.add", json=body, store=False)
        return _str(result.get("store_key"))

    # Store

    def cart_info(self) -> CartInfo:
        return CartInfo.from_api(self._call("GET", "cart.info", params={"params": FORCE_ALL}))

    def validate(self) -> str:
        """`cart.validate`: clears API2Cart's cache for the store and checks the connection."""
        return _str(self._call("GET", "cart.validate").get("status"))
