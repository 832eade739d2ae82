"""Flow 2: which ERP customer an order belongs to (existing link → ERP search → create/default).

A batch of orders costs a few bulk calls, whatever its size: the links already known are read in
one query; the rest are looked up by the search key the hub writes on customers it creates, then
by e-mail, then created, then given their delivery address, each step one `CRS610MI` bulk call
for the whole batch (one program per bulk POST; `AddAddress` needs the number `Add` returns).

No lock or transaction is held while M3 answers (ARCHITECTURE §4.7). Two workers never create
the same shopper: each holds a `NewCustomerGuard` on the search key before the lookup and
releases it once the link is remembered; orders of a shopper another worker holds wait a moment.
A worker that dies in between leaves the guard to expire, and the next one finds the customer it
may have created by the search key before creating anything.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.errors import PermanentError, RetryableError, UpstreamError
from connectors.m3 import M3Client, NewM3Customer
from core.work import worker_name
from orders.addresses import erp_address, erp_customer
from orders.models import CustomerLink, NewCustomerGuard, Order
from tenant_settings.models import ConnectionSettings

logger = logging.getLogger("hub.customers")

GUARD_WAIT_SECONDS = 5.0
"""How soon orders of a shopper another worker is linking are tried again."""


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


def _link_key(store_id: int | None, store_customer_id: str, email: str) -> tuple:
    return (store_id, store_customer_id) if store_customer_id else (store_id, "", email)


Decisions = dict[int, CustomerDecision | Exception]


def link_customer(order: Order, erp: M3Client, settings: ConnectionSettings) -> CustomerDecision:
    """Find or create the ERP customer of one order and remember the link."""
    decision = link_customers([order], erp, settings)[order.pk]
    if isinstance(decision, Exception):
        raise decision
    return decision


def link_customers(orders: list[Order], erp: M3Client, settings: ConnectionSettings) -> Decisions:
    """Each order's ERP customer, or the error that stopped it (the work-item core sorts it)."""
    decisions: Decisions = {}
    new = []
    known = _known_links(orders)
    for order in orders:
        lookup = _link_lookup(order)
        link = known.get(
            _link_key(order.store_id, order.store_customer_id, lookup.get("email", ""))
        )
        if link is not None:
            how = f"existing link ({link.origin})"
            decisions[order.pk] = CustomerDecision(link.erp_customer_number, how)
        else:
            new.append(order)
    if not new:
        return decisions
    by_key: dict[str, list[Order]] = {}
    for order in new:
        by_key.setdefault(search_key(order), []).append(order)
    holder = f"{worker_name()}:{uuid.uuid4().hex[:8]}"
    held = _hold(by_key, holder)
    for key in by_key.keys() - held:
        busy = RetryableError(
            "Another worker is linking this shopper's ERP customer right now.",
            retry_after=GUARD_WAIT_SECONDS,
        )
        decisions.update({order.pk: busy for order in by_key[key]})
    try:
        mine = {key: by_key[key] for key in held}
        for key, outcome in _customers_by_key(mine, erp, settings).items():
            for order in mine[key]:
                if isinstance(outcome, CustomerDecision) and outcome.how != DEFAULT_HOW:
                    _remember(order, outcome.customer_number, ORIGINS[outcome.how])
                decisions[order.pk] = outcome
    finally:
        NewCustomerGuard.objects.filter(held_by=holder).delete()
    return decisions


def _known_links(orders: list[Order]) -> dict[tuple, CustomerLink]:
    known: dict[tuple, CustomerLink] = {}
    store_ids = {order.store_id for order in orders}
    in_stores = Q(store_id__in=store_ids - {None})
    if None in store_ids:  # orders from the API or a file have no store
        in_stores |= Q(store_id__isnull=True)
    for link in CustomerLink.objects.filter(in_stores).filter(
        Q(store_customer_id__in={o.store_customer_id for o in orders if o.store_customer_id})
        | Q(store_customer_id="", email__in={o.customer_email for o in orders})
    ):
        known.setdefault(_link_key(link.store_id, link.store_customer_id, link.email), link)
    return known


def _hold(by_key: dict[str, list[Order]], holder: str) -> set[str]:
    """Take the guards of these search keys that are free or expired; returns the keys held."""
    now = timezone.now()
    until = now + timedelta(seconds=django_settings.HUB_LEASE_SECONDS * 10)
    with transaction.atomic():
        NewCustomerGuard.objects.filter(search_key__in=by_key, held_until__lt=now).delete()
        NewCustomerGuard.objects.bulk_create(
            [NewCustomerGuard(search_key=key, held_by=holder, held_until=until) for key in by_key],
            ignore_conflicts=True,
        )
    return set(
        NewCustomerGuard.objects.filter(search_key__in=by_key, held_by=holder).values_list(
            "search_key", flat=True
        )
    )


