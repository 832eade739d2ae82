"""Flow 2: which ERP customer an order belongs to (existing link → ERP search → create/default)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q

from connectors.errors import PermanentError
from connectors.m3 import M3Client
from orders.addresses import erp_address, erp_customer
from orders.models import CustomerLink, Order
from tenant_settings.models import ConnectionSettings


@dataclass(frozen=True)
class CustomerDecision:
    customer_number: str
    how: str


def search_key(order: Order) -> str:
    """A 10-character ALCU we write on customers we create, so a retry finds them again."""
    who = order.store_customer_id or order.customer_email.lower()
    digest = hashlib.sha1(f"{order.store_id or order.source}:{who}".encode()).digest()
    return "H" + base64.b32encode(digest).decode()[:9]


def _link_lookup(order: Order) -> dict:
    if order.store_customer_id:
        return {"store_id": order.store_id, "store_customer_id": order.store_customer_id}
    return {"store_id": order.store_id, "store_customer_id": "", "email": order.customer_email}


def link_customers(
    orders: list[Order], erp: M3Client, settings: ConnectionSettings
) -> dict[int, CustomerDecision | Exception]:
    """`link_customer` for a batch: the links already known are read in one query; each order
    without one is searched for (or created) in the ERP on its own."""
    known: dict[tuple, CustomerLink] = {}
    store_ids = {order.store_id for order in orders}
    in_stores = Q(store_id__in=store_ids - {None})
    if None in store_ids:  # orders from the API or a CSV file have no store
        in_stores |= Q(store_id__isnull=True)
    for link in CustomerLink.objects.filter(in_stores).filter(
        Q(store_customer_id__in={o.store_customer_id for o in orders if o.store_customer_id})
        | Q(store_customer_id="", email__in={o.customer_email for o in orders})
    ):
        known.setdefault(_link_key(link.store_id, link.store_customer_id, link.email), link)
    decisions: dict[int, CustomerDecision | Exception] = {}
    for order in orders:
        lookup = _link_lookup(order)
        link = known.get(
            _link_key(order.store_id, order.store_customer_id, lookup.get("email", ""))
        )
        if link is not None:
            decisions[order.pk] = CustomerDecision(
                link.erp_customer_number, f"existing link ({link.origin})"
            )
            continue
        try:
            decisions[order.pk] = link_customer(order, erp, settings)
        except Exception as exc:  # this order's own outcome; the work-item core sorts it out
            decisions[order.pk] = exc
    return decisions


def _link_key(store_id: int | None, store_customer_id: str, email: str) -> tuple:
    return (store_id, store_customer_id) if store_customer_id else (store_id, "", email)


def link_customer(order: Order, erp: M3Client, settings: ConnectionSettings) -> CustomerDecision:
    """Find or create the ERP customer for the order and remember the link."""
    link = CustomerLink.objects.filter(**_link_lookup(order)).first()
    if link is not None:
        return CustomerDecision(link.erp_customer_number, f"existing link ({link.origin})")
    key = search_key(order)
    with transaction.atomic():
        _lock_customer(key)
        return _find_or_create(order, erp, settings, key)


def _lock_customer(key: str) -> None:
    """Two orders of one new shopper processed at once must not both create a customer."""
    digest = hashlib.sha256(f"customer:{connection.schema_name}:{key}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


def _find_or_create(
    order: Order, erp: M3Client, settings: ConnectionSettings, key: str
) -> CustomerDecision:
    link = CustomerLink.objects.filter(**_link_lookup(order)).first()
    if link is not None:
        return CustomerDecision(link.erp_customer_number, f"existing link ({link.origin})")
    found = erp.customers_by_search_key(key)
    if not found and order.customer_email:
        found = erp.search_customers(f"MAIL:{order.customer_email}")
        found = [c for c in found if c.email.lower() == order.customer_email.lower()]
    if found:
        number = found[0].number
        _remember(order, number, CustomerLink.Origin.FOUND)
        return CustomerDecision(number, "found in the ERP")

    if settings.missing_customer_policy == ConnectionSettings.MissingCustomerPolicy.DEFAULT:
        if not settings.erp_default_customer:
            raise PermanentError(
                "No ERP customer found and no default customer is set",
                hint="Set the default customer in the connection settings, or switch the "
                "policy to create customers.",
            )
        return CustomerDecision(settings.erp_default_customer, "store default customer")

    if not settings.erp_customer_template:
        raise PermanentError(
            "No ERP customer found and no customer template is set",
            hint="Set the customer template (CUTM) in the connection settings.",
        )
    ship_to = order.ship_to or {}
    number = erp.add_customer(
        erp_customer(
            ship_to,
            name=ship_to.get("name")
            or order.customer_email
            or f"Web customer {order.order_number}",
            email=order.customer_email,
            template=settings.erp_customer_template,
            search_key=key,
            reference=f"Web {order.order_number}",
        )
    )
    if ship_to.get("street1"):
        erp.add_customer_address(number, erp_address(ship_to, address_id="WEB"))
    _remember(order, number, CustomerLink.Origin.CREATED)
    return CustomerDecision(number, "created in the ERP from the template")


def _remember(order: Order, number: str, origin: str) -> None:
    lookup = _link_lookup(order)
    CustomerLink.objects.get_or_create(
        **lookup,
        defaults={
            "erp_customer_number": number,
            "origin": origin,
            "email": order.customer_email,
        },
    )
