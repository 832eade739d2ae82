"""Labels, shipments and fulfillments."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime

from sandbox.core import SandboxRequest
from sandbox.shipstation.shared import (
    UPDATABLE_STATUSES,
    Account,
    ApiError,
    Notification,
    QueryArgs,
    _date_range,
    _day_field,
    _envelope,
    _field_matchers,
    _json_object,
    _next_id,
    _order_by,
    _paging,
    _required_int,
    _weight,
    format_timestamp,
    pacific_day,
    parse_api_datetime,
    sort_key,
)


class ShipmentsMixin:
    """Marking orders shipped, buying labels, and listing shipments and fulfillments."""

    def _mark_as_shipped(self, req: SandboxRequest, account: Account) -> dict:
        """An external shipment: a fulfillment, never a shipment, and no SHIP_NOTIFY."""
        payload = _json_object(req, "markShippedRequest")
        order_id = _required_int(payload, "orderId", "markShippedRequest")
        carrier = payload.get("carrierCode")
        if not isinstance(carrier, str) or not carrier:
            raise ApiError.invalid({"markShippedRequest.carrierCode": ["carrierCode is required."]})
        now = self._now()
        try:
            shipped_on = parse_api_datetime(payload["shipDate"]) if payload.get("shipDate") else now
        except ValueError:
            raise ApiError.invalid(
                {"markShippedRequest.shipDate": ["shipDate is not a valid date."]}
            ) from None
        with self.db.transaction() as conn:
            order = self._load_order(conn, account.slug, order_id)
            if order["orderStatus"] not in UPDATABLE_STATUSES:
                raise ApiError.message(
                    400, f"Order {order_id} is {order['orderStatus']} and cannot be marked shipped."
                )
            fulfillment = {
                "fulfillmentId": _next_id(conn, "fulfillment"),
                "orderId": order_id,
                "orderNumber": order["orderNumber"],
                "userId": None,
                "customerEmail": order["customerEmail"],
                "trackingNumber": payload.get("trackingNumber"),
                "createDate": format_timestamp(now),
                "shipDate": pacific_day(shipped_on),
                "voidDate": None,
                "deliveryDate": None,
                "carrierCode": carrier,
                "fulfillmentProviderCode": None,
                "fulfillmentServiceCode": None,
                "fulfillmentFee": 0.0,
                "voidRequested": False,
                "voided": False,
                "marketplaceNotified": bool(payload.get("notifySalesChannel")),
                "notifyErrorMessage": None,
                "shipTo": order["shipTo"],
            }
            conn.execute(
                "INSERT INTO ss_fulfillments"
                " (fulfillment_id, account, order_id, create_date, ship_date, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    fulfillment["fulfillmentId"],
                    account.slug,
                    order_id,
                    sort_key(now),
                    fulfillment["shipDate"],
                    json.dumps(fulfillment),
                ),
            )
            order["orderStatus"] = "shipped"
            order["shipDate"] = fulfillment["shipDate"]
            order["carrierCode"] = carrier
            self._change_order(conn, account.slug, order)
        return {"orderId": order_id, "orderNumber": order["orderNumber"]}

    def _create_label_for_order(self, req: SandboxRequest, account: Account) -> dict:
        """Buy a label for one order: a shipment plus SHIP_NOTIFY, like the `ship` control."""
        payload = _json_object(req, "labelRequest")
        order_id = _required_int(payload, "orderId", "labelRequest")
        with self.db.transaction() as conn:
            order = self._load_order(conn, account.slug, order_id)
            if order["orderStatus"] not in UPDATABLE_STATUSES:
                raise ApiError.message(
                    400, f"Order {order_id} is {order['orderStatus']} and cannot get a label."
                )
            shipment, notification = self._ship_orders(conn, account.slug, [order], payload)[0]
        self._send([notification])
        label = base64.b64encode(b"%PDF-1.4\n% ShipStation sandbox label\n").decode()
        return {
            "shipmentId": shipment["shipmentId"],
            "shipmentCost": shipment["shipmentCost"],
            "insuranceCost": shipment["insuranceCost"],
            "trackingNumber": shipment["trackingNumber"],
            "labelData": label,
            "formData": None,
        }

    def _ship_orders(
        self,
        conn: sqlite3.Connection,
        account: str,
        orders: list[dict],
        label: dict | None = None,
    ) -> list[tuple[dict, Notification]]:
        """Create one label per order in a single batch; one SHIP_NOTIFY per store in the batch."""
        label = label or {}
        batch_id = _next_id(conn, "batch")
        now = self._now()
        shipped = []
        for order in orders:
            shipment = self._new_shipment(conn, order, batch_id, label, now)
            conn.execute(
                "INSERT INTO ss_shipments (shipment_id, account, order_id, store_id, batch_id,"
                " create_date, ship_date, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    shipment["shipmentId"],
                    account,
                    order["orderId"],
                    shipment["advancedOptions"]["storeId"],
                    batch_id,
                    sort_key(now),
                    shipment["shipDate"],
                    json.dumps(shipment),
                ),
            )
            order["orderStatus"] = "shipped"
            order["shipDate"] = shipment["shipDate"]
            order["carrierCode"] = shipment["carrierCode"]
            order["serviceCode"] = shipment["serviceCode"]
            self._change_order(conn, account, order)
            store_id = shipment["advancedOptions"]["storeId"]
            notification = Notification(
                account,
                store_id,
                "SHIP_NOTIFY",
                "shipments",
                {"storeID": str(store_id), "batchId": str(batch_id)},
            )
            shipped.append((shipment, notification))
        return shipped

    def _new_shipment(
        self, conn: sqlite3.Connection, order: dict, batch_id: int, label: dict, now: datetime
    ) -> dict:
        shipment_id = _next_id(conn, "shipment")
        domestic = (order["shipTo"].get("country") or "US") == "US"
        carrier = label.get("carrierCode") or order["carrierCode"] or "stamps_com"
        service = (
            label.get("serviceCode")
            or order["serviceCode"]
            or ("usps_priority_mail" if domestic else "usps_priority_mail_international")
        )
        units = sum(item["quantity"] for item in order["items"])
        options = order["advancedOptions"]
        return {
            "shipmentId": shipment_id,
            "orderId": order["orderId"],
            "orderKey": order["orderKey"],
            "userId": None,
            "customerEmail": order["customerEmail"],
            "orderNumber": order["orderNumber"],
            "createDate": format_timestamp(now),
            "shipDate": _day_field(label.get("shipDate")) or pacific_day(now),
            "shipmentCost": round((7.15 if domestic else 24.5) + 0.85 * units, 2),
            "insuranceCost": 0.0,
            "trackingNumber": f"9400111{shipment_id:015d}",
            "isReturnLabel": False,
            "batchNumber": str(batch_id),
            "carrierCode": carrier,
            "serviceCode": service,
            "packageCode": label.get("packageCode") or order["packageCode"] or "package",
            "confirmation": label.get("confirmation") or order["confirmation"],
            "warehouseId": options["warehouseId"],
            "voided": False,
            "voidDate": None,
            "marketplaceNotified": False,
            "notifyErrorMessage": None,
            "shipTo": order["shipTo"],
            "weight": _weight(label.get("weight")) or order["weight"],
            "dimensions": label.get("dimensions") or order["dimensions"],
            "insuranceOptions": order["insuranceOptions"],
            "advancedOptions": {
                "billToParty": options["billToParty"],
                "billToAccount": options["billToAccount"],
                "billToPostalCode": options["billToPostalCode"],
                "billToCountryCode": options["billToCountryCode"],
                "storeId": options["storeId"],
            },
            "shipmentItems": [dict(item) for item in order["items"]],
            "labelData": None,
            "formData": None,
        }

    def _list_shipments(self, req: SandboxRequest, account: Account) -> dict:
        args = QueryArgs(req)
        where, params = ["account = ?"], [account.slug]
        for name, column in (
            ("orderId", "order_id"),
            ("storeId", "store_id"),
            ("batchId", "batch_id"),
        ):
            if (value := args.integer(name)) is not None:
                where.append(f"{column} = ?")
                params.append(value)
        _date_range(args, where, params, "createDate", "create_date", args.moment)
        _date_range(args, where, params, "shipDate", "ship_date", args.day)
        _date_range(args, where, params, "voidDate", "void_date", args.moment)
        order_by = _order_by(
            args,
            {"ShipDate": "ship_date", "CreateDate": "create_date"},
            default="create_date",
            tiebreak="shipment_id",
        )
        page, page_size = _paging(args)
        matchers = _field_matchers(
            args,
            recipientName=lambda s: (s["shipTo"].get("name") or "").lower(),
            recipientCountryCode=lambda s: (s["shipTo"].get("country") or "").lower(),
            orderNumber=lambda s: (s["orderNumber"] or "").lower(),
            carrierCode=lambda s: (s["carrierCode"] or "").lower(),
            serviceCode=lambda s: (s["serviceCode"] or "").lower(),
            trackingNumber=lambda s: (s["trackingNumber"] or "").lower(),
        )
        include_items = args.flag("includeShipmentItems")
        args.check()
        rows = self.db.query(
            f"SELECT data FROM ss_shipments WHERE {' AND '.join(where)} ORDER BY {order_by}",
            params,
        )
        shipments = [json.loads(row["data"]) for row in rows]
        shipments = [s for s in shipments if all(match(s) for match in matchers)]
        if not include_items:
            for shipment in shipments:
                shipment["shipmentItems"] = None
        return _envelope("shipments", shipments, page, page_size)

    def _list_fulfillments(self, req: SandboxRequest, account: Account) -> dict:
        args = QueryArgs(req)
        where, params = ["account = ?"], [account.slug]
        for name, column in (("fulfillmentId", "fulfillment_id"), ("orderId", "order_id")):
            if (value := args.integer(name)) is not None:
                where.append(f"{column} = ?")
                params.append(value)
        _date_range(args, where, params, "createDate", "create_date", args.moment)
        _date_range(args, where, params, "shipDate", "ship_date", args.day)
        order_by = _order_by(
            args,
            {"ShipDate": "ship_date", "CreateDate": "create_date"},
            default="create_date",
            tiebreak="fulfillment_id",
        )
        page, page_size = _paging(args)
        matchers = _field_matchers(
            args,
            recipientName=lambda f: (f["shipTo"].get("name") or "").lower(),
            orderNumber=lambda f: (f["orderNumber"] or "").lower(),
            trackingNumber=lambda f: (f["trackingNumber"] or "").lower(),
        )
        args.check()
        rows = self.db.query(
            f"SELECT data FROM ss_fulfillments WHERE {' AND '.join(where)} ORDER BY {order_by}",
            params,
        )
        fulfillments = [json.loads(row["data"]) for row in rows]
        fulfillments = [f for f in fulfillments if all(match(f) for match in matchers)]
        return _envelope("fulfillments", fulfillments, page, page_size)
