"""Deliveries (`OIS100MI`, `MWS410MI`, `MWS423MI`, `OIS155MI`): lines, heads, package
tracking numbers, and approval for invoicing."""

from __future__ import annotations

from connectors.errors import NotFoundError
from connectors.m3.base import M3Base
from connectors.m3.records import M3Delivery, M3DeliveryLine


class DeliveriesMixin(M3Base):
    """What M3 delivered for an order, and releasing a held delivery."""

    def delivery_lines(self, order_number: str, line_number: str) -> list[M3DeliveryLine]:
        """`OIS100MI/LstDelLineByCO`: the deliveries covering one order line."""
        records = self.execute(
            "OIS100MI", "LstDelLineByCO", {"ORNO": order_number, "PONR": line_number}, max_records=0
        )
        return [M3DeliveryLine.from_record(r) for r in records]

    def get_delivery(self, delivery_number: str) -> M3Delivery:
        """`MWS410MI/GetHead`: carrier, status and the external tracking number `ETRN`."""
        record = self.execute_one("MWS410MI", "GetHead", {"DLIX": delivery_number})
        if record is None:
            raise NotFoundError(f"M3 delivery {delivery_number} not found", upstream=self.upstream)
        return M3Delivery.from_record(record)

    def package_tracking_numbers(self, delivery_number: str) -> list[str]:
        """Package-level tracking (`MWS423MI/LstPackages` `ETRN`) for a delivery without one.

        The package type `PACO` is an input there, so `MWS410MI/LstPackages` names them first.
        """
        packages = self.execute("MWS410MI", "LstPackages", {"DLIX": delivery_number})
        numbers: list[str] = []
        for package_type in dict.fromkeys(p.get("PACT", "") for p in packages):
            fields = {"INOU": "1", "DLIX": delivery_number, "PACO": package_type}
            for record in self.execute("MWS423MI", "LstPackages", fields, max_records=0):
                tracking = record.get("ETRN", "").strip()
                if tracking and tracking not in numbers:
                    numbers.append(tracking)
        return numbers

    def approve_delivery(
        self, order_number: str, warehouse: str, delivery_number: str, terms: str, approver: str
    ) -> None:
        """`OIS155MI/Approve`: release a delivery held for approval (61) to M3's invoicing."""
        fields = {"ORNO": order_number, "WHLO": warehouse, "DLIX": delivery_number,
                  "TEPY": terms, "APBY": approver}  # fmt: skip
        self.execute("OIS155MI", "Approve", fields)
