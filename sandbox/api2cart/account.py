"""Account and store methods: `account.*` and `cart.*`."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from sandbox.api2cart.shared import (
    CART_GROUPS,
    CURRENCY,
    DEFAULT_COUNT,
    FAILED_WEBHOOK_TTL,
    MAX_COUNT,
    METHODS,
    A2CError,
    Call,
    a2c_date,
    csv,
    in_clause,
    invalid,
    method,
    need,
    select_fields,
    stored,
    text,
    uint,
)

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake


SUPPORTED_PLATFORMS = (
    ("Shopify", "Shopify", (("shopify_access_token", "Admin API access token"),)),
    ("Woocommerce", "WooCommerce", (("store_key", "bridge store key"),)),
    ("WoocommerceApi", "WooCommerce (API)",
     (("wc_consumer_key", "REST API consumer key"),
      ("wc_consumer_secret", "REST API consumer secret"))),
    ("Magento2Api", "Magento 2 (API)", (("magento_access_token", "integration access token"),)),
    ("BigcommerceApi", "BigCommerce",
     (("bigcommerceapi_client_id", "API client ID"),
      ("bigcommerceapi_access_token", "API access token"),
      ("bigcommerceapi_context", "store hash"))),
    ("PrestashopApi", "PrestaShop (API)", (("prestashop_webservice_key", "webservice key"),)),
)  # fmt: skip
"""cart_id, cart_name and the credentials `account.cart.add` needs with `store_url` (contract
§2); a store made by `add-store` is given every one of them."""


CURRENCIES = {"USD": ("US Dollar", "$", ""), "EUR": ("Euro", "", " €"),
              "GBP": ("Pound Sterling", "£", ""), "CAD": ("Canadian Dollar", "CA$", ""),
              "SEK": ("Swedish Krona", "", " kr")}  # fmt: skip
"""The currencies a store made by the `add-store` control action may sell in."""


def store_currency(fake: Api2CartFake, store_key: str) -> dict[str, Any]:
    """The store's currency as API2Cart describes it (the demo stores sell in US dollars)."""
    code = fake.db.scalar("SELECT currency FROM a2c_store_setup WHERE store_key = ?", (store_key,))
    if not code or code == CURRENCY["id"]:
        return CURRENCY
    name, left, right = CURRENCIES[code]
    return {**CURRENCY, "id": code, "name": name, "iso3": code, "symbol_left": left,
            "symbol_right": right}  # fmt: skip


def connect_existing(fake: Api2CartFake, url: str, cart_id: str, args: dict) -> str | None:
    """`account.cart.add` for a store `add-store` made: its key when the platform credentials
    are right, None for a store without any (API2Cart then says it exists already)."""
    rows = fake.db.query(
        "SELECT s.store_key, s.cart_id, p.credentials FROM a2c_stores s "
        "JOIN a2c_store_setup p ON p.store_key = s.store_key WHERE s.url = ?",
        (url,),
    )
    if not rows:
        return None
    wanted = json.loads(rows[0]["credentials"])
    given = {name: str(args.get(name) or "") for name in wanted}
    if rows[0]["cart_id"] != cart_id or given != wanted:
        raise A2CError(100, "Store API access error: the platform refused the credentials.")
    return rows[0]["store_key"]


@method("account.cart.add", scope="account")
def account_cart_add(fake: Api2CartFake, call: Call) -> dict:
    cart_id = need(call.args, "cart_id")
    if cart_id not in {p[0] for p in SUPPORTED_PLATFORMS}:
        raise invalid("cart_id", "Unsupported cart.")
    url = need(call.args, "store_url")
    if fake.db.query("SELECT 1 FROM a2c_stores WHERE url = ?", (url,)):
        existing = connect_existing(fake, url, cart_id, call.args)
        if existing is None:
            raise A2CError(8)
        return {"store_key": existing}
    store_key = text(call.args, "store_key") or secrets.token_hex(16)
    with fake.db.transaction() as conn:
        number_ = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM a2c_stores").fetchone()[0]
        conn.execute(
            "INSERT INTO a2c_stores (store_key, id, name, display_name, cart_id, url, custom_label,"
            " supports_webhooks, created_at) VALUES (?,?,?,?,?,?,?,1,?)",
            (
                store_key,
                number_,
                text(call.args, "custom_label") or url,
                text(call.args, "custom_label") or url,
                cart_id,
                url,
                text(call.args, "custom_label"),
                stored(fake.sandbox.now()),
            ),
        )
    return {"store_key": store_key}


@method("account.cart.list", scope="account")
def account_cart_list(fake: Api2CartFake, call: Call) -> dict:
    clauses, params = ["1 = 1"], []
    for name, column in (
        ("store_url", "url"),
        ("store_key", "store_key"),
        ("custom_label", "custom_label"),
    ):
        if (value := text(call.args, name)) is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    rows = fake.db.query(
        f"SELECT * FROM a2c_stores WHERE {' AND '.join(clauses)} ORDER BY id", params
    )
    with_calls = text(call.args, "request_from_date") is not None
    carts = []
    for row in rows:
        cart = {
            "id": str(row["id"]),
            "url": row["url"],
            "store_key": row["store_key"],
            "cart_id": row["cart_id"],
            "custom_label": row["custom_label"],
            "bridge_version": "",
        }
        if with_calls:
            cart["total_calls"] = sum(fake.calls.values())
        carts.append(select_fields(cart, call.args, "force_all"))
    return {"carts_count": len(carts), "carts": carts}


