"""Erasure on request, and the export for the data subject: one customer of one tenant.

Both start from the same search (`find_customer`), run in the tenant's schema: the tenant's
orders with the person's e-mail address or store customer id, their customer links, and the
store-order inbox bodies (public) that hold the person for this tenant. A body of a store this
tenant alone sells through is this tenant's; a shared store's body holds the person for every
member tenant, so it is cut only once every tenant part is accepted (then each tenant holds its
own copy), and is otherwise left for the other tenants and counted: this tenant's erasure never
touches another tenant's data.

`erase` removes what was found (`privacy.removal`, forgetting the store's customer id too),
deletes the customer links, and writes one audit row (`Erasure`) with counts only. What the
outside systems still hold (the ERP customer and orders, ShipStation orders, the store's
customer and orders) is named with what to do there: the hub cannot erase it for them.
A second erasure finds nothing: the identifiers it searched by are gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.minimise import ORDER_ENTITY
from inbox.models import InboxItem
from orders.models import CustomerLink, Order, OrderChange, OrderEvent
from privacy.models import Erasure
from privacy.removal import cut_inbox_bodies, remove_from_orders
from privacy.retention import DONE_STATES
from shipping.models import Shipment
from tenant_settings.models import ConnectionSettings
from tenants.activity import current_tenant, record_activity
from tenants.models import Store, StoreMembership


@dataclass(frozen=True)
class Person:
    """Who to find: by e-mail address (any letter case) or by the store's customer id."""

    email: str = ""
    customer_id: str = ""

    def __post_init__(self) -> None:
        if bool(self.email.strip()) == bool(self.customer_id.strip()):
            raise ValueError("Name the customer by e-mail address or by store customer id.")

    @property
    def found_by(self) -> str:
        return Erasure.FoundBy.EMAIL if self.email.strip() else Erasure.FoundBy.CUSTOMER_ID

    def orders(self) -> QuerySet[Order]:
        if self.email.strip():
            return Order.objects.filter(customer_email__iexact=self.email.strip())
        return Order.objects.filter(store_customer_id=self.customer_id.strip())

    def links(self) -> QuerySet[CustomerLink]:
        if self.email.strip():
            return CustomerLink.objects.filter(email__iexact=self.email.strip())
        return CustomerLink.objects.filter(store_customer_id=self.customer_id.strip())


@dataclass(frozen=True)
class OutsideRecords:
    """What one outside system still holds about the person, and what to do there."""

    system: str
    references: tuple[str, ...]
    what_to_do: str


@dataclass
class Findings:
    person: Person
    order_ids: list[int] = field(default_factory=list)
    link_ids: list[int] = field(default_factory=list)
    inbox_ids: list[int] = field(default_factory=list)
    shared_inbox_waiting: int = 0
    """Shared-store bodies still needed by another tenant's part: left alone."""
    open_orders: int = 0
    """Orders still on their way (not invoiced, cancelled or failed): erasing their address
    means they cannot be sent on, so the page and the command say so first."""
    records: dict[str, int] = field(default_factory=dict)
    outside: list[OutsideRecords] = field(default_factory=list)

    @property
    def found_anything(self) -> bool:
        return any(self.records.values())


def find_customer(person: Person) -> Findings:
    """What the hub holds about the person for the tenant in use, counted per kind."""
    orders = list(
        person.orders().values(
            "pk",
            "store_id",
            "store_order_id",
            "order_number",
            "erp_customer_number",
            "erp_order_number",
            "shipstation_order_key",
            "state",
        )
    )
    order_ids = [order["pk"] for order in orders]
    links = list(person.links().values("pk", "erp_customer_number", "origin"))
    inbox_ids, waiting = _inbox_items(person, orders)
    findings = Findings(
        person=person,
        order_ids=order_ids,
        link_ids=[link["pk"] for link in links],
        inbox_ids=inbox_ids,
        shared_inbox_waiting=waiting,
        open_orders=sum(order["state"] not in DONE_STATES for order in orders),
    )
    findings.records = {
        "orders": len(order_ids),
        "order events": OrderEvent.objects.filter(order_id__in=order_ids).count(),
        "order changes": OrderChange.objects.filter(order_id__in=order_ids).count(),
        "shipments": Shipment.objects.filter(order_id__in=order_ids).count(),
        "customer links": len(links),
        "inbox items": len(inbox_ids),
    }
    findings.outside = _outside(orders, links)
    return findings


