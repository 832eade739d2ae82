"""The account (supported platforms, connecting a store) and the connected cart's info."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors._http import drop_empty
from connectors.api2cart.base import FORCE_ALL, Api2CartBase
from connectors.api2cart.records import CartInfo, SupportedPlatform
from connectors.api2cart.values import text


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
        return text(result.get("store_key"))

    # Store

    def cart_info(self) -> CartInfo:
        return CartInfo.from_api(self._call("GET", "cart.info", params={"params": FORCE_ALL}))

    def validate(self) -> str:
        """`cart.validate`: clears API2Cart's cache for the store and checks the connection."""
        return text(self._call("GET", "cart.validate").get("status"))
