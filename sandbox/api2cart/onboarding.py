"""A new shop for a new tenant: `add-store` creates it with products, customers and stock.

The store exists on its platform (say Shopify) with the credentials an API2Cart `account.cart.add`
needs for that platform, and is also in the sandbox's API2Cart account already, so the hub can
connect it either way: "Connect a new store" with the platform credentials (which answers with
this store's key) or "Add store" with the store key. `store-items` lists what the store sells,
so the M3 fake can create matching items for the tenant's ERP.
"""

from __future__ import annotations

import json
import random
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox import demo_data
from sandbox.api2cart.account import CURRENCIES, SUPPORTED_PLATFORMS
from sandbox.api2cart.shared import a2c_date, dumps, stored
from sandbox.core import ControlError

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
PLATFORM_URLS = {"Shopify": "https://{name}.myshopify.com"}
CREDENTIAL_SHAPES = {
    "shopify_access_token": "shpat_{hex}",
    "wc_consumer_key": "ck_{hex}",
    "wc_consumer_secret": "cs_{hex}",
    "bigcommerceapi_context": "stores/{hex}",
}
MAX_PRODUCTS = 500
SIZES = ("S", "M", "L")


@dataclass(frozen=True)
class NewProduct:
    """What `_product_doc`/`_child_doc` read of a product, for a store made on demand."""

    owner: str
    sku: str
    name: str
    price: Decimal
    weight_kg: Decimal
    variants: tuple[demo_data.DemoVariant, ...]


def add_store(fake: Api2CartFake, payload: dict) -> dict[str, Any]:
    """Create a store with `products` products (some with size variants), forty customers and
    stock, on `platform`, selling in `currency`; answers what the hub's forms need."""
    name = str(payload.get("name") or "")
    if not SLUG.match(name):
        raise ControlError("'name' must be 2-41 lowercase letters, digits or hyphens")
    platforms = {p[0]: p for p in SUPPORTED_PLATFORMS}
    cart_id = str(payload.get("platform") or "Shopify")
    if cart_id not in platforms:
        raise ControlError(f"Unknown platform {cart_id!r}; known: {', '.join(platforms)}")
    currency = str(payload.get("currency") or "USD").upper()
    if currency not in CURRENCIES:
        raise ControlError(f"Unknown currency {currency!r}; known: {', '.join(CURRENCIES)}")
    try:
        count = int(payload.get("products", 20))
    except (TypeError, ValueError):
        raise ControlError("'products' must be an integer") from None
    if not 1 <= count <= MAX_PRODUCTS:
        raise ControlError(f"'products' must be between 1 and {MAX_PRODUCTS}")
    if fake.db.query("SELECT 1 FROM a2c_stores WHERE name = ?", (name,)):
        raise ControlError(f"A store named {name!r} exists already")
    prefix = str(payload.get("sku_prefix") or re.sub(r"[^A-Z0-9]", "", name.upper())[:3])
    url = PLATFORM_URLS.get(cart_id, "https://{name}.shop.example").format(name=name)
    store_key = secrets.token_hex(16)
    credentials = {
        name: store_key
        if name == "store_key"
        else CREDENTIAL_SHAPES.get(name, "sbx_{hex}").format(hex=secrets.token_hex(16))
        for name, _ in platforms[cart_id][2]
    }
    display_name = str(payload.get("display_name") or name.replace("-", " ").title())
    with fake.db.transaction() as conn:
        number_ = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM a2c_stores").fetchone()[0]
        conn.execute(
            "INSERT INTO a2c_stores (store_key, id, name, display_name, cart_id, url, custom_label,"
            " supports_webhooks, created_at) VALUES (?,?,?,?,?,?,?,1,?)",
            (store_key, number_, name, display_name, cart_id, url, name,
             stored(fake.sandbox.now() - timedelta(days=60))),
        )  # fmt: skip
        _add_customers(fake, conn, store_key, number_, name)
        conn.execute(
            "INSERT INTO a2c_store_setup (store_key, credentials, currency) VALUES (?, ?, ?)",
            (store_key, json.dumps(credentials), currency),
        )
        _add_products(fake, conn, store_key, number_, _products(name, prefix, count))
    return {
        "store": name,
        "display_name": display_name,
        "platform": cart_id,
        "platform_name": platforms[cart_id][1],
        "url": url,
        "store_key": store_key,
        "credentials": credentials,
        "credential_labels": dict(platforms[cart_id][2]),
        "currency": currency,
        "products": count,
        "skus": len(store_items(fake, {"store": name})["items"]),
        "customers": len(demo_data.store_customers(name)),
    }


