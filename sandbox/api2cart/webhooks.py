"""Webhook delivery (`fire`) and the `webhook.*` methods."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox import demo_data
from sandbox.api2cart.profiles import profile, shape_order, shape_values
from sandbox.api2cart.shared import (
    DEFAULT_COUNT,
    MAX_COUNT,
    ORDER_GROUPS,
    WEBHOOK_ACTIONS,
    WEBHOOK_ENTITIES,
    WEBHOOK_MAX_FAILURES,
    A2CError,
    Call,
    boolean,
    count_in_store,
    csv,
    dumps,
    in_clause,
    invalid,
    matches,
    method,
    need,
    parse_response_fields,
    project,
    select_fields,
    stored,
    text,
    uint,
    webhook_signature,
)

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake


class WebhooksMixin:
    """Delivers store events to matching subscriptions and records failures."""

    def fire(self, store: dict, entity: str, action: str, doc: dict, entity_id: str) -> int:
        """Deliver `entity.action` to every active matching subscription of the store."""
        hooks = self.db.query(
            "SELECT * FROM a2c_webhooks WHERE store_key = ? AND entity = ? AND action = ? "
            "AND active = 1 ORDER BY id",
            (store["store_key"], entity, action),
        )
        sent = 0
        for hook in hooks:
            conditions = json.loads(hook["filtering_conditions"] or "null")
            if not matches(conditions, doc):
                continue
            fields = {"params": hook["fields"] or "force_all"}
            groups = ORDER_GROUPS if entity == "order" else None
            body = select_fields(doc, fields, "force_all", groups)
            rules = profile(store.get("profile"))
            body = shape_order(rules, body) if entity == "order" else shape_values(rules, body)
            if hook["response_fields"]:
                body = project(body, parse_response_fields(hook["response_fields"]))
            headers = {
                "X-Webhook-Store-Id": hook["store_id"] or "1",
                "X-Webhook-Action": action,
                "X-Webhook-Entity": entity,
                "X-Webhook-Error-Code": "0",
            }
            self._send_hook(store, hook, headers, dumps(body).encode(), entity_id)
            sent += 1
        return sent

    def _send_hook(
        self, store: dict, hook: Any, headers: dict[str, str], body: bytes, entity_id: str
    ) -> None:
        if store["sign_webhooks"]:
            headers["X-Webhook-Signature"] = webhook_signature(
                headers, body, demo_data.API2CART_API_KEY
            )
        webhook_id = hook["id"]
        self.sandbox.emit_webhook(
            self.name,
            hook["callback"],
            headers,
            body,
            on_failure=lambda reason: self._delivery_failed(webhook_id, entity_id, reason),
            on_success=lambda: self._delivery_succeeded(webhook_id),
        )

    def _delivery_failed(self, webhook_id: int, entity_id: str, reason: str) -> None:
        """Recorded for account.failed_webhooks; five failures in a row disable the webhook."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO a2c_failed_webhooks (webhook_id, store_key, entity_id, time, reason) "
                "SELECT id, store_key, ?, ?, ? FROM a2c_webhooks WHERE id = ?",
                (entity_id, stored(self.sandbox.now()), reason, webhook_id),
            )
            conn.execute(
                "UPDATE a2c_webhooks SET failures = failures + 1, "
                "active = CASE WHEN failures + 1 >= ? THEN 0 ELSE active END WHERE id = ?",
                (WEBHOOK_MAX_FAILURES, webhook_id),
            )

    def _delivery_succeeded(self, webhook_id: int) -> None:
        self.db.execute(
            "UPDATE a2c_webhooks SET failures = 0 WHERE id = ? AND failures > 0", (webhook_id,)
        )

    def _control_webhooks(self, payload: dict) -> dict:
        """A store's webhooks as API2Cart sees them (active, failures in a row) and how often the
        `webhook.*` methods were called: what a test of the hub's webhook health looks at."""
        store = self._control_store(payload)
        rows = self.db.query(
            "SELECT id, entity, action, callback, active, failures FROM a2c_webhooks "
            "WHERE store_key = ? ORDER BY id",
            (store["store_key"],),
        )
        received = self.db.query(
            "SELECT method, count FROM a2c_received WHERE method LIKE 'webhook.%'"
        )
        return {
            "store": store["name"],
            "disabled_after_failures": WEBHOOK_MAX_FAILURES,
            "webhooks": [
                {
                    "id": row["id"],
                    "event": f"{row['entity']}.{row['action']}",
                    "callback": row["callback"],
                    "active": bool(row["active"]),
                    "failures": row["failures"],
                }
                for row in rows
            ],
            "calls": {row["method"]: row["count"] for row in received},
        }


