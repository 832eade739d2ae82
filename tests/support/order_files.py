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


# Platforms' order exports, their documented headers (as far as the tests need them).

WOOCOMMERCE_HEADER = [
    "order_id", "order_number", "order_number_formatted", "order_date", "status",
    "shipping_total", "shipping_tax_total", "fee_total", "fee_tax_total", "tax_total",
    "cart_discount", "order_discount", "discount_total", "order_total", "refunded_total",
    "order_currency", "payment_method", "shipping_method", "customer_id", "billing_first_name",
    "billing_last_name", "billing_full_name", "billing_company", "billing_email", "billing_phone",
    "billing_address_1", "billing_address_2", "billing_postcode", "billing_city",
    "billing_state", "billing_state_code", "billing_country", "shipping_first_name",
    "shipping_last_name", "shipping_full_name", "shipping_address_1", "shipping_address_2",
    "shipping_postcode", "shipping_city", "shipping_state", "shipping_state_code",
    "shipping_country", "shipping_company", "customer_note", "item_id", "item_product_id",
    "item_name", "item_sku", "item_quantity", "item_subtotal", "item_subtotal_tax",
    "item_total", "item_total_tax", "item_refunded", "item_refunded_qty", "item_meta",
    "item_price", "shipping_items", "fee_items", "tax_items", "coupon_items", "order_notes",
    "download_permissions_granted",
]  # fmt: skip
BIGCOMMERCE_HEADER = [
    "Order ID", "Customer ID", "Customer Name", "Customer Email", "Customer Phone", "Order Date",
    "Order Status", "Subtotal (inc tax)", "Subtotal (ex tax)", "Tax Total",
    "Shipping Cost (inc tax)", "Shipping Cost (ex tax)", "Ship Method", "Handling Cost (inc tax)",
    "Handling Cost (ex tax)", "Store Credit Redeemed", "Gift Certificate Amount Redeemed",
    "Coupon Details", "Order Total (inc tax)", "Order Total (ex tax)", "Payment Method",
    "Total Quantity", "Total Shipped", "Date Shipped", "Order Currency Code", "Exchange Rate",
    "Order Notes", "Customer Message", "Billing First Name", "Billing Last Name",
    "Billing Company", "Billing Street 1", "Billing Street 2", "Billing Suburb", "Billing State",
    "Billing Zip", "Billing Country", "Billing Phone", "Billing Email", "Shipping First Name",
    "Shipping Last Name", "Shipping Company", "Shipping Street 1", "Shipping Street 2",
    "Shipping Suburb", "Shipping State", "Shipping Zip", "Shipping Country", "Shipping Phone",
    "Shipping Email", "Product ID", "Product Qty", "Product SKU", "Product Name",
    "Product Weight", "Product Variation Details", "Product Unit Price", "Product Total Price",
]  # fmt: skip
MAGENTO_HEADER = [
    "ID", "Purchase Point", "Purchase Date", "Bill-to Name", "Ship-to Name",
    "Grand Total (Base)", "Grand Total (Purchased)", "Status", "Billing Address",
    "Shipping Address", "Shipping Information", "Customer Email", "Customer Group", "Subtotal",
    "Shipping and Handling", "Customer Name", "Payment Method", "Total Refunded",
]  # fmt: skip
PRESTASHOP_HEADER = [
    "ID", "Reference", "New client", "Delivery", "Customer", "Total", "Payment", "Status", "Date",
]  # fmt: skip
ETSY_ORDERS_HEADER = [
    "Sale Date", "Order ID", "Buyer User ID", "Full Name", "First Name", "Last Name",
    "Number of Items", "Payment Method", "Date Shipped", "Street 1", "Street 2", "Ship City",
    "Ship State", "Ship Zipcode", "Ship Country", "Currency", "Order Value", "Coupon Code",
    "Coupon Details", "Discount Amount", "Shipping Discount", "Shipping", "Sales Tax",
    "Order Total", "Status", "Card Processing Fees", "Order Net", "Adjusted Order Total",
    "Adjusted Card Processing Fees", "Adjusted Net Order Amount", "Buyer", "Order Type",
    "Payment Type", "InPerson Discount", "InPerson Location", "SKU",
]  # fmt: skip
ETSY_ORDER_ITEMS_HEADER = [
    "Sale Date", "Item Name", "Buyer", "Quantity", "Price", "Coupon Code", "Coupon Details",
    "Discount Amount", "Shipping Discount", "Order Shipping", "Order Sales Tax", "Item Total",
    "Currency", "Transaction ID", "Listing ID", "Date Paid", "Date Shipped", "Ship Name",
    "Ship Address1", "Ship Address2", "Ship City", "Ship State", "Ship Zipcode", "Ship Country",
    "Order ID", "Variations", "Order Type", "Listings Type", "Payment Type",
    "InPerson Discount", "InPerson Location", "VAT Paid by Buyer", "SKU",
]  # fmt: skip
ETSY_JOINED_HEADER = ETSY_ORDER_ITEMS_HEADER + [
    name for name in ETSY_ORDERS_HEADER if name not in ETSY_ORDER_ITEMS_HEADER
]
"""The two Etsy files as the hub joins them: the items file's columns, then the orders file's
own."""
AMAZON_HEADER = [
    "order-id", "order-item-id", "purchase-date", "payments-date", "buyer-email", "buyer-name",
    "buyer-phone-number", "sku", "product-name", "quantity-purchased", "currency", "item-price",
    "item-tax", "shipping-price", "shipping-tax", "ship-service-level", "recipient-name",
    "ship-address-1", "ship-address-2", "ship-address-3", "ship-city", "ship-state",
    "ship-postal-code", "ship-country", "ship-phone-number", "delivery-start-date",
    "delivery-end-date", "delivery-time-zone", "delivery-Instructions", "sales-channel",
    "is-business-order", "purchase-order-number", "price-designation",
]  # fmt: skip
EBAY_HEADER = [
    "Sales Record Number", "Order Number", "Buyer Username", "Buyer Name", "Buyer Email",
    "Buyer Note", "Buyer Address 1", "Buyer Address 2", "Buyer City", "Buyer State",
    "Buyer Zip", "Buyer Country", "Ship To Name", "Ship To Phone", "Ship To Address 1",
    "Ship To Address 2", "Ship To City", "Ship To State", "Ship To Zip", "Ship To Country",
    "Item Number", "Item Title", "Custom Label", "Sold Via Promoted Listings", "Quantity",
    "Sold For", "Shipping And Handling", "Seller Collected Tax", "eBay Collected Tax",
    "Total Price", "Payment Method", "Sale Date", "Paid On Date", "Ship By Date",
    "Shipped On Date", "Shipping Service", "Tracking Number", "Transaction ID",
    "Variation Details",
]  # fmt: skip
SQUARESPACE_HEADER = [
    "Order ID", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Currency", "Subtotal", "Shipping", "Taxes", "Amount Refunded", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem sku", "Lineitem variant", "Lineitem requires shipping",
    "Lineitem weight", "Lineitem type", "Billing Name", "Billing Address1", "Billing Address2",
    "Billing City", "Billing Zip", "Billing Province", "Billing Country", "Billing Phone",
    "Shipping Name", "Shipping Address1", "Shipping Address2", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Cancelled at", "Private Notes",
    "Channel", "Channel Type", "Channel Name", "Payment Method", "Payment Reference",
]  # fmt: skip
WIX_HEADER = [
    "Order #", "Date", "Time", "Billing Customer", "Billing Company", "Billing Country",
    "Billing State", "Billing City", "Billing Street Name&Number", "Billing Zip Code",
    "Billing Phone", "Delivery Customer", "Delivery Company", "Delivery Country",
    "Delivery State", "Delivery City", "Delivery Street Name&Number", "Delivery Zip Code",
    "Delivery Phone", "Buyer's Email", "Delivery Method", "Item's Name", "Item's Variant", "SKU",
    "Qty", "Item's Price", "Item's Weight", "Item's Custom Text", "Coupon", "Notes to Seller",
    "Shipping Rate", "Total Tax", "Total", "Currency", "Payment Method", "Payment Status",
    "Fulfillment Status", "Tracking Number", "Fulfillment Service", "Shipping Label",
]  # fmt: skip
SQUARE_HEADER = [
    "Order", "Order Name", "Order Date", "Currency", "Order Subtotal", "Order Shipping Price",
    "Order Tax Total", "Order Total", "Order Refunded Amount", "Fulfillment Date",
    "Fulfillment Type", "Fulfillment Status", "Channels", "Fulfillment Location",
    "Fulfillment Notes", "Recipient Name", "Recipient Email", "Recipient Phone",
    "Recipient Address", "Recipient Address 2", "Recipient Postal Code", "Recipient City",
    "Recipient Region", "Recipient Country", "Item Quantity", "Item Name", "Item SKU",
    "Item Variation", "Item Modifiers", "Item Price", "Item Options Total Price",
    "Item Total Price",
]  # fmt: skip


def row_of(header: list[str], **cells: str) -> list[str]:
    """A row under `header`: each named column's cell (by exact header), the others blank."""
    unknown = set(cells) - set(header)
    assert not unknown, unknown
    return [cells.get(name, "") for name in header]


def tsv_file(rows: list[list[str]], name: str) -> SimpleUploadedFile:
    """A tab-separated file, as Amazon's order reports are."""
    text = "".join("\t".join(row) + "\r\n" for row in rows)
    return SimpleUploadedFile(name, text.encode())
