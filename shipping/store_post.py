"""Posting a shipment to its store with `order.shipment.add`, once, and the carrier mapping.

The API2Cart `idempotency_key` is the shipment's own key, so a retry after a lost answer (within
API2Cart's 15 minutes) returns the first shipment instead of adding a second. A carrier the
store does not know parks the shipment as *needs attention*, naming it and the store's carriers.
Where the store answers with no id (Bol: "shipment created", contract §7.22) the id is found in
the order's shipment list, so a later void or correction can name the store's shipment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.core.cache import cache
from django.utils import timezone

from connectors import api2cart
from connectors.api2cart import NewShipment, TrackingNumber
from connectors.api2cart import ShipmentLine as StoreLine
from connectors.errors import ValidationError
from core import keys, work
from orders.models import Order, OrderEvent
from shipping.models import CarrierMapping, Shipment
from tenants.models import Store
from tenants.store_clients import api2cart_for_store

CARRIER_LIST_SECONDS = 3600
ALIASES = {
    "stamps_com": "usps",
    "endicia": "usps",
    "usps_walleted": "usps",
    "ups_walleted": "ups",
    "fedex_walleted": "fedex",
    "dhl_express_worldwide": "dhl",
    "dhl_express": "dhl",
    "dhl_global_mail": "dhl",
}
"""ShipStation carrier codes whose store carrier id is not simply a prefix of the code."""


def post_shipment(shipment: Shipment) -> work.Done:
    """One `order.shipment.add` with the store's line ids, quantities and tracking numbers."""
    if shipment.voided:
        return work.Done(Shipment.State.NOTHING_TO_POST, {"note": "Voided before posting."})
    order = Order.objects.get(pk=shipment.order_id)
    store = Store.objects.select_related("account").get(pk=order.store_id)
    client = api2cart_for_store(store)
    carrier_id = ""
    if shipment.tracking_numbers:
        carrier_id = store_carrier(client, store, shipment.origin, shipment.carrier_code)
    request = NewShipment(
        order_id=order.order_number,
        items=[
            StoreLine(line.order_line.store_line_id, line.quantity)
            for line in shipment.lines.select_related("order_line")
        ],
        tracking_numbers=[TrackingNumber(carrier_id, t) for t in shipment.tracking_numbers],
        idempotency_key=keys.outside_key(keys.SHIPMENT, shipment.pk),
    )
    try:
        store_shipment_id = client.add_shipment(request)
    except ValidationError as exc:
        if carrier_id and "carrier" in exc.message.lower():
            raise work.NeedsAttention(
                f"Store {store} refused carrier '{carrier_id}' (mapped from "
                f"'{shipment.carrier_code}'): {exc.message}",
                hint="Correct the carrier mapping under Shipping › Carrier mappings to one of "
                "the carriers the store lists, then retry the shipment.",
            ) from exc
        raise
    fields = {"store_carrier_id": carrier_id, "posted_at": timezone.now()}
    if not store_shipment_id:
        store_shipment_id = added_shipment_id(client, shipment, request)
    if store_shipment_id:
        message = f"{shipment} posted to {store} as shipment {store_shipment_id}."
    else:
        message = f"{shipment} posted to {store}; the store gave no shipment id and lists none."
        fields["note"] = "The store took the shipment but named no id for it."
    OrderEvent.objects.create(
        order=order,
        step="store_shipment",
        outcome=OrderEvent.Outcome.SUCCESS,
        message=message,
        upstream_ref=store_shipment_id,
    )
    return work.Done(Shipment.State.POSTED, {"store_shipment_id": store_shipment_id, **fields})


def added_shipment_id(
    client: api2cart.Api2CartClient, shipment: Shipment, request: NewShipment
) -> str:
    """The store's id of the shipment just added, where its answer held none (§7.22).

    Read from `order.shipment.list` of the order, leaving out ids other hub shipments of the
    order already hold: the shipment with our tracking number, else with our lines, else the
    newest. "" when the store lists none.
    """
    claimed = set(
        Shipment.objects.filter(order_id=shipment.order_id)
        .exclude(pk=shipment.pk)
        .exclude(store_shipment_id="")
        .values_list("store_shipment_id", flat=True)
    )
    listed = [s for s in client.shipments(request.order_id) if s.id and s.id not in claimed]
    return best_match(listed, request).id if listed else ""


