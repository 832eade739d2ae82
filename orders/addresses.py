"""Ship-to addresses, mapped in one place: from a store order in, to the ERP and ShipStation out.

Every field length the upstreams allow is applied here (M3's 36-character lines, 10-character
postcodes, ...), so no other module cuts or renames an address field.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycountry

from connectors import api2cart
from connectors import shipstation as ss
from connectors.m3 import M3Address, NewM3Customer

ERP_DELIVERY_ADDRESS_TYPE = "1"


@dataclass(frozen=True)
class ShipTo:
    name: str
    street1: str
    city: str
    postal_code: str
    country: str
    company: str = ""
    street2: str = ""
    state: str = ""
    phone: str = ""


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a code, alpha-3 code or English name; None when unknown."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


def ship_to_of_store_order(order: api2cart.Order) -> ShipTo:
    address = order.shipping_address
    return ShipTo(
        name=f"{address.first_name} {address.last_name}".strip(),
        company=address.company,
        street1=address.address1,
        street2=address.address2,
        city=address.city,
        state=address.state,
        postal_code=address.postcode,
        country=country_code(address.country) or address.country,
        phone=address.phone,
    )


def erp_address(ship_to: dict[str, str], *, address_id: str = "") -> M3Address:
    """The order's ship-to as an M3 delivery address (`AddBatchAddress`, `AddAddress`)."""
    return M3Address(
        address_type=ERP_DELIVERY_ADDRESS_TYPE,
        address_id=address_id,
        name=(ship_to.get("name") or ship_to.get("company") or "-")[:36],
        line1=(ship_to.get("street1") or "-")[:36],
        line2=(ship_to.get("street2") or "")[:36],
        postcode=(ship_to.get("postal_code") or "")[:10],
        town=(ship_to.get("city") or "")[:20],
        country=(ship_to.get("country") or "")[:3],
        phone=(ship_to.get("phone") or "")[:16],
    )


def erp_customer(
    ship_to: dict[str, str],
    *,
    name: str,
    email: str,
    template: str,
    search_key: str,
    reference: str,
) -> NewM3Customer:
    """A new M3 customer (`CRS610MI/Add`) living at the order's ship-to address."""
    address = erp_address(ship_to)
    return NewM3Customer(
        template=template,
        name=name[:36],
        line1=address.line1,
        line2=address.line2,
        postcode=address.postcode,
        town=address.town,
        country=address.country,
        phone=address.phone,
        email=email[:50],
        search_key=search_key,
        reference=reference[:36],
    )


def shipstation_address(ship_to: dict[str, str], *, fallback_name: str) -> ss.Address:
    return ss.Address(
        name=ship_to.get("name") or fallback_name,
        company=ship_to.get("company") or None,
        street1=ship_to.get("street1") or None,
        street2=ship_to.get("street2") or None,
        city=ship_to.get("city") or None,
        state=ship_to.get("state") or None,
        postal_code=ship_to.get("postal_code") or None,
        country=ship_to.get("country") or None,
        phone=ship_to.get("phone") or None,
    )
