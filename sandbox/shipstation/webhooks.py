"""Webhook subscriptions and the thin V1 notifications sent to them."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from sandbox.core import SandboxRequest, SandboxResponse
from sandbox.shipstation.shared import Account, ApiError, Notification, _json_object, _next_id

WEBHOOK_EVENTS = (
    "ORDER_NOTIFY",
    "ITEM_ORDER_NOTIFY",
    "SHIP_NOTIFY",
    "ITEM_SHIP_NOTIFY",
    "FULFILLMENT_SHIPPED",
    "FULFILLMENT_REJECTED",
)


class WebhooksMixin:
    """The `/webhooks` resource and delivery of notifications."""

    def _resource_url(self, notification: Notification, item_variant: bool) -> str:
        query = dict(notification.query)
        if notification.resource_type == "SHIP_NOTIFY":
            query["includeShipmentItems"] = "True" if item_variant else "False"
        elif item_variant:
            query["includeOrderItems"] = "True"
        base = f"{self.sandbox.base_url}/shipstation/{notification.resource_path}"
        return f"{base}?{urlencode(query)}"

    def _send(self, notifications: Iterable[Notification]) -> int:
        """POST the thin V1 payload to every matching subscription; returns how many were queued."""
        queued = 0
        for notification in notifications:
            hooks = self.db.query(
                "SELECT * FROM ss_webhooks WHERE account = ? AND event IN (?, ?)"
                " AND (store_id IS NULL OR store_id = ?) ORDER BY webhook_id",
                (
                    notification.account,
                    notification.resource_type,
                    "ITEM_" + notification.resource_type,
                    notification.store_id,
                ),
            )
            for hook in hooks:
                body = {
                    "resource_url": self._resource_url(
                        notification, hook["event"].startswith("ITEM_")
                    ),
                    "resource_type": hook["event"],
                }
                self.sandbox.emit_webhook(
                    self.name,
                    hook["target_url"],
                    {},
                    body,
                    on_failure=lambda _reason: self._count("webhooks_failed"),
                    on_success=lambda: self._count("webhooks_sent"),
                )
                queued += 1
        return queued

    def _subscribe_webhook(self, req: SandboxRequest, account: Account) -> dict:
        payload = _json_object(req, "subscribeRequest")
        errors: dict[str, list[str]] = {}
        target_url = payload.get("target_url")
        if not isinstance(target_url, str) or not target_url.startswith(("http://", "https://")):
            errors["subscribeRequest.target_url"] = ["An absolute target_url is required."]
        event = payload.get("event")
        if event not in WEBHOOK_EVENTS:
            errors["subscribeRequest.event"] = [
                f"event must be one of {', '.join(WEBHOOK_EVENTS)}."
            ]
        store_id = payload.get("store_id")
        if store_id is not None and not self.db.query(
            "SELECT 1 FROM ss_stores WHERE account = ? AND store_id = ?", (account.slug, store_id)
        ):
            errors["subscribeRequest.store_id"] = [f"Store {store_id} was not found."]
        if errors:
            raise ApiError.invalid(errors)
        with self.db.transaction() as conn:
            webhook_id = _next_id(conn, "webhook")
            conn.execute(
                "INSERT INTO ss_webhooks (webhook_id, account, event, target_url, store_id, name)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    webhook_id,
                    account.slug,
                    event,
                    target_url,
                    store_id,
                    payload.get("friendly_name"),
                ),
            )
        return {"id": webhook_id}

    def _list_webhooks(self, req: SandboxRequest, account: Account) -> dict:
        rows = self.db.query(
            "SELECT * FROM ss_webhooks WHERE account = ? ORDER BY webhook_id", (account.slug,)
        )
        return {
            "webhooks": [
                {
                    "IsLabelAPIHook": False,
                    "WebHookID": row["webhook_id"],
                    "SellerID": account.seller_id,
                    "StoreID": row["store_id"],
                    "HookType": row["event"],
                    "MessageFormat": "Json",
                    "Url": row["target_url"],
                    "Name": row["name"],
                    "BulkCopyBatchID": None,
                    "BulkCopyRecordID": None,
                    "Active": True,
                    "WebhookLogs": [],
                    "Seller": None,
                    "Store": None,
                }
                for row in rows
            ]
        }

    def _unsubscribe_webhook(
        self, req: SandboxRequest, account: Account, webhook_id: int
    ) -> SandboxResponse:
        deleted = self.db.execute(
            "DELETE FROM ss_webhooks WHERE account = ? AND webhook_id = ?",
            (account.slug, webhook_id),
        ).rowcount
        if not deleted:
            raise ApiError.message(404, f"Webhook {webhook_id} was not found.")
        return SandboxResponse(200, None)
