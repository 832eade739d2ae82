"""The fake's control actions: place orders, change them, disconnect stores, tune it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.api2cart.onboarding import add_store, store_items
from sandbox.api2cart.orders import fake_customer
from sandbox.api2cart.profiles import PROFILES
from sandbox.api2cart.shared import (
    FINANCIAL_STATUSES,
    ORDER_STATUSES,
    WEBHOOK_MAX_FAILURES,
    A2CError,
)
from sandbox.core import ControlError


class ControlMixin:
    """`/_control/api2cart/{action}`: what tests and the `sandbox` CLI drive."""

    def control(self, action: str, payload: dict) -> dict:
        actions: dict[str, Callable[[dict], dict]] = {
            "place-orders": self._control_place_orders,
            "update-order": self._control_update_order,
            "cancel-order": self._control_cancel_order,
            "refund-order": self._control_refund_order,
            "readdress-order": self._control_readdress_order,
            "edit-order-lines": self._control_edit_order_lines,
            "set-order-fields": self._control_set_order_fields,
            "disconnect-store": self._control_disconnect,
            "reconnect-store": self._control_reconnect,
            "webhooks": self._control_webhooks,
            "store-settings": self._control_store_settings,
            "configure": self._control_configure,
            "process-jobs": lambda _: {"processed": self.process_jobs(force=True)},
            "seed-products": self._control_seed_products,
            "refuse-updates": self._control_refuse_updates,
            "add-store": lambda payload: add_store(self, payload),
            "store-items": lambda payload: store_items(self, payload),
        }
        if action not in actions:
            raise ControlError(
                f"Unknown api2cart action {action!r}; known: {', '.join(sorted(actions))}"
            )
        return actions[action](payload)

    def _control_store(self, payload: dict) -> dict:
        wanted = payload.get("store")
        if not wanted:
            raise ControlError("Missing 'store' (store name or store key)")
        rows = self.db.query(
            "SELECT * FROM a2c_stores WHERE name = ? OR store_key = ?", (wanted, wanted)
        )
        if not rows:
            names = [r["name"] for r in self.db.query("SELECT name FROM a2c_stores")]
            raise ControlError(f"Unknown store {wanted!r}; stores: {', '.join(names)}")
        return dict(rows[0])

    def _control_place_orders(self, payload: dict) -> dict:
        store = self._control_store(payload)
        try:
            count = int(payload.get("count", 1))
        except (TypeError, ValueError):
            raise ControlError("'count' must be an integer") from None
        if not 1 <= count <= 1000:
            raise ControlError("'count' must be between 1 and 1000")
        status = payload.get("status", "Pending")
        financial = payload.get("financial_status", "paid")
        if status not in ORDER_STATUSES:
            raise ControlError(f"Unknown order status {status!r}")
        if financial not in FINANCIAL_STATUSES:
            raise ControlError(f"Unknown financial status {financial!r}")
        lines = payload.get("items")
        quiet = bool(payload.get("quiet"))
        placed_at = self._placed_at(payload)
        placed = []
        for _ in range(count):
            if payload.get("new_customers"):
                customer = self._new_shopper(store)
            else:
                customer = self._pick_customer(store, payload.get("customer_email"))
            chosen = (
                self._order_lines_from_skus(store, lines) if lines else self._random_lines(store)
            )
            order = self.create_order(
                store, customer, chosen, status, financial, placed_at=placed_at
            )
            unlisted = [n for n, item in enumerate(lines or [], start=1) if item.get("no_sku")]
            if unlisted:
                order = self._strip_skus(store, order, unlisted)
            webhooks = 0 if quiet else self.fire(store, "order", "add", order, order["id"])
            placed.append({"order_id": order["order_id"], "id": order["id"], "webhooks": webhooks})
        return {"store": store["name"], "orders": placed}

    def _placed_at(self, payload: dict) -> datetime | None:
        """`days_ago`: orders placed in the past (a store's history, for a backfill)."""
        if payload.get("days_ago") in (None, ""):
            return None
        try:
            days = float(payload["days_ago"])
        except (TypeError, ValueError):
            raise ControlError("'days_ago' must be a number") from None
        if not 0 <= days <= 3650:
            raise ControlError("'days_ago' must be between 0 and 3650")
        return self.sandbox.now() - timedelta(days=days)

    def _strip_skus(self, store: dict, order: dict, line_numbers: list[int]) -> dict:
        """Lines sold without any SKU (no `model`, no variant), as marketplaces allow."""
        for number_ in line_numbers:
            line = order["order_products"][number_ - 1]
            line["model"], line["variant_id"] = "", ""
        with self.db.transaction() as conn:
            self.save_order(conn, store["store_key"], order)
        return order

    def _new_shopper(self, store: dict) -> dict:
        """`new_customers`: each order from a shopper the store (and the ERP) never saw, as in
        a web shop where most buyers are new: a guest with a known shopper's address."""
        base = self._pick_customer(store, None)
        address = base["address_book"][0]
        serial = self.db.query(
            "SELECT COUNT(*) AS n FROM a2c_customers WHERE store_key = ?", (store["store_key"],)
        )[0]["n"]
        args = {
            "bill_first_name": base["first_name"],
            "bill_last_name": base["last_name"],
            "customer_email": f"new-{serial}-{self._random.randrange(10**9)}@shoppers.example",
            "bill_company": base.get("company") or "",
            "bill_address_1": address["address1"],
            "bill_city": address["city"],
            "bill_postcode": address["postcode"],
            "bill_country": address["country"]["code2"],
            "bill_phone": base.get("phone") or "",
        }
        return fake_customer(self, store, args)

    def _pick_customer(self, store: dict, email: str | None) -> dict:
        if email:
            rows = self.db.query(
                "SELECT doc FROM a2c_customers WHERE store_key = ? AND email = ?",
                (store["store_key"], email),
            )
            if not rows:
                raise ControlError(f"No customer {email!r} in store {store['name']}")
            return json.loads(rows[0]["doc"])
        rows = self.db.query(
            "SELECT doc FROM a2c_customers WHERE store_key = ? ORDER BY id", (store["store_key"],)
        )
        return json.loads(self._random.choice(rows)["doc"])

    def _random_lines(self, store: dict) -> list[tuple[dict, dict | None, int]]:
        products = self.db.query(
            "SELECT id FROM a2c_products WHERE store_key = ? ORDER BY id", (store["store_key"],)
        )
        picked = self._random.sample(products, self._random.randint(1, 4))
        lines = []
        for row in picked:
            product = self.load("a2c_products", store["store_key"], row["id"], "Product")
            children = self.db.query(
                "SELECT doc FROM a2c_children WHERE store_key = ? AND parent_id = ? ORDER BY id",
                (store["store_key"], row["id"]),
            )
            child = json.loads(self._random.choice(children)["doc"]) if children else None
            lines.append((product, child, self._random.randint(1, 3)))
        return lines

    def _order_lines_from_skus(
        self, store: dict, items: list[dict]
    ) -> list[tuple[dict, dict | None, int]]:
        lines = []
        for item in items:
            sku, quantity = item.get("sku"), int(item.get("quantity", 1))
            found = self.db.query(
                "SELECT parent_id FROM a2c_children WHERE store_key = ? AND sku = ?",
                (store["store_key"], sku),
            )
            if found:
                product = self.load("a2c_products", store["store_key"], found[0][0], "Product")
                child = self._child_by_sku(store["store_key"], sku)
                lines.append((product, child, quantity))
                continue
            found = self.db.query(
                "SELECT id FROM a2c_products WHERE store_key = ? AND sku = ?",
                (store["store_key"], sku),
            )
            if not found:
                raise ControlError(f"Unknown SKU {sku!r} in store {store['name']}")
            product = self.load("a2c_products", store["store_key"], found[0][0], "Product")
            lines.append((product, None, quantity))
        return lines

    def _child_by_sku(self, store_key: str, sku: str) -> dict:
        rows = self.db.query(
            "SELECT doc FROM a2c_children WHERE store_key = ? AND sku = ?", (store_key, sku)
        )
        return json.loads(rows[0]["doc"])

    def _control_update_order(self, payload: dict) -> dict:
        store = self._control_store(payload)
        if not payload.get("order_id"):
            raise ControlError("Missing 'order_id'")
        changes = {
            "order_status": payload.get("status"),
            "financial_status": payload.get("financial_status"),
            "fulfillment_status": payload.get("fulfillment_status"),
            "comment": payload.get("comment"),
        }
        try:
            order = self.update_order(store, str(payload["order_id"]), changes)
        except A2CError as exc:
            raise ControlError(exc.message) from None
        return {"order_id": order["order_id"], "status": order["status"]["id"]}

    def _control_set_order_fields(self, payload: dict) -> dict:
        """Overwrite top-level fields of a stored order as given (e.g. a malformed `totals`):
        what a platform may send that no profile reproduces."""
        store = self._control_store(payload)
        fields = payload.get("fields")
        if not payload.get("order_id") or not isinstance(fields, dict):
            raise ControlError("Needs 'order_id' and a 'fields' object")
        try:
            order = self.find_order(store["store_key"], {"order_id": str(payload["order_id"])})
        except A2CError as exc:
            raise ControlError(exc.message) from None
        order.update(fields)
        with self.db.transaction() as conn:
            self.save_order(conn, store["store_key"], order)
        return {"order_id": order["order_id"], "fields": sorted(fields)}

    def _control_disconnect(self, payload: dict) -> dict:
        """API2Cart lost the store: empty-body notices with X-Webhook-Error-* headers."""
        store = self._control_store(payload)
        attempts = int(payload.get("attempts", 1))
        reason = payload.get("reason", "incorrect store key")
        self.db.execute(
            "UPDATE a2c_stores SET connected = 0 WHERE store_key = ?", (store["store_key"],)
        )
        notices = 0
        for _ in range(attempts):
            hooks = self.db.query(
                "SELECT * FROM a2c_webhooks WHERE store_key = ? AND active = 1 ORDER BY id",
                (store["store_key"],),
            )
            for hook in hooks:
                tries = hook["error_tries"] + 1
                remaining = max(WEBHOOK_MAX_FAILURES - tries, 0)
                self.db.execute(
                    "UPDATE a2c_webhooks SET error_tries = ?, active = ? WHERE id = ?",
                    (tries, int(remaining > 0), hook["id"]),
                )
                headers = {
                    "X-Webhook-Store-Id": hook["store_id"] or "1",
                    "X-Webhook-Action": hook["action"],
                    "X-Webhook-Entity": hook["entity"],
                    "X-Webhook-Error-Code": "100",
                    "X-Webhook-Error-Reason": reason,
                    "X-Webhook-Error-Message": (
                        "API2Cart lost the connection to the store. Reconnect it with "
                        "account.config.update, then re-enable the webhook with webhook.update "
                        "and active=true."
                    ),
                    "X-Webhook-Error-Try-Count": str(remaining),
                }
                self.sandbox.emit_webhook(self.name, hook["callback"], headers, b"")
                notices += 1
        return {"store": store["name"], "connected": False, "notices": notices}

    def _control_reconnect(self, payload: dict) -> dict:
        store = self._control_store(payload)
        self.db.execute(
            "UPDATE a2c_stores SET connected = 1 WHERE store_key = ?", (store["store_key"],)
        )
        self.db.execute(
            "UPDATE a2c_webhooks SET error_tries = 0 WHERE store_key = ?", (store["store_key"],)
        )
        return {"store": store["name"], "connected": True}

    def _control_store_settings(self, payload: dict) -> dict:
        store = self._control_store(payload)
        if "sign_webhooks" in payload:
            self.db.execute(
                "UPDATE a2c_stores SET sign_webhooks = ? WHERE store_key = ?",
                (int(bool(payload["sign_webhooks"])), store["store_key"]),
            )
        if "latency_ms" in payload:
            self.db.execute(
                "UPDATE a2c_stores SET latency_ms = ? WHERE store_key = ?",
                (int(payload["latency_ms"]), store["store_key"]),
            )
        if "profile" in payload:
            if payload["profile"] not in PROFILES:
                raise ControlError(f"Unknown profile; profiles: {', '.join(PROFILES)}")
            self.db.execute(
                "UPDATE a2c_stores SET profile = ? WHERE store_key = ?",
                (payload["profile"], store["store_key"]),
            )
        if "supports_webhooks" in payload:
            self.db.execute(
                "UPDATE a2c_stores SET supports_webhooks = ? WHERE store_key = ?",
                (int(bool(payload["supports_webhooks"])), store["store_key"]),
            )
        store = self._control_store(payload)
        return {
            "store": store["name"],
            "sign_webhooks": bool(store["sign_webhooks"]),
            "latency_ms": store["latency_ms"],
            "connected": bool(store["connected"]),
            "supports_webhooks": store["supports_webhooks"] != 0,
            "profile": store["profile"],
        }

    def _control_configure(self, payload: dict) -> dict:
        if "unknown_store_code" in payload:
            code = int(payload["unknown_store_code"])
            if code not in (4, 101):
                raise ControlError("unknown_store_code must be 4 or 101")
            self.unknown_store_code = code
        if "batch_delay_ms" in payload:
            self.batch_delay = timedelta(milliseconds=int(payload["batch_delay_ms"]))
        if "store_concurrency" in payload:
            self.gate.per_store = int(payload["store_concurrency"])
        if "account_concurrency" in payload:
            self.gate.per_account = int(payload["account_concurrency"])
        return {
            "unknown_store_code": self.unknown_store_code,
            "batch_delay_ms": int(self.batch_delay.total_seconds() * 1000),
            "store_concurrency": self.gate.per_store,
            "account_concurrency": self.gate.per_account,
        }

    def _control_seed_products(self, payload: dict) -> dict:
        """Many simple products at once: `count`, `prefix`, `price`, `quantity`."""
        store = self._control_store(payload)
        try:
            count = int(payload.get("count", 0))
            price = Decimal(str(payload.get("price", "10.00")))
            quantity = int(payload.get("quantity", 0))
        except (TypeError, ValueError, ArithmeticError):
            raise ControlError("'count' and 'quantity' are integers, 'price' a number") from None
        if not 1 <= count <= 200_000:
            raise ControlError("'count' must be between 1 and 200000")
        prefix = str(payload.get("prefix") or "BX-")
        return self.seed_products(store, count, prefix, price, quantity)

    def _control_refuse_updates(self, payload: dict) -> dict:
        """Refuse every update of these SKUs with `message`, as a platform may; `clear` ends it."""
        refused = self.refused_updates()
        if payload.get("clear"):
            refused.clear()
        message = str(payload.get("message") or "The product is locked for editing.")
        for sku in payload.get("skus") or []:
            refused[str(sku)] = message
        return {"refused": sorted(refused)}