def _inbox_items(person: Person, orders: list[dict[str, Any]]) -> tuple[list[int], int]:
    """(ids of the bodies this tenant may cut, shared-store bodies other tenants still need).

    A body is found through its order (store, order id) or, for one that created nothing, by
    the e-mail address in it; only stores this tenant sells through are searched.
    """
    tenant = current_tenant()
    stores = list(StoreMembership.objects.filter(tenant=tenant).values_list("store_id", flat=True))
    if not stores:
        return [], 0
    by_order = Q()
    for order in orders:
        if order["store_id"] in stores:
            by_order |= Q(store_id=order["store_id"], entity_id=order["store_order_id"])
    if person.email.strip():
        by_order |= Q(store_id__in=stores, body__icontains=person.email.strip())
    if not by_order:
        return [], 0
    items = InboxItem.objects.filter(
        by_order, entity=ORDER_ENTITY, personal_data_removed_at__isnull=True
    ).values_list("pk", "store_id", "state")
    shared = set(
        StoreMembership.objects.filter(store_id__in=stores)
        .exclude(tenant=tenant)
        .values_list("store_id", flat=True)
    )
    mine, waiting = [], 0
    for pk, store_id, state in items:
        if store_id not in shared or state == InboxItem.State.DONE:
            mine.append(pk)
        else:
            waiting += 1
    return mine, waiting


def _outside(orders: list[dict[str, Any]], links: list[dict[str, Any]]) -> list[OutsideRecords]:
    default = (
        ConnectionSettings.objects.filter(pk=1)
        .values_list("erp_default_customer", flat=True)
        .first()
    )
    customers = sorted(
        {order["erp_customer_number"] for order in orders if order["erp_customer_number"]}
        | {
            link["erp_customer_number"]
            for link in links
            if link["origin"] != CustomerLink.Origin.DEFAULT
        }
        - {default or ""}
    )
    erp_orders = sorted({o["erp_order_number"] for o in orders if o["erp_order_number"]})
    keys = sorted({o["shipstation_order_key"] for o in orders if o["shipstation_order_key"]})
    outside = []
    if customers:
        outside.append(
            OutsideRecords(
                "ERP customer (M3)",
                tuple(customers),
                "Delete or anonymise the customer and its addresses in M3 (CRS610, OIS002), "
                "unless another law makes you keep them (invoices: 6 years).",
            )
        )
    if erp_orders:
        outside.append(
            OutsideRecords(
                "ERP orders (M3)",
                tuple(erp_orders),
                "The customer orders keep the delivery address; remove it in M3 when your "
                "retention of order records allows.",
            )
        )
    if keys:
        outside.append(
            OutsideRecords(
                "ShipStation orders",
                tuple(keys),
                "ShipStation keeps the ship-to and e-mail on these orders (by orderKey): "
                "delete them in ShipStation, or ask ShipStation support to anonymise them.",
            )
        )
    stores = dict(
        Store.objects.filter(pk__in={o["store_id"] for o in orders}).values_list(
            "pk", "display_name"
        )
    )
    by_store: dict[int, list[str]] = {}
    for order in orders:
        if order["store_id"] in stores:
            by_store.setdefault(order["store_id"], []).append(order["order_number"])
    for store_id, numbers in by_store.items():
        outside.append(
            OutsideRecords(
                f"Store: {stores[store_id]}",
                tuple(sorted(numbers)),
                "The store holds the customer account and these orders: erase the customer "
                "in the store's own admin (the hub never writes customers to a store).",
            )
        )
    return outside