def best_match(listed: Sequence[api2cart.Shipment], request: NewShipment) -> api2cart.Shipment:
    """The listed shipment that is most likely the one `request` added."""
    tracking = {t.tracking_number for t in request.tracking_numbers if t.tracking_number}
    items = sorted((line.order_product_id, line.quantity) for line in request.items)
    tests: tuple[Callable[[api2cart.Shipment], bool], ...] = (
        lambda s: bool(tracking & {t.tracking_number for t in s.tracking_numbers}),
        lambda s: bool(items) and sorted(s.items) == items,
    )
    for matches in tests:
        found = [s for s in listed if matches(s)]
        if found:
            return newest(found)
    return newest(listed)


def newest(shipments: Sequence[api2cart.Shipment]) -> api2cart.Shipment:
    """Latest `created_at` first; between equals, the higher id (ids grow, numbers or not)."""
    oldest = datetime.min.replace(tzinfo=UTC)
    return max(shipments, key=lambda s: (s.created_at or oldest, s.id.rjust(64, "0")))


def store_carrier(client: api2cart.Api2CartClient, store: Store, origin: str, code: str) -> str:
    """The store's carrier id for a ShipStation carrier code or ERP forwarding agent.

    A mapping wins; without one, a default is taken from the store's carrier list (same id or
    name, a known alias, or a carrier id the code starts with) and kept as a mapping to edit.
    """
    label = CarrierMapping.Origin(origin).label
    if not code:
        raise work.NeedsAttention(
            f"The {label.split()[0]} shipment names no carrier.",
            hint="Map an empty carrier under Shipping › Carrier mappings, then retry.",
        )
    mapping = CarrierMapping.objects.filter(store=store, origin=origin, code=code).first()
    if mapping is not None and mapping.store_carrier_id.strip():
        return mapping.store_carrier_id
    if mapping is not None:
        raise work.NeedsAttention(
            f"Carrier '{code}' ({label}) is mapped to no carrier of store {store}.",
            hint=f"Fill in the store's carrier id of the mapping for '{code}' under "
            "Shipping › Carrier mappings, then retry the shipment.",
        )
    carriers = store_carriers(client, store)
    guess = default_carrier(code, carriers)
    if not guess:  # never a mapping without a target: park the shipment instead
        listed = ", ".join(f"{cid} ({name})" for cid, name in carriers) or "none"
        raise work.NeedsAttention(
            f"Carrier '{code}' ({label}) has no carrier on store {store}.",
            hint=f"Map '{code}' under Shipping › Carrier mappings to one of the store's "
            f"carriers: {listed}; then retry the shipment.",
        )
    CarrierMapping.objects.get_or_create(
        store=store,
        origin=origin,
        code=code,
        defaults={"store_carrier_id": guess, "source": CarrierMapping.Source.DEFAULT},
    )
    return guess


def store_carriers(client: api2cart.Api2CartClient, store: Store) -> list[tuple[str, str]]:
    """(id, name) of the store's carriers from `cart.info`, kept for an hour."""
    key = f"shipping:carriers:{store.pk}"
    carriers = cache.get(key)
    if carriers is None:
        info = client.cart_info()
        carriers = [c for s in info.stores for c in s.carriers if c[0]]
        cache.set(key, carriers, timeout=CARRIER_LIST_SECONDS)
    return [tuple(c) for c in carriers]


def default_carrier(code: str, carriers: list[tuple[str, str]]) -> str | None:
    wanted = code.strip().lower()
    ids = {cid.lower(): cid for cid, _ in carriers}
    names = {name.lower(): cid for cid, name in carriers if name}
    if wanted in ids:
        return ids[wanted]
    if wanted in names:
        return names[wanted]
    alias = ALIASES.get(wanted)
    if alias and alias in ids:
        return ids[alias]
    for lowered, cid in sorted(ids.items(), key=lambda pair: -len(pair[0])):
        if wanted.startswith(lowered):
            return cid
    return None
