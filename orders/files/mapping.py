"""Which column of a person's file holds which field of an order.

People bring files from wherever their orders are, so the hub never insists on its own column
names. The ship-to fields are required unless a Requires Shipping column says which orders need
none; a Sales Channel column may name each order's shop. For a new file it suggests a mapping,
best first: a mapping the tenant saved for files
with exactly these headers; a built-in mapping of a known export (Shopify's orders export,
ShipStation's order export, the platforms' exports in `layouts.py`, the hub's own template)
recognised by its headers; a saved mapping
whose columns are all in the file (a bad-rows file sent back, with its extra columns); and
otherwise a guess from the column names. The person checks it on the preview page.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from orders.files.layouts import PLATFORM_EXPORTS, KnownExport
from orders.models import CsvMapping

Mapping = dict[str, int]
"""Field path → the position of its column in the file."""


def normalize_header(text: str) -> str:
    """'Ship To - Name', 'ship to name' and 'SHIP_TO_NAME' all read as 'ship to name'."""
    text = text.lower().replace("#", " number ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@dataclass(frozen=True)
class Field:
    """One field of an order and the header names people commonly give it."""

    path: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    for_shipping: bool = False
    """Required unless the file says which orders need shipping (a Requires Shipping column):
    an order that needs none may leave it blank."""
    help: str = ""
    multiline: bool = False
    """Free text that may hold tabs and line breaks (other control characters never)."""
    unless: str = ""
    """A required field is not needed when this other field has a column (it is worked out
    from it: a line's unit price from its total)."""

    @property
    def is_line_field(self) -> bool:
        return self.path.startswith("lines.")

    @property
    def name(self) -> str:
        return self.path.split(".")[-1]


FIELDS = (
    Field("order_number", "Order Number", ("Order #", "Order No", "Order ID", "PO Number"),
          required=True, help="Rows with the same number form one order."),
    Field("ordered_at", "Order Date",
          ("Date", "Order Created Date", "Created At", "Sale Date", "Purchase Date"),
          help="As spreadsheets and platforms write dates (2025-03-31, 31.03.2025, 03/31/2025, "
          "Mar 31, 2025), optionally with a time; day or month first is decided from the whole "
          "column."),
    Field("email", "Email", ("Buyer Email", "Customer Email", "E-mail"),
          help="Optional: an order without one gets its ERP customer by the tenant's customer "
          "policy."),
    Field("currency", "Currency", ("Currency Code",), help="ISO 4217 code, e.g. USD."),
    Field("ship_to.name", "Recipient Name",
          ("Ship To - Name", "Ship To Name", "Recipient", "Shipping Name", "Ship Name"),
          for_shipping=True),
    Field("ship_to.company", "Company",
          ("Ship To - Company", "Recipient Company", "Shipping Company"), multiline=True),
    Field("ship_to.street1", "Address 1",
          ("Ship To - Address 1", "Address Line 1", "Address", "Street 1", "Shipping Address1",
           "Shipping Address 1", "Street", "Ship Address1", "Ship Address 1"),
          for_shipping=True, multiline=True),
    Field("ship_to.street2", "Address 2",
          ("Ship To - Address 2", "Address Line 2", "Street 2", "Shipping Address2",
           "Shipping Address 2", "Ship Address2", "Ship Address 2"), multiline=True),
    Field("ship_to.city", "City", ("Ship To - City", "Shipping City", "Town", "Ship City"),
          for_shipping=True),
    Field("ship_to.state", "State",
          ("Ship To - State", "Province", "State/Province", "Region", "Shipping Province",
           "Ship State")),
    Field("ship_to.postal_code", "Postal Code",
          ("Ship To - Postal Code", "Zip", "Zip Code", "Postcode", "Shipping Zip",
           "Ship Zipcode", "Ship To Zip", "Ship Postal Code"),
          for_shipping=True),
    Field("ship_to.country", "Country",
          ("Ship To - Country", "Country Code", "Shipping Country", "Ship Country"),
          for_shipping=True,
          help="A name or code: United States, UK, Deutschland, US, DE."),
    Field("ship_to.phone", "Phone", ("Ship To - Phone", "Recipient Phone", "Shipping Phone")),
    Field("lines.sku", "SKU", ("Item SKU", "Lineitem SKU"), required=True,
          help="Every line needs one: an order with a line without a SKU is refused."),
    Field("lines.name", "Item Name", ("Item Description", "Product Name", "Lineitem Name"),
          multiline=True,
          help="A line without a SKU gets the SKU of the catalog item of this name (and "
          "variant), when exactly one has it."),
    Field("lines.variant", "Variant", ("Lineitem Variant", "Item Variant", "Variation"),
          multiline=True, help="The item's variant (size, colour), matched with its name."),
    Field("lines.quantity", "Quantity",
          ("Qty", "Item Quantity", "Item Qty", "Lineitem Quantity", "Quantity Purchased"),
          required=True,
          help="A whole number above 0."),
    Field("lines.unit_price", "Unit Price",
          ("Item Unit Price", "Price", "Lineitem Price", "Price Each"), required=True,
          unless="lines.line_total",
          help="0 or more, as written: 12.50, 12,50, $1,234.50, 1.234,50 €."),
    Field("lines.line_total", "Line Total", ("Line Price", "Lineitem Total"),
          help="The line's price times its quantity (as Amazon's item-price): the unit price "
          "is worked out from it when no Unit Price column is chosen."),
    Field("total", "Amount Paid", ("Order Total", "Total", "Total Paid"),
          help="The order's total as the buyer paid it."),
    Field("shipping", "Shipping Paid", ("Shipping", "Shipping Amount", "Shipping Cost")),
    Field("tax", "Tax Paid", ("Tax", "Taxes", "Tax Amount")),
    Field("discount", "Discount", ("Discount Amount", "Total Discount")),
    Field("store_status", "Store Status", ("Status", "Order Status"),
          help="The order's status in the store; cancelled, refunded or completed orders are "
          "already done."),
    Field("financial_status", "Financial Status", ("Payment Status",),
          help="paid, pending, refunded, voided (Shopify's words)."),
    Field("fulfillment_status", "Fulfillment Status", ("Fulfilment Status",),
          help="fulfilled, partial or unfulfilled."),
    Field("cancelled_at", "Cancelled At", ("Canceled At", "Cancelled Date", "Cancelled"),
          help="Any value marks the order cancelled."),
    Field("lines.requires_shipping", "Requires Shipping",
          ("Lineitem requires shipping", "Shipping Required", "Needs Shipping"),
          help="TRUE/FALSE, yes/no or 1/0. An order whose lines all say no (digital goods, "
          "pick-up) may have no ship-to and is never sent to ShipStation."),
    Field("sales_channel", "Sales Channel",
          ("Shop Name", "Store Name", "Marketplace"),
          help="The shop each order came from; blank: the sales channel chosen below."),
)  # fmt: skip
STATUS_FIELDS = ("store_status", "financial_status", "fulfillment_status", "cancelled_at")
"""Where the store says the order is: one that arrives already done is never sent."""
FIELDS_BY_PATH = {field.path: field for field in FIELDS}
ORDER_MONEY = ("total", "shipping", "tax", "discount")
FIELDS_BY_HEADER = {
    normalize_header(header): field for field in FIELDS for header in (field.label, *field.aliases)
}


SHOPIFY = KnownExport(
    name="Shopify orders export",
    columns={
        "order_number": "Name",
        "ordered_at": "Created at",
        "email": "Email",
        "currency": "Currency",
        "ship_to.name": "Shipping Name",
        "ship_to.company": "Shipping Company",
        "ship_to.street1": "Shipping Address1",
        "ship_to.street2": "Shipping Address2",
        "ship_to.city": "Shipping City",
        "ship_to.state": "Shipping Province",
        "ship_to.postal_code": "Shipping Zip",
        "ship_to.country": "Shipping Country",
        "ship_to.phone": "Shipping Phone",
        "lines.sku": "Lineitem sku",
        "lines.name": "Lineitem name",
        "lines.quantity": "Lineitem quantity",
        "lines.unit_price": "Lineitem price",
        "lines.requires_shipping": "Lineitem requires shipping",
        "total": "Total",
        "shipping": "Shipping",
        "tax": "Taxes",
        "discount": "Discount Amount",
        "financial_status": "Financial Status",
        "fulfillment_status": "Fulfillment Status",
        "cancelled_at": "Cancelled at",
    },
    recognised_by=("Name", "Lineitem sku", "Lineitem quantity", "Shipping Address1"),
)
SHIPSTATION = KnownExport(
    name="ShipStation order export",
    columns={
        "order_number": "Order - Number",
        "ordered_at": "Date - Order Date",
        "store_status": "Order - Status",
        "email": "Customer - Email",
        "ship_to.name": "Ship To - Name",
        "ship_to.company": "Ship To - Company",
        "ship_to.street1": "Ship To - Address 1",
        "ship_to.street2": "Ship To - Address 2",
        "ship_to.city": "Ship To - City",
        "ship_to.state": "Ship To - State",
        "ship_to.postal_code": "Ship To - Postal Code",
        "ship_to.country": "Ship To - Country",
        "ship_to.phone": "Ship To - Phone",
        "lines.sku": "Item - SKU",
        "lines.name": "Item - Name",
        "lines.quantity": "Item - Qty",
        "lines.unit_price": "Item - Price",
        "total": "Amount - Order Total",
        "shipping": "Amount - Order Shipping",
        "tax": "Amount - Order Tax",
    },
    recognised_by=("Order - Number", "Item - SKU", "Item - Qty", "Ship To - Name"),
)
HUB_TEMPLATE = KnownExport(
    name="the hub's template",
    columns={field.path: field.label for field in FIELDS},
    recognised_by=("Order Number", "Email", "Recipient Name", "Address 1", "City", "Postal Code",
                   "Country", "SKU", "Quantity", "Unit Price"),
)  # fmt: skip
KNOWN_EXPORTS = (SHOPIFY, SHIPSTATION, *PLATFORM_EXPORTS, HUB_TEMPLATE)


@dataclass(frozen=True)
class Suggestion:
    """The mapping offered on the preview page, and where it came from."""

    mapping: Mapping
    source: str
    saved: CsvMapping | None = None


def headers_key(header: list[str]) -> str:
    """Files with the same headers in the same order share a key (case and spacing aside)."""
    joined = "\x1f".join(normalize_header(text) for text in header)
    return hashlib.sha256(joined.encode()).hexdigest()


def positions(header: list[str]) -> dict[str, int]:
    """Normalised header → its first position in the file."""
    found: dict[str, int] = {}
    for index, text in enumerate(header):
        found.setdefault(normalize_header(text), index)
    return found


def columns_to_mapping(columns: dict[str, str], header: list[str]) -> Mapping | None:
    """Named columns placed in this file, or None when one of them is missing."""
    where = positions(header)
    mapping = {}
    for path, text in columns.items():
        index = where.get(normalize_header(text))
        if index is None:
            return None
        mapping[path] = index
    return mapping


def recognise(header: list[str]) -> KnownExport | None:
    """The known export whose marking headers are all in the file."""
    present = positions(header)
    for export in KNOWN_EXPORTS:
        if all(normalize_header(text) in present for text in export.recognised_by):
            return export
    return None


def guess(header: list[str]) -> Mapping:
    """Each field's column by its name; the first column wins when several could be it."""
    mapping: Mapping = {}
    for index, text in enumerate(header):
        field = FIELDS_BY_HEADER.get(normalize_header(text))
        if field is not None and field.path not in mapping:
            mapping[field.path] = index
    return mapping


def suggest(header: list[str]) -> Suggestion:
    """The best mapping the hub knows for this file (see the module's docstring)."""
    saved = list(CsvMapping.objects.order_by(F("last_used_at").desc(nulls_last=True), "-pk"))
    key = headers_key(header)
    for candidate in saved:
        if candidate.headers_key == key:
            mapping = columns_to_mapping(candidate.columns, header)
            if mapping is not None:
                return Suggestion(mapping, f"your saved mapping '{candidate.name}'", candidate)
    export = recognise(header)
    if export is not None:
        where = positions(header)
        mapping = {
            path: where[normalize_header(text)]
            for path, text in export.columns.items()
            if normalize_header(text) in where
        }
        return Suggestion(mapping, export.name)
    for candidate in saved:
        mapping = columns_to_mapping(candidate.columns, header)
        if mapping is not None and not missing_required(mapping):
            return Suggestion(mapping, f"your saved mapping '{candidate.name}'", candidate)
    return Suggestion(guess(header), "guessed from the column names")


SHIPPING_FLAG = "lines.requires_shipping"


def is_required(field: Field, mapping: Mapping) -> bool:
    """Whether the file must have a column for the field, with this mapping."""
    if field.required:
        return not (field.unless and field.unless in mapping)
    return field.for_shipping and SHIPPING_FLAG not in mapping


def without_lines(header: list[str], mapping: Mapping) -> str:
    """Why the file cannot be imported when it is a known export that holds no order lines (and
    no SKU column was chosen anyway), naming the export to use instead; else ""."""
    export = recognise(header)
    if export is None or not export.without_lines or "lines.sku" in mapping:
        return ""
    return export.without_lines


def missing_required(mapping: Mapping) -> list[Field]:
    return [field for field in FIELDS if is_required(field, mapping) and field.path not in mapping]


def save_mapping(name: str, header: list[str], mapping: Mapping, *, actor: str) -> CsvMapping:
    """Keep the mapping under its name (replacing one of that name) for files like this one."""
    columns = {path: header[index] for path, index in mapping.items()}
    saved, _ = CsvMapping.objects.update_or_create(
        name=name,
        defaults={
            "headers": header,
            "headers_key": headers_key(header),
            "columns": columns,
            "saved_by": actor,
            "last_used_at": timezone.now(),
        },
    )
    return saved


def mark_used(saved: CsvMapping) -> None:
    """The mapping most recently used comes first when several fit a file."""
    CsvMapping.objects.filter(pk=saved.pk).update(last_used_at=timezone.now())
