"""The M3 schema and each demo tenant's starting data."""

from __future__ import annotations

import random
from decimal import Decimal

from sandbox import demo_data
from sandbox.m3.customers import create_customer
from sandbox.m3.orders import save_balance
from sandbox.m3.transactions import CURRENCY, PRICE_LIST, M3Context, num, template_customer


def seed_tenant(ctx: M3Context) -> None:
    """Items and prices for every sellable SKU, stock in two warehouses, known customers."""
    rng = random.Random(f"m3-stock-{ctx.tenant.slug}")
    for product in demo_data.products(ctx.tenant.slug):
        variants = product.variants or ()
        sellable = [(v.sku, v.price, " ".join(value for _, value in v.options)) for v in variants]
        for sku, price, option in sellable or [(product.sku, product.price, "")]:
            name = f"{product.name} {option}".strip()[:30]
            ctx.execute(
                "INSERT INTO m3_items(ti, itno, itds, unms, stat, grwe, lmts) "
                "VALUES (?, ?, ?, 'EA', '20', ?, ?)",
                (ctx.ti, sku, name, num(product.weight_kg), ctx.lmts),
            )
            ctx.execute(
                "INSERT INTO m3_prices(ti, prrf, cucd, itno, fvdt, sapr, lmts) "
                "VALUES (?, ?, ?, ?, '20240101', ?, ?)",
                (ctx.ti, PRICE_LIST, CURRENCY, sku, num(price), ctx.lmts),
            )
            for n, whlo in enumerate(ctx.warehouses):
                on_hand = 0 if rng.random() < 0.1 else rng.randrange(1, 120 if n == 0 else 40)
                save_balance(ctx, whlo, sku, Decimal(on_hand), Decimal(0))
    create_customer(
        ctx,
        {"CUNO": template_customer(ctx.tenant), "CUNM": "B2C web customer template",
         "CUA1": "-", "STAT": "90"},
        template=True,
    )  # fmt: skip
    create_customer(
        ctx,
        {"CUNO": ctx.tenant.default_customer, "CUNM": f"{ctx.tenant.name} web shop",
         "CUA1": "Web orders", "TOWN": "Leeds", "PONO": "LS1 4AP", "CSCD": "GB"},
    )  # fmt: skip
    for person in demo_data.erp_known_customers(ctx.tenant.slug):
        create_customer(
            ctx,
            {"CUNM": person.company or f"{person.first_name} {person.last_name}",
             "CUA1": person.address1, "TOWN": person.city, "PONO": person.postcode,
             "CSCD": person.country, "PHNO": person.phone, "MAIL": person.email,
             "YREF": f"{person.first_name} {person.last_name}"},
        )  # fmt: skip


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS m3_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS m3_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS m3_tokens (
        token TEXT PRIMARY KEY, kind TEXT NOT NULL, ti TEXT NOT NULL, client_id TEXT NOT NULL,
        expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS m3_customers (
        ti TEXT, cuno TEXT, template INTEGER NOT NULL, created_by_api INTEGER NOT NULL,
        mail TEXT NOT NULL, alcu TEXT NOT NULL, lmts INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (ti, cuno))""",
    """CREATE TABLE IF NOT EXISTS m3_addresses (
        ti TEXT, cuno TEXT, adrt TEXT, adid TEXT, data TEXT NOT NULL,
        PRIMARY KEY (ti, cuno, adrt, adid))""",
    """CREATE TABLE IF NOT EXISTS m3_items (
        ti TEXT, itno TEXT, itds TEXT NOT NULL, unms TEXT NOT NULL, stat TEXT NOT NULL,
        grwe TEXT NOT NULL, lmts INTEGER NOT NULL, PRIMARY KEY (ti, itno))""",
    """CREATE TABLE IF NOT EXISTS m3_prices (
        ti TEXT, prrf TEXT, cucd TEXT, itno TEXT, fvdt TEXT, sapr TEXT NOT NULL,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, prrf, cucd, itno, fvdt))""",
    """CREATE TABLE IF NOT EXISTS m3_balances (
        ti TEXT, whlo TEXT, itno TEXT, stqt TEXT NOT NULL, alqt TEXT NOT NULL,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, whlo, itno))""",
    """CREATE TABLE IF NOT EXISTS m3_orders (
        ti TEXT, batch_orno TEXT, orno TEXT, cuno TEXT NOT NULL, cuor TEXT NOT NULL,
        head TEXT NOT NULL, lmts INTEGER NOT NULL, PRIMARY KEY (ti, batch_orno),
        UNIQUE (ti, orno))""",
    """CREATE TABLE IF NOT EXISTS m3_order_lines (
        ti TEXT, batch_orno TEXT, ponr INTEGER, posx INTEGER, itno TEXT NOT NULL,
        whlo TEXT NOT NULL, orqt TEXT NOT NULL, sapr TEXT NOT NULL, nepr TEXT NOT NULL,
        alqt TEXT NOT NULL, dlqt TEXT NOT NULL, ivqt TEXT NOT NULL, orst TEXT NOT NULL,
        dwdt TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ti, batch_orno, ponr, posx))""",
    """CREATE TABLE IF NOT EXISTS m3_order_errors (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ti TEXT NOT NULL, batch_orno TEXT NOT NULL,
        levl TEXT NOT NULL, msid TEXT NOT NULL, mdta TEXT NOT NULL, tx60 TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS m3_deliveries (
        ti TEXT, dlix INTEGER, orno TEXT NOT NULL, whlo TEXT NOT NULL, pgrs TEXT NOT NULL,
        etrn TEXT NOT NULL, fwno TEXT NOT NULL, modl TEXT NOT NULL, dsdt TEXT NOT NULL,
        dshm TEXT NOT NULL, conn INTEGER NOT NULL, ivno INTEGER, ivdt TEXT, grw2 TEXT NOT NULL,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, dlix))""",
    """CREATE TABLE IF NOT EXISTS m3_delivery_lines (
        ti TEXT, dlix INTEGER, orno TEXT NOT NULL, ponr INTEGER, posx INTEGER,
        itno TEXT NOT NULL, trqt TEXT NOT NULL, PRIMARY KEY (ti, dlix, ponr, posx))""",
    """CREATE TABLE IF NOT EXISTS m3_invoices (
        ti TEXT, yea4 INTEGER, ivno INTEGER, orno TEXT NOT NULL, dlix INTEGER NOT NULL,
        cuno TEXT NOT NULL, cucd TEXT NOT NULL, idat TEXT NOT NULL, dudt TEXT NOT NULL,
        ivav TEXT NOT NULL, rafc TEXT NOT NULL, reco TEXT NOT NULL, dtp5 TEXT,
        lmts INTEGER NOT NULL, PRIMARY KEY (ti, yea4, ivno))""",
    "CREATE TABLE IF NOT EXISTS m3_tenants (ti TEXT PRIMARY KEY, doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS m3_customers_mail ON m3_customers (ti, mail)",
    "CREATE INDEX IF NOT EXISTS m3_customers_alcu ON m3_customers (ti, alcu, cuno)",
    "CREATE INDEX IF NOT EXISTS m3_order_cuor ON m3_orders (ti, cuor)",
)
