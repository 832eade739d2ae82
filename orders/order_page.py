"""An order's page read like an order: the ship-to as an address, lines with their amounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pycountry

from orders.models import Order


def address_lines(ship_to: dict) -> list[str]:
    """The lines a label would print, skipping empty parts; the country by its name."""
    get = lambda key: str(ship_to.get(key) or "").strip()  # noqa: E731
    code = get("country")
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    place = " ".join(part for part in (get("city"), get("state"), get("postal_code")) if part)
    lines = [get("name"), get("company"), get("street1"), get("street2"), place,
             country.name if country else code, get("phone")]  # fmt: skip
    return [line for line in lines if line]


@dataclass(frozen=True)
class SheetLine:
    number: int
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    erp_item_number: str


def order_lines(order: Order) -> list[SheetLine]:
    return [
        SheetLine(
            number=line.line_number,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity.quantize(Decimal(1)),
            unit_price=line.unit_price.quantize(Decimal("0.01")),
            amount=(line.quantity * line.unit_price).quantize(Decimal("0.01")),
            erp_item_number=line.erp_item_number,
        )
        for line in order.lines.order_by("line_number")
    ]
