"""A new tenant's ShipStation: `add-account` opens an account with its own API key pair and a
manual store, as signing up and enabling the API in ShipStation's settings would."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from sandbox.core import ControlError

if TYPE_CHECKING:
    from sandbox.shipstation.fake import ShipStationFake

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
MANUAL_STORE = "ShipStation Manual Store"


def add_account(fake: ShipStationFake, payload: dict) -> dict[str, Any]:
    """The account `name` (one per tenant); answers the key pair the hub's settings need."""
    slug = str(payload.get("name") or "")
    if not SLUG.match(slug):
        raise ControlError("'name' must be 2-41 lowercase letters, digits or hyphens")
    api_key, api_secret = f"sbx-ss-{secrets.token_hex(12)}", secrets.token_hex(16)
    with fake.db.transaction() as conn:
        if conn.execute("SELECT 1 FROM ss_accounts WHERE slug = ?", (slug,)).fetchone():
            raise ControlError(f"The ShipStation account {slug!r} exists already")
        number = conn.execute("SELECT COUNT(*) FROM ss_accounts").fetchone()[0] + 1
        conn.execute(
            "INSERT INTO ss_accounts (slug, api_key, api_secret, seller_id, warehouse_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (slug, api_key, api_secret, 1_000_000 + number * 1000, 3_000_000 + number * 1000),
        )
        store_id = 2_000_000 + number * 100_000 + 2
        fake._insert_store(conn, slug, store_id, MANUAL_STORE, 0, fake._now())
    return {
        "account": slug,
        "api_key": api_key,
        "api_secret": api_secret,
        "base_url": f"{fake.sandbox.base_url}/shipstation",
        "stores": [{"storeId": store_id, "storeName": MANUAL_STORE}],
    }
