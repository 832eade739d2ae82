"""Stores and marketplaces."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from sandbox import demo_data
from sandbox.core import SandboxRequest
from sandbox.shipstation.shared import Account, ApiError, QueryArgs, format_store_timestamp

MARKETPLACES = (
    {"name": "ShipStation", "marketplaceId": 0, "canRefresh": False},
    {"name": "WooCommerce", "marketplaceId": 36, "canRefresh": True},
)


class StoresMixin:
    """The `/stores` resource."""

    def _insert_store(
        self,
        conn: sqlite3.Connection,
        account: str,
        store_id: int,
        name: str,
        marketplace_id: int,
        created: datetime,
    ) -> None:
        marketplace = next(m for m in MARKETPLACES if m["marketplaceId"] == marketplace_id)
        store = {
            "storeId": store_id,
            "storeName": name,
            "marketplaceId": marketplace_id,
            "marketplaceName": marketplace["name"],
            "accountName": None,
            "email": None,
            "integrationUrl": None,
            "active": True,
            "companyName": next(
                (t.name for t in demo_data.TENANTS if t.slug == account),
                account.replace("-", " ").title(),
            ),
            "phone": "",
            "publicEmail": f"orders@{account}.example",
            "website": "",
            "refreshDate": format_store_timestamp(created),
            "lastRefreshAttempt": format_store_timestamp(created),
            "createDate": format_store_timestamp(created),
            "modifyDate": format_store_timestamp(created),
            "autoRefresh": marketplace_id != 0,
        }
        conn.execute(
            "INSERT INTO ss_stores (store_id, account, marketplace_id, data) VALUES (?, ?, ?, ?)",
            (store_id, account, marketplace_id, json.dumps(store)),
        )

    def _list_stores(self, req: SandboxRequest, account: Account) -> list:
        args = QueryArgs(req)
        where, params = ["account = ?"], [account.slug]
        if not args.flag("showInactive"):
            where.append("active = 1")
        if (marketplace_id := args.integer("marketplaceId")) is not None:
            where.append("marketplace_id = ?")
            params.append(marketplace_id)
        args.check()
        rows = self.db.query(
            f"SELECT data FROM ss_stores WHERE {' AND '.join(where)} ORDER BY store_id", params
        )
        return [json.loads(row["data"]) for row in rows]

    def _get_store(self, req: SandboxRequest, account: Account, store_id: int) -> dict:
        rows = self.db.query(
            "SELECT data FROM ss_stores WHERE account = ? AND store_id = ?",
            (account.slug, store_id),
        )
        if not rows:
            raise ApiError.message(404, f"Store {store_id} was not found.")
        store = json.loads(rows[0]["data"])
        store["statusMappings"] = [
            {"orderStatus": "awaiting_payment", "statusKey": "Pending"},
            {"orderStatus": "awaiting_shipment", "statusKey": "Processing"},
            {"orderStatus": "shipped", "statusKey": "Completed"},
            {"orderStatus": "cancelled", "statusKey": "Cancelled"},
            {"orderStatus": "on_hold", "statusKey": "On-Hold"},
        ]
        return store

    def _list_marketplaces(self, req: SandboxRequest, account: Account) -> list:
        return [
            {
                "name": m["name"],
                "marketplaceId": m["marketplaceId"],
                "canRefresh": m["canRefresh"],
                "supportsCustomMappings": m["canRefresh"],
                "supportsCustomStatuses": m["canRefresh"],
                "canConfirmShipments": m["canRefresh"],
            }
            for m in MARKETPLACES
        ]
