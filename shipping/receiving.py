"""Where shipments come from: SHIP_NOTIFY webhooks, and two polls as a safety net.

The webhook handler fetches `resource_url` with the tenant's ShipStation credentials only when
the URL is on the tenant's configured ShipStation base (scheme, host and port); any other URL is
refused and logged, and the credentials go nowhere. The polls read ShipStation's shipments since
a watermark, and the ERP's deliveries of open orders (delivery lines of each order line, the
delivery head for tracking, carrier and date; package-level tracking when the head has none).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors._http import origin
from connectors.errors import PermanentError, UpstreamError
from connectors.m3 import M3Client, M3OrderLine
from core import work
from inbox.models import InboxItem
from orders.models import Order, OrderLine
from orders.round_robin import next_in_turn
from shipping.models import PollWatermark, Shipment
from shipping.shipments import Reported, record, record_shipstation
from tenant_settings.connection_clients import erp_client, shipstation_client
from tenant_settings.models import ConnectionSettings

logger = logging.getLogger("hub.shipping")
OrderState = Order.State
OPEN_FOR_DELIVERIES = (
    OrderState.IN_ERP,
    OrderState.SENT_TO_SHIPSTATION,
    OrderState.PARTIALLY_SHIPPED,
)
FIRST_POLL_LOOKBACK = timedelta(days=1)
POLL_OVERLAP = timedelta(minutes=10)


def handle_ship_notify(item: InboxItem) -> bool:
    """Inbox handler for `ship_notify`: fetch the shipments the notification points at."""
    if item.tenant_id is None:
        return False
    resource_url = json.loads(item.body)["resource_url"]
    with schema_context(item.tenant.schema_name):
        row = ConnectionSettings.load()
        if not same_origin(resource_url, row.shipstation_base_url):
            logger.warning(
                "ShipStation webhook item %s (tenant %s): refused resource_url %s, "
                "not on the tenant's ShipStation %s",
                item.pk,
                item.tenant.slug,
                resource_url,
                row.shipstation_base_url,
            )
            raise work.NeedsAttention(
                f"Refused to fetch resource_url {resource_url}: it is not on the tenant's "
                f"ShipStation ({row.shipstation_base_url}).",
                hint="The hub sends ShipStation credentials only to the configured ShipStation "
                "address. Real shipments are still read by the shipment poll.",
            )
        client = shipstation_client(row)
        recorded = [
            record_shipstation(shipment)
            for shipment in client.fetch_resource_shipments(resource_url, include_items=True)
        ]
    return any(recorded)


def same_origin(url: str, base_url: str) -> bool:
    try:
        return origin(url) == origin(base_url)
    except ValueError:
        return False


def poll_shipstation_shipments() -> int:
    """Labels created since the watermark (minus an overlap); returns how many were new."""
    row = ConnectionSettings.load()
    if not (row.shipstation_api_key and row.shipstation_api_secret):
        return 0
    started = timezone.now()
    mark, _ = PollWatermark.objects.get_or_create(
        name="shipstation", defaults={"value": started - FIRST_POLL_LOOKBACK}
    )
    client = shipstation_client(row)
    new = 0
    for shipment in client.list_shipments(
        create_date_start=mark.value - POLL_OVERLAP, include_items=True
    ):
        before = Shipment.objects.filter(
            origin=Shipment.Origin.SHIPSTATION, source_id=str(shipment.shipment_id)
        ).exists()
        if record_shipstation(shipment) is not None and not before:
            new += 1
    PollWatermark.objects.filter(pk=mark.pk).update(value=started)
    return new


def poll_erp_deliveries() -> int:
    """Deliveries of every open order the ERP knows; returns how many shipments were new."""
    orders = next_in_turn(
        Order.objects.filter(state__in=OPEN_FOR_DELIVERIES)
        .exclude(erp_order_number="")
        .prefetch_related("lines"),
        "erp-deliveries",
        settings.HUB_SWEEP_CAP_PER_TENANT,
    )
    if not orders:
        return 0
    row = ConnectionSettings.load()
    if not row.erp_ionapi:
        return 0
    client = erp_client(row)
    lines_of = client.each_order_lines(order.erp_order_number for order in orders)
    new = 0
    for order in orders:
        erp_lines = lines_of[order.erp_order_number]
        if isinstance(erp_lines, UpstreamError):  # refused or skipped by M3: read next tick
            logger.warning("ERP lines of %s not read: %s", order, erp_lines)
            continue
        try:
            new += erp_deliveries_of(client, order, erp_lines)
        except PermanentError as exc:
            logger.warning("ERP deliveries of %s not read: %s", order, exc)
    return new


def erp_deliveries_of(client: M3Client, order: Order, erp_lines: list[M3OrderLine]) -> int:
    """Record each ERP delivery of the order not seen before; returns how many.

    `erp_lines` are the order's lines as M3 lists them (read for many orders at once).
    """
    by_ponr = _lines_by_erp_line(order, erp_lines)
    deliveries: dict[str, list[tuple[OrderLine, Decimal]]] = defaultdict(list)
    for ponr, line in by_ponr.items():
        for delivery_line in client.delivery_lines(order.erp_order_number, ponr):
            if delivery_line.quantity > 0:
                deliveries[delivery_line.delivery_number].append((line, delivery_line.quantity))
    known = set(
        Shipment.objects.filter(
            origin=Shipment.Origin.ERP, source_id__in=list(deliveries)
        ).values_list("source_id", flat=True)
    )
    new = 0
    for number in sorted(set(deliveries) - known):
        head = client.get_delivery(number)
        tracking = [head.tracking_number] if head.tracking_number else []
        if not tracking:
            tracking = client.package_tracking_numbers(number)
        record(
            order,
            Reported(
                origin=Shipment.Origin.ERP,
                source_id=number,
                carrier_code=head.forwarding_agent or head.delivery_method,
                service=head.delivery_method,
                tracking_numbers=tuple(tracking),
                shipped_on=head.departure_date,
                lines=tuple(deliveries[number]),
                raw=dict(head.raw),
            ),
        )
        new += 1
    return new


def _lines_by_erp_line(order: Order, erp_lines: list[M3OrderLine]) -> dict[str, OrderLine]:
    """ERP line number (PONR) → hub line, for lines with something delivered.

    The hub sends its lines in order and M3 numbers them, so they pair by position; when the
    counts differ they pair by item number.
    """
    erp_lines = sorted(erp_lines, key=lambda line: (int(line.line_number or 0), line.line_suffix))
    lines = sorted(order.lines.all(), key=lambda line: line.line_number)
    if len(erp_lines) == len(lines):
        pairs = zip(erp_lines, lines, strict=True)
    else:
        by_item = {(line.erp_item_number or line.sku): line for line in lines}
        pairs = ((e, by_item[e.item_number]) for e in erp_lines if e.item_number in by_item)
    return {erp.line_number: line for erp, line in pairs if erp.delivered > 0}