def erase(findings: Findings, *, actor: str, via: str) -> Erasure | None:
    """Remove what `find_customer` found and audit it; None when nothing was found."""
    if not findings.found_anything:
        return None
    now = timezone.now()
    with transaction.atomic():
        remove_from_orders(findings.order_ids, now, forget_customer_id=True)
        CustomerLink.objects.filter(pk__in=findings.link_ids).delete()
        items = list(
            InboxItem.objects.filter(pk__in=findings.inbox_ids).only(
                "pk", "entity", "body", "personal_data_removed_at"
            )
        )
        cut_inbox_bodies(items, now)
        InboxItem.objects.filter(
            pk__in=findings.inbox_ids, personal_data_removed_at__isnull=True
        ).update(personal_data_removed_at=now)
        erasure = Erasure.objects.create(
            tenant=current_tenant(),
            requested_by=actor[:200],
            via=via,
            found_by=findings.person.found_by,
            records={kind: count for kind, count in findings.records.items() if count},
            outside={o.system.split(":")[0]: len(o.references) for o in findings.outside},
        )
        record_activity(
            "privacy.customer_erased",
            actor=actor,
            obj=erasure,
            message=f"One customer's personal data erased ({erasure.summary}); found by "
            f"{erasure.get_found_by_display().lower()}.",
        )
    return erasure


def export_customer(findings: Findings) -> dict[str, Any]:
    """Everything the hub holds about the person for this tenant, as JSON-ready data."""
    orders = (
        Order.objects.filter(pk__in=findings.order_ids)
        .prefetch_related("lines", "events", "changes", "shipments", "invoices")
        .order_by("created_at")
    )
    stores = dict(Store.objects.values_list("pk", "display_name"))
    items = InboxItem.objects.filter(pk__in=findings.inbox_ids).order_by("received_at")
    return {
        "generated_at": timezone.now().isoformat(),
        "tenant": connection.schema_name,
        "found_by": findings.person.found_by,
        "orders": [_order_export(order, stores) for order in orders],
        "customer_links": [
            {
                "store": stores.get(link.store_id, ""),
                "store_customer_id": link.store_customer_id,
                "email": link.email,
                "erp_customer_number": link.erp_customer_number,
                "since": link.created_at.isoformat(),
            }
            for link in CustomerLink.objects.filter(pk__in=findings.link_ids)
        ],
        "store_deliveries": [
            {"received_at": item.received_at.isoformat(), "source": item.source, "body": item.body}
            for item in items
        ],
        "held_elsewhere": [
            {"system": o.system, "references": list(o.references), "what_to_do": o.what_to_do}
            for o in findings.outside
        ],
    }


def _order_export(order: Order, stores: dict[int, str]) -> dict[str, Any]:
    return {
        "store": stores.get(order.store_id, ""),
        "order_number": order.order_number,
        "store_order_id": order.store_order_id,
        "ordered_at": _when(order.ordered_at),
        "state": order.state,
        "email": order.customer_email,
        "store_customer_id": order.store_customer_id,
        "ship_to": order.ship_to,
        "currency": order.currency,
        "total": str(order.total) if order.total is not None else None,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
            }
            for line in order.lines.all()
        ],
        "timeline": [
            {"at": event.created_at.isoformat(), "step": event.step, "message": event.message}
            for event in order.events.all()
        ],
        "changes": [
            {"at": change.created_at.isoformat(), "summary": change.summary}
            for change in order.changes.all()
        ],
        "shipments": [
            {
                "shipped_on": _when(s.shipped_on),
                "carrier": s.carrier_code,
                "tracking_numbers": s.tracking_numbers,
            }
            for s in order.shipments.all()
        ],
        "invoices": [
            {
                "number": invoice.erp_invoice_number,
                "date": _when(invoice.invoice_date),
                "amount": str(invoice.amount),
            }
            for invoice in order.invoices.all()
        ],
        "store_payload": order.payload,
        "personal_data_removed_at": _when(order.personal_data_removed_at),
    }


def _when(value: datetime | Any) -> str | None:
    return value.isoformat() if value is not None else None


def counts_text(records: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in records.items() if count) or "nothing"
