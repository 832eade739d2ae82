"""Shared steps of the order-file tests: upload a file, confirm (or change) its mapping."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from orders.files.mapping import FIELDS
from orders.models import CsvImport, Order
from orders.tasks import import_csv_file
from tests.support.portal import Portal

UPLOAD = "/admin/orders/order/upload-csv/"


def csv_file(*rows: str, header: str, name: str = "orders.csv", bom: bool = False):
    text = "\r\n".join([header, *rows]) + "\r\n"
    return SimpleUploadedFile(name, ("\ufeff" if bom else "").encode() + text.encode())


def upload(portal: Portal, file: SimpleUploadedFile):
    """Upload; returns the preview page (or the upload page again when it was refused)."""
    response = portal.post(UPLOAD, {"file": file})
    if response.status_code != 302:
        return response
    return portal.get(response.headers["Location"])


def upload_workbook(portal: Portal, file: SimpleUploadedFile, schema: str = "acme"):
    """Upload a workbook: its page waits while a worker reads it (the worker's task runs here),
    then shows the preview, which is returned."""
    reading = upload(portal, file)
    assert reading.status_code == 200, reading.content[:500]
    kept = reading.context["upload"]
    assert kept.state == CsvImport.State.READING
    with schema_context(schema):
        import_csv_file.apply(args=(kept.pk,), throw=True)
    return portal.get(reading.wsgi_request.path)


OPTIONS = ("done_orders", "sales_channel", "new_channel", "date_order")


def mapping_of(preview) -> dict[str, Any]:
    """The suggested mapping on a preview page and the import's options (sales channel, orders
    already done, dates, all or nothing) as its form would post them."""
    form = preview.context["form"]
    posted = {
        name: "" if form[name].value() is None else str(form[name].value())
        for name in form.fields
        if name.startswith("field__") or name in OPTIONS
    }
    if form["all_or_nothing"].value():
        posted["all_or_nothing"] = "on"
    return posted


def field_name(path: str) -> str:
    return "field__" + path.replace(".", "__")


def confirm(portal: Portal, preview, *, columns: dict[str, int | None] | None = None, **more):
    """Post the preview's mapping, with `columns` (field path → column position) changed."""
    data = mapping_of(preview)
    for path, index in (columns or {}).items():
        data[field_name(path)] = "" if index is None else str(index)
    data.update(more)
    return portal.post(preview.wsgi_request.path, data)


def import_file(portal: Portal, file: SimpleUploadedFile, **changes: Any):
    """Upload and import with the suggested mapping; returns the answer to the import."""
    preview = upload(portal, file)
    assert preview.status_code == 200, preview.content[:500]
    return confirm(portal, preview, **changes)


def orders_of(schema: str = "acme") -> list[Order]:
    with schema_context(schema):
        return list(Order.objects.prefetch_related("lines").order_by("order_number"))


REQUIRED_PATHS = [field.path for field in FIELDS if field.required]


# A Shopify orders export, as Shopify writes it: order columns on an order's first row only.

SHOPIFY_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City",
    "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone", "Notes",
    "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount",
    "Vendor", "Id", "Tags", "Risk Level", "Source", "Lineitem discount",
]  # fmt: skip


def shopify_row(**cells: str) -> list[str]:
    return [cells.get(name, "") for name in SHOPIFY_HEADER]


def first_shopify_row(name: str, **cells: str) -> list[str]:
    """An order's first row: Shopify fills the order's columns here only."""
    order = {
        "Name": name, "Email": "ann@example.com", "Financial Status": "paid",
        "Currency": "CAD", "Subtotal": "44.48", "Shipping": "10.00", "Taxes": "5.78",
        "Total": "55.26", "Discount Amount": "5.00", "Created at": "2025-03-01 14:30:00 -0500",
        "Billing Name": "Ann Lee", "Shipping Name": "Ann Lee",
        "Shipping Street": "1 King St W", "Shipping Address1": "1 King St W",
        "Shipping City": "Toronto", "Shipping Zip": "M5H 1A1", "Shipping Province": "ON",
        "Shipping Country": "CA", "Shipping Phone": "+1 416 555 0100", "Id": "5551234",
        "Source": "web", "Lineitem requires shipping": "true",
    }  # fmt: skip
    return shopify_row(**{**order, **cells})


def table_file(rows: list[list[str]], name: str) -> SimpleUploadedFile:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode())


def shopify_export(*rows: list[str]) -> SimpleUploadedFile:
    return table_file([SHOPIFY_HEADER, *rows], "orders_export_1.csv")


def lineitem(name: str, sku: str, quantity: str, price: str) -> dict[str, str]:
    return {
        "Name": name,
        "Email": "ann@example.com",
        "Lineitem sku": sku,
        "Lineitem name": f"Item {sku}",
        "Lineitem quantity": quantity,
        "Lineitem price": price,
    }