WEBHOOK_DEFAULT_PARAMS = "id,entity,action,callback"


def plain_time(value: str | None) -> str | None:
    return None if value is None else value[:19].replace("T", " ")


def webhook_doc(row: Any) -> dict:
    return {
        "id": row["id"],
        "label": row["label"],
        "store_id": row["store_id"],
        "lang_id": row["lang_id"],
        "active": bool(row["active"]),
        "callback": row["callback"],
        "fields": row["fields"],
        "response_fields": row["response_fields"],
        "created_at": plain_time(row["created_at"]),
        "updated_at": plain_time(row["updated_at"]),
        "entity": row["entity"],
        "action": row["action"],
        "filtering_conditions": json.loads(row["filtering_conditions"] or "null"),
    }


def check_conditions(conditions: Any, depth: int = 1) -> None:
    if conditions is None:
        return
    if depth > 5 or not isinstance(conditions, dict):
        raise invalid("filtering_conditions", "Conditions nest at most 5 levels of objects.")
    keys = set(conditions) & {"and", "or", "not"}
    if keys:
        key = keys.pop()
        children = conditions[key] if key != "not" else [conditions[key]]
        if not isinstance(children, list):
            raise invalid("filtering_conditions")
        for child in children:
            check_conditions(child, depth + 1)
        return
    operators = {"eq", "neq", "in", "not_in", "like", "not_like", "gt", "gte", "lt", "lte"}
    if not conditions.get("field") or conditions.get("operator") not in operators:
        raise invalid("filtering_conditions", "Each rule needs field, operator and value.")


@method("webhook.events")
def webhook_events(fake: Api2CartFake, call: Call) -> dict:
    filterable = {
        "order": {
            "id": "string",
            "order_id": "string",
            "status.id": "string",
            "financial_status": "string",
            "totals.total": "number",
            "customer.email": "string",
        },
        "product": {"id": "string", "u_sku": "string", "price": "number", "quantity": "number"},
        "customer": {"id": "string", "email": "string"},
        "category": {"id": "string", "name": "string"},
    }
    events = [
        {
            "webhook_name": f"{entity}.{action}",
            "entity": entity,
            "action": action,
            "filterable_fields": filterable[entity],
        }
        for entity in WEBHOOK_ENTITIES
        for action in WEBHOOK_ACTIONS
    ]
    if call.store is not None and call.store.get("supports_webhooks") == 0:
        events = []  # a platform without native webhooks (contract §6.2)
    return {"events": events}


@method("webhook.create")
def webhook_create(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    entity, action = need(args, "entity"), need(args, "action")
    if entity not in WEBHOOK_ENTITIES:
        raise invalid("entity", f"Supported values: {', '.join(WEBHOOK_ENTITIES)}.")
    if action not in WEBHOOK_ACTIONS:
        raise invalid("action", f"Supported values: {', '.join(WEBHOOK_ACTIONS)}.")
    callback = need(args, "callback")
    if not callback.startswith(("http://", "https://")):
        raise invalid("callback", "The callback must be an http(s) URL.")
    conditions = args.get("filtering_conditions")
    if isinstance(conditions, str):
        try:
            conditions = json.loads(conditions)
        except ValueError:
            raise invalid("filtering_conditions") from None
    check_conditions(conditions)
    now = stored(fake.sandbox.now())
    cursor = fake.db.execute(
        "INSERT INTO a2c_webhooks (store_key, entity, action, callback, label, fields,"
        " response_fields, active, lang_id, store_id, filtering_conditions, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            call.store["store_key"],
            entity,
            action,
            callback,
            text(args, "label"),
            text(args, "fields") or "force_all",
            text(args, "response_fields"),
            int(boolean(args, "active", True)),
            text(args, "lang_id"),
            text(args, "store_id") or "1",
            None if conditions is None else dumps(conditions),
            now,
            now,
        ),
    )
    return {"id": cursor.lastrowid}