FOUND_HOW = "found in the ERP"
CREATED_HOW = "created in the ERP from the template"
DEFAULT_HOW = "store default customer"
ORIGINS = {FOUND_HOW: CustomerLink.Origin.FOUND, CREATED_HOW: CustomerLink.Origin.CREATED}

Outcome = CustomerDecision | Exception


def _customers_by_key(
    by_key: dict[str, list[Order]], erp: M3Client, settings: ConnectionSettings
) -> dict[str, Outcome]:
    """Search key → customer for shoppers the hub has no link for: by search key, by e-mail,
    else the policy's default or a new customer. Three to five bulk calls for the batch."""
    outcomes: dict[str, Outcome] = {}
    if not by_key:
        return outcomes
    for key, found in erp.customers_by_search_keys(by_key).items():
        if isinstance(found, UpstreamError):
            outcomes[key] = found
        elif found:
            outcomes[key] = CustomerDecision(found[0].number, FOUND_HOW)
    emails = {
        key: orders[0].customer_email.lower()
        for key, orders in by_key.items()
        if key not in outcomes and orders[0].customer_email
    }
    queries = {key: f"MAIL:{email}" for key, email in emails.items()}
    answers = erp.search_customers_each(queries.values()) if queries else {}
    for key, query in queries.items():
        found = answers[query]
        if isinstance(found, UpstreamError):
            outcomes[key] = found
            continue
        matching = [c for c in found if c.email.lower() == emails[key]]
        if matching:
            outcomes[key] = CustomerDecision(matching[0].number, FOUND_HOW)
    unknown = [key for key in by_key if key not in outcomes]
    if unknown:
        outcomes.update(_for_unknown(unknown, by_key, erp, settings))
    return outcomes


def _for_unknown(
    keys: list[str], by_key: dict[str, list[Order]], erp: M3Client, settings: ConnectionSettings
) -> dict[str, Outcome]:
    """Shoppers the ERP does not know: the default customer, or new customers from the template."""
    Policy = ConnectionSettings.MissingCustomerPolicy
    if settings.missing_customer_policy == Policy.DEFAULT:
        if not settings.erp_default_customer:
            refused = PermanentError(
                "No ERP customer found and no default customer is set",
                hint="Set the default customer in the connection settings, or switch the "
                "policy to create customers.",
            )
            return dict.fromkeys(keys, refused)
        return dict.fromkeys(keys, CustomerDecision(settings.erp_default_customer, DEFAULT_HOW))
    if not settings.erp_customer_template:
        refused = PermanentError(
            "No ERP customer found and no customer template is set",
            hint="Set the customer template (CUTM) in the connection settings.",
        )
        return dict.fromkeys(keys, refused)
    firsts = [by_key[key][0] for key in keys]
    numbers = erp.add_customers([_new_customer(order, key, settings) for order, key in
                                 zip(firsts, keys, strict=True)])  # fmt: skip
    outcomes: dict[str, Outcome] = {}
    addresses = []
    for key, order, number in zip(keys, firsts, numbers, strict=True):
        if isinstance(number, UpstreamError):
            outcomes[key] = number
            continue
        outcomes[key] = CustomerDecision(number, CREATED_HOW)
        if (order.ship_to or {}).get("street1"):
            addresses.append((number, erp_address(order.ship_to, address_id="WEB")))
    # The delivery address is the customer's default; each ERP order carries its own, so an
    # address M3 refuses leaves the customer usable (its orders still go to the right place).
    if addresses:
        for (number, _), error in zip(
            addresses, erp.add_customer_addresses(addresses), strict=True
        ):
            if error is not None:
                logger.warning(
                    "customer %s created without its delivery address: %s", number, error
                )
    return outcomes


def _new_customer(order: Order, key: str, settings: ConnectionSettings) -> NewM3Customer:
    ship_to = order.ship_to or {}
    return erp_customer(
        ship_to,
        name=ship_to.get("name") or order.customer_email or f"Web customer {order.order_number}",
        email=order.customer_email,
        template=settings.erp_customer_template,
        search_key=key,
        reference=f"Web {order.order_number}",
    )


def _remember(order: Order, number: str, origin: str) -> None:
    CustomerLink.objects.get_or_create(
        **_link_lookup(order),
        defaults={"erp_customer_number": number, "origin": origin, "email": order.customer_email},
    )
