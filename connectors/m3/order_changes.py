"""Changes to a *confirmed* customer order (docs/m3-order-changes.md): cancelling its open lines
and sending them to a new delivery address.

The contract only knows `OIS100MI/DelBatchHead`, which works on batch orders before `Confirm`.
After it, M3 changes an order line by line, and which transaction a tenant allows is its own
choice, so every method takes the transaction as "PROGRAM/TRANSACTION" (the hub's setting).
The order-level methods list the lines with `OIS100MI/LstLine`, call the transaction for each
line still open, and report per line (`M3OrderChange`): a line the warehouse has started on, or
one M3 refuses, is left for a person, with the next step in M3 spelled out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace

from connectors.errors import M3TransactionError
from connectors.m3.customers import CustomersMixin
from connectors.m3.orders import OrdersMixin
from connectors.m3.records import (
    LineStage,
    M3Address,
    M3LineRefusal,
    M3OrderChange,
    M3OrderLine,
)
from connectors.m3.values import Fields

LINE_CANCEL_TRANSACTION = "OIS100MI/DelLine"
"""Deletes one line of a confirmed order (M3 metadata; see the doc for `CloLine`)."""
LINE_ADDRESS_TRANSACTION = "OIS100MI/ChgLineBatchEnt"
"""Changes one line of a confirmed order, here its delivery address number `ADID`."""
DELIVERY_ADDRESS = "1"
_TRANSACTION_NAME = re.compile(r"^([A-Z0-9]{3,10})/([A-Za-z0-9_]{1,32})$")


def transaction_name(transaction: str) -> tuple[str, str]:
    """`OIS100MI/DelLine` → ("OIS100MI", "DelLine"); a malformed setting fails loudly."""
    match = _TRANSACTION_NAME.match(transaction.strip())
    if match is None:
        raise ValueError(f"An M3 transaction is written PROGRAM/TRANSACTION, not {transaction!r}")
    return match.group(1), match.group(2)


def address_key(address: M3Address) -> str:
    """A 6-character address number (`ADID`) derived from the address itself, so adding the
    same address again finds it already there instead of creating a second one."""
    text = "|".join(
        part.strip().upper()
        for part in (address.name, address.line1, address.line2, address.line3,
                     address.postcode, address.town, address.country)
    )  # fmt: skip
    return "W" + hashlib.sha256(text.encode()).hexdigest()[:5].upper()


def one_line(address: M3Address) -> str:
    parts = (address.name, address.line1, address.line2, address.line3, address.postcode,
             address.town, address.country)  # fmt: skip
    return ", ".join(part for part in parts if part.strip())


class OrderChangesMixin(CustomersMixin, OrdersMixin):
    """Cancelling lines of, and re-addressing, orders M3 has already confirmed."""

    # Cancelling

    def cancel_order_line(
        self,
        order_number: str,
        line_number: str,
        line_suffix: str = "0",
        transaction: str = LINE_CANCEL_TRANSACTION,
        *,
        reason: str = "",
    ) -> None:
        """Cancel one line; M3's refusal (delivered, invoiced, ...) raises M3TransactionError.

        `reason` goes to M3 as the transaction reason `RSCD` (a code the tenant defines).
        """
        program, name = transaction_name(transaction)
        fields = {"ORNO": order_number, "PONR": line_number, "POSX": line_suffix or "0",
                  "RSCD": reason}  # fmt: skip
        self.execute(program, name, fields, as_list=False)

    def cancel_order_lines(
        self, order_number: str, transaction: str = LINE_CANCEL_TRANSACTION, *, reason: str = ""
    ) -> M3OrderChange:
        """Cancel every line still open; lines past that point are left for a person."""
        transaction_name(transaction)

        def cancel(line: M3OrderLine) -> None:
            self.cancel_order_line(
                order_number, line.line_number, line.line_suffix, transaction, reason=reason
            )

        change = self._each_open_line(order_number, transaction, cancel)
        return replace(change, next_step=_cancel_next_step(change))

    # Re-addressing

    def change_delivery_address(
        self,
        order_number: str,
        address: M3Address,
        transaction: str = LINE_ADDRESS_TRANSACTION,
    ) -> M3OrderChange:
        """Send the order's open lines to `address`.

        M3 has no transaction that rewrites a confirmed order's own address, so the address is
        added to the order's customer (`CRS610MI/AddAddress`, type 1) and each open line is
        pointed at it by its number (`ADID`). Without an `address_id` one is derived from the
        address; an explicit one must name this address only, as an existing one is reused.
        """
        program, name = transaction_name(transaction)
        head = self.get_order_head(order_number)
        delivery = replace(
            address,
            address_type=DELIVERY_ADDRESS,
            address_id=address.address_id or address_key(address),
        )
        self._keep_customer_address(head.customer_number, delivery)

        def readdress(line: M3OrderLine) -> None:
            fields: Fields = {
                "ORNO": order_number,
                "PONR": line.line_number,
                "POSX": line.line_suffix or "0",
                "ADID": delivery.address_id,
            }
            self.execute(program, name, fields, as_list=False)

        change = self._each_open_line(order_number, transaction, readdress)
        return replace(change, next_step=_address_next_step(change, delivery))

    def order_address(self, order_number: str, address_type: str = DELIVERY_ADDRESS) -> M3Address:
        """`OIS100MI/GetAddress`: the order's own address of one type (1 = delivery)."""
        fields = {"ORNO": order_number, "ADRT": address_type}
        record = self.execute_one("OIS100MI", "GetAddress", fields) or {}
        return M3Address.from_record(record, address_type)

    def line_address(
        self, order_number: str, line_number: str, line_suffix: str = "0"
    ) -> M3Address:
        """`OIS100MI/GetLineAddress`: where M3 will deliver one line."""
        fields = {"ORNO": order_number, "PONR": line_number, "POSX": line_suffix or "0"}
        record = self.execute_one("OIS100MI", "GetLineAddress", fields) or {}
        return M3Address.from_record(record, DELIVERY_ADDRESS)

    # Plumbing

    def _keep_customer_address(self, customer_number: str, address: M3Address) -> None:
        """Add the address to the customer; already there (a retry) is fine."""
        try:
            self.add_customer_address(customer_number, address)
        except M3TransactionError as exc:
            if exc.field != "ADID" or "already" not in exc.message.lower():
                raise

    def _each_open_line(
        self, order_number: str, transaction: str, act: Callable[[M3OrderLine], None]
    ) -> M3OrderChange:
        """Run `act` on each open line; sort every line into changed, unchanged or refused."""
        changed: list[M3OrderLine] = []
        unchanged: list[M3OrderLine] = []
        refused: list[M3LineRefusal] = []
        for line in self.order_lines(order_number):
            stage = line.stage
            if stage is LineStage.CLOSED:
                unchanged.append(line)
            elif stage is not LineStage.OPEN:
                refused.append(M3LineRefusal(line, f"is {stage}"))
            else:
                try:
                    act(line)
                except M3TransactionError as exc:
                    refused.append(M3LineRefusal(line, f"was refused by M3: {exc.message}", exc))
                    continue
                changed.append(line)
        return M3OrderChange(
            order_number, transaction, tuple(changed), tuple(unchanged), tuple(refused)
        )


def _lines_and_reasons(change: M3OrderChange) -> str:
    return "; ".join(f"{r.line.label} ({r.line.item_number}) {r.reason}" for r in change.refused)


def _cancel_next_step(change: M3OrderChange) -> str:
    if change.complete:
        return ""
    return (
        f"In M3, open customer order {change.order_number} in 'Customer Order. Open' (OIS100) "
        f"and go to its lines (OIS101). The hub could not cancel: {_lines_and_reasons(change)}. "
        "Delete a line that is still open; for a line on a picking list, have the warehouse "
        "reverse the picking list first; for a line already delivered or invoiced, arrange the "
        "return and credit note with the customer instead."
    )


def _address_next_step(change: M3OrderChange, address: M3Address) -> str:
    if change.complete:
        return ""
    return (
        f"In M3, open customer order {change.order_number} in 'Customer Order. Open' (OIS100), "
        "option 11 (Addresses), tick 'Change address' for the delivery address in 'Customer "
        f"Order. Connect Address' (OIS102) and enter: {one_line(address)}. Not re-addressed: "
        f"{_lines_and_reasons(change)}; for a line on a picking list ask the warehouse, for one "
        "already delivered ask the carrier to redirect the parcel."
    )
