"""Ship-to addresses, mapped in one place: from a store order in, to the ERP and ShipStation out.

Every field length the upstreams allow is applied here (M3's 36-character lines, 10-character
postcodes, ...), so no other module cuts or renames an address field.
"""

from __future__ import annotations

import gettext
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

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


COUNTRY_ALIASES = {
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "eire": "IE",
    "u s a": "US", "u s": "US", "america": "US",
    "united states": "US", "united states of america": "US",
    "holland": "NL", "russia": "RU", "turkey": "TR", "czechia": "CZ",
    "czech republic": "CZ", "south korea": "KR", "korea": "KR", "north korea": "KP",
    "vatican": "VA", "macedonia": "MK", "swaziland": "SZ", "ivory coast": "CI", "uae": "AE",
    "cape verde": "CV", "laos": "LA", "syria": "SY", "palestine": "PS",
}  # fmt: skip
"""Names people write that are neither ISO's nor a translation of them."""
COUNTRY_NAME_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "fi", "cs")
"""The main EU languages whose country names are read too (Deutschland, Allemagne, Alemania)."""


def _country_key(text: str) -> str:
    """'Côte d'Ivoire', 'COTE D IVOIRE' and 'the U.S.' compare alike (accents and case aside)."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(
        char if char.isalnum() else " " for char in plain if not unicodedata.combining(char)
    )
    words = plain.split()
    if words[:1] == ["the"] and len(words) > 1:
        words = words[1:]
    return " ".join(words)


@cache
def _country_names() -> dict[str, str]:
    """Every name a country goes by here → its code: ISO's names and codes, the main EU
    languages' names (pycountry's translations), and the aliases above."""
    names: dict[str, str] = {}
    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        for language in COUNTRY_NAME_LANGUAGES
    ]
    for country in pycountry.countries:
        english = [
            getattr(country, attribute, "")
            for attribute in ("name", "official_name", "common_name")
        ]
        for name in (*english, country.alpha_3):
            if name:
                names.setdefault(_country_key(name), country.alpha_2)
    for country in pycountry.countries:  # after every English name, which wins a clash
        for translation in translations:
            names.setdefault(_country_key(translation.gettext(country.name)), country.alpha_2)
    names.update(COUNTRY_ALIASES)
    return names


@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a code, an alpha-3 code, or a country's name as people write
    it (English or a main EU language, "UK", "USA", "Deutschland"); None when unknown."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        pass
    key = _country_key(text)
    return _country_names().get(key) if key else None


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
