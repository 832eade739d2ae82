"""A new tenant's M3: `add-erp-tenant` creates an ION tenant with its own `.ionapi` credentials.

It gets a company, a division, two warehouses, the B2C customer template and a web-shop customer,
and one item (price, stock in both warehouses) per SKU a store sells, so that store's orders can
be taken. The tenant is kept in `m3_tenants` and loaded again when the sandbox restarts; `ionapi`
answers its `.ionapi` file again, for downloading.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox import demo_data
from sandbox.core import ControlError
from sandbox.demo_data import DemoTenant
from sandbox.m3.customers import create_customer
from sandbox.m3.orders import save_balance
from sandbox.m3.transactions import (
    CURRENCY,
    ORDER_TYPE,
    PRICE_LIST,
    M3Context,
    num,
    template_customer,
    warehouses,
)

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
CODES = {"company": r"^\d{3}$", "division": r"^[A-Z0-9]{1,3}$", "warehouse": r"^\d{3}$"}


def saved_tenants(db: Any) -> list[DemoTenant]:
    """The ERP tenants added on this sandbox, oldest first."""
    rows = db.query("SELECT doc FROM m3_tenants ORDER BY rowid")
    return [DemoTenant(**json.loads(row["doc"])) for row in rows]


def new_tenant(payload: dict, known: dict[str, DemoTenant]) -> DemoTenant:
    """The tenant a control payload asks for, with fresh ION client and service credentials."""
    slug = str(payload.get("name") or "")
    if not SLUG.match(slug):
        raise ControlError("'name' must be 2-41 lowercase letters, digits or hyphens")
    ti = re.sub(r"[^A-Z0-9]", "_", slug.upper()) + "_TST"
    if ti in known or any(t.slug == slug for t in known.values()):
        raise ControlError(f"The ERP tenant {slug!r} ({ti}) exists already")
    letters = re.sub(r"[^A-Z]", "", slug.upper())
    codes = {"company": "500", "division": letters[:3], "warehouse": "500"}
    for name, pattern in CODES.items():
        codes[name] = str(payload.get(name) or codes[name]).upper()
        if not re.match(pattern, codes[name]):
            raise ControlError(f"'{name}' {codes[name]!r} does not match {pattern}")
    prefix = (letters + "XX")[:2]
    return DemoTenant(
        slug=slug,
        name=str(payload.get("display_name") or slug.replace("-", " ").title()),
        erp_tenant=ti,
        company=codes["company"],
        division=codes["division"],
        warehouse=codes["warehouse"],
        sku_prefix=prefix,
        shipstation_key="",
        shipstation_secret="",
        default_customer=f"{prefix}WEB00001",
        client_id=f"{ti}~sbx{secrets.token_hex(6)}",
        client_secret=secrets.token_urlsafe(24),
        service_account_key=f"{ti}#sbxService{secrets.token_hex(6)}",
        service_account_secret=secrets.token_urlsafe(24),
    )


def create_tenant(ctx: M3Context, items: list[dict]) -> int:
    """Save the tenant, its customers and its items; returns how many items were created."""
    tenant = ctx.tenant
    ctx.execute(
        "INSERT INTO m3_tenants(ti, doc) VALUES (?, ?)",
        (tenant.erp_tenant, json.dumps(tenant.__dict__)),
    )
    create_customer(
        ctx,
        {"CUNO": template_customer(tenant), "CUNM": "B2C web customer template", "CUA1": "-",
         "STAT": "90"},
        template=True,
    )  # fmt: skip
    create_customer(
        ctx,
        {"CUNO": tenant.default_customer, "CUNM": f"{tenant.name} web shop",
         "CUA1": "Web orders", "TOWN": "Leeds", "PONO": "LS1 4AP", "CSCD": "GB"},
    )  # fmt: skip
    for item in items:
        sku, price, weight = _item(item)
        try:
            ctx.execute(
                "INSERT INTO m3_items(ti, itno, itds, unms, stat, grwe, lmts) "
                "VALUES (?, ?, ?, 'EA', '20', ?, ?)",
                (ctx.ti, sku, str(item.get("name") or sku)[:30], num(weight), ctx.lmts),
            )
        except sqlite3.IntegrityError:
            raise ControlError(f"Item {sku!r} is listed twice") from None
        ctx.execute(
            "INSERT INTO m3_prices(ti, prrf, cucd, itno, fvdt, sapr, lmts) "
            "VALUES (?, ?, ?, ?, '20240101', ?, ?)",
            (ctx.ti, PRICE_LIST, CURRENCY, sku, num(price), ctx.lmts),
        )
        on_hand = Decimal(max(int(item.get("quantity") or 0), 0) + 20)
        for whlo in ctx.warehouses:
            save_balance(ctx, whlo, sku, on_hand, Decimal(0))
    return len(items)


def _item(item: dict) -> tuple[str, Decimal, Decimal]:
    sku = str(item.get("sku") or "")
    if not sku or len(sku) > 15:
        raise ControlError(f"Each item needs a 'sku' of 1-15 characters, got {sku!r}")
    try:
        return sku, Decimal(str(item.get("price") or 0)), Decimal(str(item.get("weight") or 0))
    except InvalidOperation:
        raise ControlError(f"Item {sku!r}: 'price' and 'weight' must be numbers") from None


def answer(tenant: DemoTenant, sandbox_url: str, items: int) -> dict[str, Any]:
    """What the hub's connection settings need, and the `.ionapi` file itself."""
    return {
        "tenant": tenant.slug,
        "ion_tenant": tenant.erp_tenant,
        "company": tenant.company,
        "division": tenant.division,
        "warehouse": tenant.warehouse,
        "warehouses": list(warehouses(tenant)),
        "order_type": ORDER_TYPE,
        "customer_template": template_customer(tenant),
        "default_customer": tenant.default_customer,
        "items": items,
        "ionapi": demo_data.ionapi_for(tenant, sandbox_url),
    }