@method("account.supported_platforms", scope="account")
def account_supported_platforms(fake: Api2CartFake, call: Call) -> dict:
    platforms = [
        {
            "cart_id": cart_id,
            "cart_name": cart_name,
            "cart_versions": "",
            "cart_method": "api",
            "params": {
                "required": [
                    [
                        {"name": "store_url", "description": "Store URL"},
                        *({"name": name, "description": text} for name, text in credentials),
                    ]
                ],
                "additional": [{"name": "custom_label", "description": "Label"}],
            },
        }
        for cart_id, cart_name, credentials in SUPPORTED_PLATFORMS
    ]
    return {"supported_platforms_count": len(platforms), "supported_platforms": platforms}


@method("account.config.update")
def account_config_update(fake: Api2CartFake, call: Call) -> dict:
    updates = {
        "url": text(call.args, "new_store_url"),
        "store_key": text(call.args, "new_store_key"),
        "custom_label": text(call.args, "custom_label"),
    }
    changed = {column: value for column, value in updates.items() if value is not None}
    if changed:
        assignments = ", ".join(f"{column} = ?" for column in changed)
        fake.db.execute(
            f"UPDATE a2c_stores SET {assignments} WHERE store_key = ?",
            [*changed.values(), call.store["store_key"]],
        )
    return {"updated_items": len(changed)}


@method("account.failed_webhooks", scope="account")
def account_failed_webhooks(fake: Api2CartFake, call: Call) -> dict:
    start, count = uint(call.args, "start", 0), uint(call.args, "count", DEFAULT_COUNT)
    if count > MAX_COUNT:
        raise invalid("count", f"The maximum value is {MAX_COUNT}.")
    clauses, params = ["time >= ?"], [stored(fake.sandbox.now() - FAILED_WEBHOOK_TTL)]
    if ids := csv(call.args, "ids"):
        clause, values = in_clause("webhook_id", ids)
        clauses.append(clause)
        params.extend(values)
    where = " AND ".join(clauses)
    total = fake.db.scalar(f"SELECT COUNT(*) FROM a2c_failed_webhooks WHERE {where}", params)
    rows = fake.db.query(
        f"SELECT * FROM a2c_failed_webhooks WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
        [*params, count, start],
    )
    return {
        "all_failed_webhook": total,
        "webhook": [
            {
                "webhook_id": row["webhook_id"],
                "entity_id": row["entity_id"],
                "time": a2c_date(row["time"]),
            }
            for row in rows
        ],
    }


@method("cart.info")
def cart_info(fake: Api2CartFake, call: Call) -> dict:
    store = call.store
    cart = {
        "name": store["display_name"],
        "url": store["url"],
        "version": "2024-10",
        "bridge_version": "",
        "default_rounding_precision": 2,
        "db_prefix": "",
        "stores_info": [
            {
                "store_id": "1",
                "name": store["display_name"],
                "language": "en",
                "store_languages": [{"id": "1", "iso_code": "en", "name": "English"}],
                "currency": store_currency(fake, store["store_key"]),
                "store_currencies": [store_currency(fake, store["store_key"])],
                "timezone": "UTC",
                "country": "US",
                "root_category_id": "1",
                "multi_store_url": store["url"],
                "active": True,
                "weight_unit": "kg",
                "dimension_unit": "cm",
                "prices_include_tax": False,
                "carrier_info": [
                    {
                        "id": carrier,
                        "name": carrier.upper(),
                        "active": True,
                        "shipping_methods": [{"name": "Ground"}],
                    }
                    for carrier in ("ups", "usps", "fedex", "dhl")
                ],
                "store_owner_info": {
                    "owner": store["display_name"],
                    "email": "owner@example.com",
                    "phone": "",
                },
                "default_warehouse_id": "1",
                "channels": [],
                "pickup_locations": [],
            }
        ],
        "warehouses": [
            {
                "id": "1",
                "name": "Main warehouse",
                "description": "",
                "avail": True,
                "address": {},
                "carriers_ids": ["ups", "usps", "fedex", "dhl"],
                "stores_ids": ["1"],
            }
        ],
        "shipping_zones": [],
    }
    return select_fields(cart, call.args, "store_name,store_url,db_prefix", CART_GROUPS)


@method("cart.validate")
def cart_validate(fake: Api2CartFake, call: Call) -> dict:
    return {"status": "OK"}


@method("cart.methods")
def cart_methods(fake: Api2CartFake, call: Call) -> dict:
    return {"method": sorted(name for name, (scope, _) in METHODS.items() if scope == "store")}