def webhook_filters(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = [], []
    for name in ("entity", "action"):
        if (value := text(filters, name)) is not None:
            clauses.append(f"{name} = ?")
            params.append(value)
    if (active := boolean(filters, "active")) is not None:
        clauses.append("active = ?")
        params.append(int(active))
    if ids := csv(filters, "ids"):
        clause, values = in_clause("id", ids)
        clauses.append(clause)
        params.extend(values)
    return clauses, params


@method("webhook.list")
def webhook_list(fake: Api2CartFake, call: Call) -> dict:
    start, count = uint(call.args, "start", 0), uint(call.args, "count", DEFAULT_COUNT)
    if count > MAX_COUNT:
        raise invalid("count", f"The maximum value is {MAX_COUNT}.")
    clauses, params = webhook_filters(call.args)
    where = " AND ".join(["store_key = ?", *clauses])
    rows = fake.db.query(
        f"SELECT * FROM a2c_webhooks WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
        [call.store["store_key"], *params, count, start],
    )
    hooks = [select_fields(webhook_doc(row), call.args, WEBHOOK_DEFAULT_PARAMS) for row in rows]
    return {"webhook": hooks}


@method("webhook.count")
def webhook_count(fake: Api2CartFake, call: Call) -> dict:
    return {"webhook_count": count_in_store(fake, call, "a2c_webhooks", webhook_filters)}


@method("webhook.update")
def webhook_update(fake: Api2CartFake, call: Call) -> dict:
    args = call.args
    webhook_id = need(args, "id")
    rows = fake.db.query(
        "SELECT * FROM a2c_webhooks WHERE store_key = ? AND CAST(id AS TEXT) = ?",
        (call.store["store_key"], webhook_id),
    )
    if not rows:
        raise A2CError(112, f"Webhook with id {webhook_id} not found")
    changes: dict[str, Any] = {}
    for name in ("callback", "label", "fields", "response_fields", "lang_id"):
        if name in args:
            changes[name] = text(args, name)
    if "active" in args:
        changes["active"] = int(bool(boolean(args, "active")))
        if changes["active"]:
            changes["failures"] = 0
            changes["error_tries"] = 0
    if "filtering_conditions" in args:
        conditions = args["filtering_conditions"]
        if isinstance(conditions, str) and conditions:
            try:
                conditions = json.loads(conditions)
            except ValueError:
                raise invalid("filtering_conditions") from None
        check_conditions(conditions or None)
        changes["filtering_conditions"] = dumps(conditions) if conditions else None
    changes["updated_at"] = stored(fake.sandbox.now())
    assignments = ", ".join(f"{column} = ?" for column in changes)
    fake.db.execute(
        f"UPDATE a2c_webhooks SET {assignments} WHERE id = ?", [*changes.values(), rows[0]["id"]]
    )
    return {"updated": True}


@method("webhook.delete")
def webhook_delete(fake: Api2CartFake, call: Call) -> dict:
    webhook_id = need(call.args, "id")
    cursor = fake.db.execute(
        "DELETE FROM a2c_webhooks WHERE store_key = ? AND CAST(id AS TEXT) = ?",
        (call.store["store_key"], webhook_id),
    )
    if not cursor.rowcount:
        raise A2CError(112, f"Webhook with id {webhook_id} not found")
    return {"deleted": True}
