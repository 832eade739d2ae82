"""Two exports of one platform joined into one file, for platforms that split an order in two.

Etsy exports its orders as two CSV files: EtsySoldOrders (one row per order: the buyer, the
ship-to, the totals) and EtsySoldOrderItems (one row per item). Uploaded together, they are
joined on Order ID into one file the rest of the import reads like any other: each row of the
items file (its lines), followed by the orders file's own columns for that order. A column both
files have holds the orders file's value (the order's own record), except the SKU, which in the
items file is the line's. Rows keep the items file's order, so the problems name its rows.
"""

from __future__ import annotations

import csv
import io

from orders.files.layouts import ETSY_ORDER_ITEMS, ETSY_ORDERS
from orders.files.mapping import normalize_header, recognise
from orders.files.reading import Limits, UnreadableFile, read_rows

ORDER_ID = normalize_header("Order ID")
LINE_COLUMNS = frozenset({normalize_header("SKU")})
"""Columns both files have whose value belongs to the line: the items file's is kept."""
NOT_A_PAIR = (
    "Two files are joined only when they are Etsy's EtsySoldOrders and EtsySoldOrderItems "
    "(Shop Manager › Settings › Options › Download Data, Orders and Order Items); upload any "
    "other file on its own."
)


def join_files(first: bytes, second: bytes, limits: Limits | None = None) -> bytes:
    """The two files as one CSV (UTF-8, every cell quoted); raises `UnreadableFile` when they are
    not a pair the hub joins, or cannot be read."""
    limits = limits or Limits.current()
    header_a, rows_a = read_rows(first, limits)
    header_b, rows_b = read_rows(second, limits)
    exports = {_name(header_a): (header_a, rows_a), _name(header_b): (header_b, rows_b)}
    if set(exports) != {ETSY_ORDERS.name, ETSY_ORDER_ITEMS.name}:
        raise UnreadableFile(NOT_A_PAIR)
    items_header, items = exports[ETSY_ORDER_ITEMS.name]
    orders_header, orders = exports[ETSY_ORDERS.name]
    items_at = {normalize_header(name): index for index, name in enumerate(items_header)}
    orders_at = {normalize_header(name): index for index, name in enumerate(orders_header)}
    by_id: dict[str, list[str]] = {}
    for _, cells in orders:
        by_id.setdefault(_cell(cells, orders_at[ORDER_ID]).strip(), cells)
    extra = [
        index for index, name in enumerate(orders_header) if normalize_header(name) not in items_at
    ]
    shared = [
        (items_at[key], index)
        for key, index in orders_at.items()
        if key in items_at and key not in LINE_COLUMNS and key != ORDER_ID
    ]
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow([*items_header, *(orders_header[index] for index in extra)])
    for _, cells in items:
        row = cells + [""] * (len(items_header) - len(cells))
        order = by_id.get(_cell(row, items_at[ORDER_ID]).strip())
        if order is not None:
            for item_index, order_index in shared:
                row[item_index] = _cell(order, order_index) or row[item_index]
        writer.writerow([*row, *(_cell(order, index) if order else "" for index in extra)])
    return ("\ufeff" + out.getvalue()).encode()


def _name(header: list[str]) -> str:
    export = recognise(header)
    return export.name if export else ""


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""
