"""Known exports of the platforms people sell on, recognised by their headers.

Each maps the platform's documented export columns to the hub's fields, and names a set of
headers found together in that export only (`recognised_by`): two layouts never both match one
file. A platform column that holds one value per line where the hub wants one per order (such as
Amazon's per-item shipping and tax) is left unmapped, and so is a field the export lacks. An
export that holds no order lines at all says so (`without_lines`): its orders cannot be imported,
and the preview names the export to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownExport:
    """A built-in mapping: the export's header for each field, and the headers that mark it."""

    name: str
    columns: dict[str, str]
    recognised_by: tuple[str, ...]
    without_lines: str = ""
    """Why the export cannot be imported (it has no order lines) and what to export instead."""
    joins: tuple[str, ...] = ()
    """The exports this one is made of, when the hub joins two files into it (their headers
    are all in it, so it is recognised before them)."""


WOOCOMMERCE = KnownExport(
    # WooCommerce Customer / Order CSV Export, "Default - One Row per Item".
    name="WooCommerce orders export",
    columns={
        "order_number": "order_number",
        "ordered_at": "order_date",
        "store_status": "status",
        "email": "billing_email",
        "currency": "order_currency",
        "ship_to.name": "shipping_full_name",
        "ship_to.company": "shipping_company",
        "ship_to.street1": "shipping_address_1",
        "ship_to.street2": "shipping_address_2",
        "ship_to.city": "shipping_city",
        "ship_to.state": "shipping_state",
        "ship_to.postal_code": "shipping_postcode",
        "ship_to.country": "shipping_country",
        "ship_to.phone": "billing_phone",
        "lines.sku": "item_sku",
        "lines.name": "item_name",
        "lines.quantity": "item_quantity",
        "lines.unit_price": "item_price",
        "total": "order_total",
        "shipping": "shipping_total",
        "tax": "tax_total",
        "discount": "discount_total",
    },
    recognised_by=("order_id", "item_sku", "item_quantity", "shipping_address_1"),
)
BIGCOMMERCE = KnownExport(
    # BigCommerce's Orders export template, products as rows. Its ship-to name is split into
    # first and last name; the customer's full name stands in for it.
    name="BigCommerce orders export",
    columns={
        "order_number": "Order ID",
        "ordered_at": "Order Date",
        "store_status": "Order Status",
        "email": "Customer Email",
        "currency": "Order Currency Code",
        "ship_to.name": "Customer Name",
        "ship_to.company": "Shipping Company",
        "ship_to.street1": "Shipping Street 1",
        "ship_to.street2": "Shipping Street 2",
        "ship_to.city": "Shipping Suburb",
        "ship_to.state": "Shipping State",
        "ship_to.postal_code": "Shipping Zip",
        "ship_to.country": "Shipping Country",
        "ship_to.phone": "Shipping Phone",
        "lines.sku": "Product SKU",
        "lines.name": "Product Name",
        "lines.quantity": "Product Qty",
        "lines.variant": "Product Variation Details",
        "lines.unit_price": "Product Unit Price",
        "total": "Order Total (inc tax)",
        "shipping": "Shipping Cost (inc tax)",
        "tax": "Tax Total",
    },
    recognised_by=("Order ID", "Customer Name", "Shipping Street 1", "Product SKU", "Product Qty"),
)
MAGENTO = KnownExport(
    # Magento 2's sales order grid export: one row per order, no lines, the shipping address in
    # one column.
    name="Magento 2 order grid export",
    columns={
        "order_number": "ID",
        "ordered_at": "Purchase Date",
        "store_status": "Status",
        "email": "Customer Email",
        "ship_to.name": "Ship-to Name",
        "total": "Grand Total (Purchased)",
        "shipping": "Shipping and Handling",
    },
    recognised_by=("ID", "Purchase Point", "Purchase Date", "Bill-to Name", "Ship-to Name"),
    without_lines="Magento's order grid export (Sales › Orders › Export) has one row per order "
    "and no order lines (no SKUs, quantities or prices), so its orders cannot be imported. "
    "Export the orders with one row per item instead (an order export extension, or "
    "ShipStation's order export once the store is connected there), or copy them into the "
    "hub's template.",
)
PRESTASHOP = KnownExport(
    # PrestaShop's back-office Orders export: one row per order, no lines, no address.
    name="PrestaShop orders export",
    columns={
        "order_number": "Reference",
        "ordered_at": "Date",
        "store_status": "Status",
        "ship_to.name": "Customer",
        "ship_to.country": "Delivery",
        "total": "Total",
    },
    recognised_by=("ID", "Reference", "New client", "Delivery", "Customer", "Payment"),
    without_lines="PrestaShop's Orders export (Orders › Export) has one row per order and no "
    "order lines (no SKUs, quantities or prices), so its orders cannot be imported. Export the "
    "order details instead, one row per product (Advanced Parameters › Database › SQL Manager "
    "on the order_detail table with the order's reference and address), or copy them into "
    "the hub's template.",
)
ETSY_ORDERS = KnownExport(
    # EtsySoldOrders: one row per order; its lines are in EtsySoldOrderItems.
    name="Etsy sold orders (EtsySoldOrders)",
    columns={
        "order_number": "Order ID",
        "ordered_at": "Sale Date",
        "currency": "Currency",
        "ship_to.name": "Full Name",
        "ship_to.street1": "Street 1",
        "ship_to.street2": "Street 2",
        "ship_to.city": "Ship City",
        "ship_to.state": "Ship State",
        "ship_to.postal_code": "Ship Zipcode",
        "ship_to.country": "Ship Country",
        "total": "Order Total",
        "shipping": "Shipping",
        "tax": "Sales Tax",
        "discount": "Discount Amount",
    },
    recognised_by=("Sale Date", "Order ID", "Full Name", "Number of Items", "Order Value"),
    without_lines="Etsy's EtsySoldOrders file has one row per order and no order lines. Upload "
    "it together with EtsySoldOrderItems from the same dates (both files in one upload): the "
    "items file gives the lines, this one the buyer, the ship-to and the totals.",
)
ETSY_ORDER_ITEMS = KnownExport(
    # EtsySoldOrderItems: one row per item, with the order's ship-to on each.
    name="Etsy sold order items (EtsySoldOrderItems)",
    columns={
        "order_number": "Order ID",
        "ordered_at": "Sale Date",
        "currency": "Currency",
        "ship_to.name": "Ship Name",
        "ship_to.street1": "Ship Address1",
        "ship_to.street2": "Ship Address2",
        "ship_to.city": "Ship City",
        "ship_to.state": "Ship State",
        "ship_to.postal_code": "Ship Zipcode",
        "ship_to.country": "Ship Country",
        "lines.sku": "SKU",
        "lines.name": "Item Name",
        "lines.variant": "Variations",
        "lines.quantity": "Quantity",
        "lines.unit_price": "Price",
        "shipping": "Order Shipping",
        "tax": "Order Sales Tax",
    },
    recognised_by=("Sale Date", "Order ID", "Transaction ID", "Listing ID", "Item Name"),
)
ETSY_JOINED = KnownExport(
    # EtsySoldOrderItems joined by the hub with EtsySoldOrders on Order ID
    # (`orders.files.joining`): the items file's columns, then the orders file's own; a column
    # both have holds the orders file's value (SKU aside, which is the line's).
    name="Etsy sold orders and items, joined",
    columns={
        "order_number": "Order ID",
        "ordered_at": "Sale Date",
        "currency": "Currency",
        "ship_to.name": "Full Name",
        "ship_to.street1": "Street 1",
        "ship_to.street2": "Street 2",
        "ship_to.city": "Ship City",
        "ship_to.state": "Ship State",
        "ship_to.postal_code": "Ship Zipcode",
        "ship_to.country": "Ship Country",
        "lines.sku": "SKU",
        "lines.name": "Item Name",
        "lines.variant": "Variations",
        "lines.quantity": "Quantity",
        "lines.unit_price": "Price",
        "total": "Order Total",
        "shipping": "Shipping",
        "tax": "Sales Tax",
        "discount": "Discount Amount",
    },
    recognised_by=("Transaction ID", "Listing ID", "Number of Items", "Order Value", "Full Name"),
    joins=(ETSY_ORDER_ITEMS.name, ETSY_ORDERS.name),
)
AMAZON = KnownExport(
    # Amazon's order report (tab-separated), one row per item. Its item-price is the line's
    # price times quantity: the unit price is worked out from it. Shipping and tax are per
    # item, so neither is mapped.
    name="Amazon order report",
    columns={
        "order_number": "order-id",
        "ordered_at": "purchase-date",
        "email": "buyer-email",
        "currency": "currency",
        "ship_to.name": "recipient-name",
        "ship_to.street1": "ship-address-1",
        "ship_to.street2": "ship-address-2",
        "ship_to.city": "ship-city",
        "ship_to.state": "ship-state",
        "ship_to.postal_code": "ship-postal-code",
        "ship_to.country": "ship-country",
        "ship_to.phone": "ship-phone-number",
        "lines.sku": "sku",
        "lines.name": "product-name",
        "lines.quantity": "quantity-purchased",
        "lines.line_total": "item-price",
    },
    recognised_by=("order-id", "order-item-id", "purchase-date", "quantity-purchased",
                   "recipient-name"),
)  # fmt: skip
EBAY = KnownExport(
    # eBay Seller Hub's orders report, one row per item. The order's shipping, tax and total are
    # repeated on each row of a multi-item order and taken once; eBay's own collected tax is
    # left to the money module's rest.
    name="eBay orders report",
    columns={
        "order_number": "Order Number",
        "ordered_at": "Sale Date",
        "email": "Buyer Email",
        "ship_to.name": "Ship To Name",
        "ship_to.street1": "Ship To Address 1",
        "ship_to.street2": "Ship To Address 2",
        "ship_to.city": "Ship To City",
        "ship_to.state": "Ship To State",
        "ship_to.postal_code": "Ship To Zip",
        "ship_to.country": "Ship To Country",
        "ship_to.phone": "Ship To Phone",
        "lines.sku": "Custom Label",
        "lines.name": "Item Title",
        "lines.variant": "Variation Details",
        "lines.quantity": "Quantity",
        "lines.unit_price": "Sold For",
        "total": "Total Price",
        "shipping": "Shipping And Handling",
        "tax": "Seller Collected Tax",
    },
    recognised_by=("Sales Record Number", "Order Number", "Custom Label", "Sold For",
                   "Ship To Name"),
)  # fmt: skip
SQUARESPACE = KnownExport(
    name="Squarespace orders export",
    columns={
        "order_number": "Order ID",
        "ordered_at": "Created at",
        "email": "Email",
        "currency": "Currency",
        "ship_to.name": "Shipping Name",
        "ship_to.street1": "Shipping Address1",
        "ship_to.street2": "Shipping Address2",
        "ship_to.city": "Shipping City",
        "ship_to.state": "Shipping Province",
        "ship_to.postal_code": "Shipping Zip",
        "ship_to.country": "Shipping Country",
        "ship_to.phone": "Shipping Phone",
        "lines.sku": "Lineitem sku",
        "lines.name": "Lineitem name",
        "lines.variant": "Lineitem variant",
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
    recognised_by=("Order ID", "Lineitem sku", "Lineitem variant", "Channel Name",
                   "Shipping Address1"),
)  # fmt: skip
WIX = KnownExport(
    name="Wix orders export",
    columns={
        "order_number": "Order #",
        "ordered_at": "Date",
        "email": "Buyer's Email",
        "currency": "Currency",
        "ship_to.name": "Delivery Customer",
        "ship_to.company": "Delivery Company",
        "ship_to.street1": "Delivery Street Name&Number",
        "ship_to.city": "Delivery City",
        "ship_to.state": "Delivery State",
        "ship_to.postal_code": "Delivery Zip Code",
        "ship_to.country": "Delivery Country",
        "ship_to.phone": "Delivery Phone",
        "lines.sku": "SKU",
        "lines.name": "Item's Name",
        "lines.variant": "Item's Variant",
        "lines.quantity": "Qty",
        "lines.unit_price": "Item's Price",
        "total": "Total",
        "shipping": "Shipping Rate",
        "tax": "Total Tax",
        "financial_status": "Payment Status",
        "fulfillment_status": "Fulfillment Status",
    },
    recognised_by=("Order #", "Delivery Customer", "Delivery Street Name&Number", "Item's Name",
                   "Qty"),
)  # fmt: skip
SQUARE = KnownExport(
    name="Square orders export",
    columns={
        "order_number": "Order",
        "ordered_at": "Order Date",
        "email": "Recipient Email",
        "currency": "Currency",
        "ship_to.name": "Recipient Name",
        "ship_to.street1": "Recipient Address",
        "ship_to.street2": "Recipient Address 2",
        "ship_to.city": "Recipient City",
        "ship_to.state": "Recipient Region",
        "ship_to.postal_code": "Recipient Postal Code",
        "ship_to.country": "Recipient Country",
        "ship_to.phone": "Recipient Phone",
        "lines.sku": "Item SKU",
        "lines.name": "Item Name",
        "lines.variant": "Item Variation",
        "lines.quantity": "Item Quantity",
        "lines.unit_price": "Item Price",
        "total": "Order Total",
        "shipping": "Order Shipping Price",
        "tax": "Order Tax Total",
        "fulfillment_status": "Fulfillment Status",
    },
    recognised_by=("Order", "Order Name", "Recipient Address", "Item SKU", "Item Quantity"),
)
PLATFORM_EXPORTS = (
    WOOCOMMERCE, BIGCOMMERCE, MAGENTO, PRESTASHOP, ETSY_JOINED, ETSY_ORDERS, ETSY_ORDER_ITEMS,
    AMAZON, EBAY, SQUARESPACE, WIX, SQUARE,
)  # fmt: skip
"""Recognised in this order: a joined export before the exports it is made of."""