def _products(name: str, prefix: str, count: int) -> list[NewProduct]:
    """Seeded by the store's name, so the same command gives the same catalogue."""
    rng = random.Random(f"new-store-{name}")
    made = []
    for n in range(count):
        sku = f"{prefix}-{1001 + n}"
        price = Decimal(rng.randrange(499, 9999)) / 100
        variants: tuple[demo_data.DemoVariant, ...] = ()
        if n % 3 == 2:
            variants = tuple(
                demo_data.DemoVariant(f"{sku}-{size}", (("Size", size),), price) for size in SIZES
            )
        weight = Decimal(rng.randrange(1, 100)) / 10
        made.append(NewProduct("", sku, f"{name.title()} item {1001 + n}", price, weight, variants))
    return made


def _add_products(
    fake: Api2CartFake, conn: Any, store_key: str, number_: int, products: list[NewProduct]
) -> None:
    rng = random.Random(f"new-store-stock-{store_key}")
    created = stored(fake.sandbox.now() - timedelta(days=30))
    product_id, child_id = number_ * 100000, number_ * 100000 + 50000
    for product in products:
        product_id += 1
        children = []
        for variant in product.variants:
            child_id += 1
            child = fake._child_doc(child_id, product_id, product, variant, rng.randint(5, 60))
            child["created_time"] = child["modified_time"] = a2c_date(created)
            children.append(child)
        quantity = sum(c["quantity"] for c in children) if children else rng.randint(5, 120)
        doc = fake._product_doc(product_id, product, quantity, created, bool(children))
        conn.execute(
            "INSERT INTO a2c_products VALUES (?,?,?,?,?,?,?)",
            (store_key, product_id, product.sku, product.name, created, created, json.dumps(doc)),
        )
        for child in children:
            conn.execute(
                "INSERT INTO a2c_children VALUES (?,?,?,?,?,?,?)",
                (store_key, int(child["id"]), product_id, child["sku"], created, created,
                 dumps(child)),
            )  # fmt: skip


def _add_customers(fake: Api2CartFake, conn: Any, store_key: str, number_: int, name: str) -> None:
    now = fake.sandbox.now()
    for n, person in enumerate(demo_data.store_customers(name), start=1):
        created = stored(now - timedelta(days=50 - n))
        doc = fake._customer_doc(number_ * 10000 + n, person, created)
        conn.execute(
            "INSERT INTO a2c_customers VALUES (?,?,?,?,?,?)",
            (store_key, number_ * 10000 + n, person.email, created, created, dumps(doc)),
        )


def store_items(fake: Api2CartFake, payload: dict) -> dict[str, Any]:
    """Every SKU the store sells (variants, or the product itself without any), with its name,
    price, weight and stock: what an ERP needs as items for the store's orders to be taken."""
    store = fake._control_store(payload)
    items = []
    products = fake.db.query(
        "SELECT id, doc FROM a2c_products WHERE store_key = ? ORDER BY id", (store["store_key"],)
    )
    for row in products:
        product = json.loads(row["doc"])
        children = fake.db.query(
            "SELECT doc FROM a2c_children WHERE store_key = ? AND parent_id = ? ORDER BY id",
            (store["store_key"], row["id"]),
        )
        for doc in [json.loads(child["doc"]) for child in children] or [product]:
            items.append(
                {
                    "sku": doc.get("sku") or product["u_sku"],
                    "name": doc["name"],
                    "price": str(doc["price"]),
                    "weight": str(product.get("weight") or 0),
                    "quantity": int(doc.get("quantity") or 0),
                }
            )
    return {"store": store["name"], "items": items}
