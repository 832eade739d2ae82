"""The first-run checklist on a new tenant's front page: what stands between an empty portal and
orders reaching ShipStation, each step done or to do with a link to where it is done.

Every state is read from rows that exist anyway (settings, memberships, mappings, runs, orders),
one small query each, and the panel is hidden once every step is done.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.urls import reverse

from catalog.models import SyncRun
from invoicing.models import StoreStatusMapping
from orders.models import Order
from shipping.models import CarrierMapping
from tenant_settings.models import ConnectionSettings
from tenants.models import StoreMembership

PERMISSION = "tenant_settings.change_connectionsettings"
REACHED_SHIPSTATION = (
    Order.State.SENT_TO_SHIPSTATION,
    Order.State.PARTIALLY_SHIPPED,
    Order.State.SHIPPED,
    Order.State.INVOICED,
)


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    url: str
    how: str
    """What to do, shown while the step is to do."""


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)


def _admin(name: str, *args: object) -> str:
    return reverse(f"tenant_admin:{name}", args=args)


def _platform_store_page() -> str:
    """Stores are connected by platform staff, in the platform admin on the base domain."""
    path = reverse("platform_admin:tenants_store_connect", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return settings.HUB_PUBLIC_URL.rstrip("/") + path


def first_run_checklist() -> Checklist | None:
    """The steps and their states; None once all are done (the panel then disappears)."""
    row = ConnectionSettings.load()
    connection_page = _admin("tenant_settings_connectionsettings_change", row.pk)
    stores = set(
        StoreMembership.objects.filter(tenant_id=connection.tenant.pk).values_list(
            "store_id", flat=True
        )
    )
    policy_value = (
        row.erp_customer_template
        if row.missing_customer_policy == ConnectionSettings.MissingCustomerPolicy.CREATE
        else row.erp_default_customer
    )
    status_mapped = set(
        StoreStatusMapping.objects.filter(store_id__in=stores).values_list("store_id", flat=True)
    )
    carrier_mapped = set(
        CarrierMapping.objects.filter(store_id__in=stores).values_list("store_id", flat=True)
    )
    steps = [
        Step("ERP credentials", bool(row.erp_ionapi), connection_page,
             "Upload the .ionapi file of the tenant's ION API client, then Test connection."),
        Step("ShipStation credentials",
             bool(row.shipstation_api_key and row.shipstation_api_secret), connection_page,
             "Enter the ShipStation API key and secret (ShipStation › Settings › API)."),
        Step("A store connected", bool(stores), _platform_store_page(),
             "Platform staff connect the store through API2Cart and add this tenant as a "
             "member."),
        Step("Customer policy chosen", bool(policy_value), connection_page,
             "Choose what happens to shoppers the ERP does not know, and the customer template "
             "or default customer it needs."),
        Step("Carrier and status mappings",
             bool(stores) and stores <= status_mapped and stores <= carrier_mapped,
             _admin("invoicing_storestatusmapping_changelist"),
             "Map each store's Invoiced order status, and the carriers ShipStation ships with "
             "(Shipping › Carrier mappings)."),
        Step("Catalog sync run", SyncRun.objects.filter(state=SyncRun.State.DONE).exists(),
             _admin("catalog_storesync_changelist"),
             "Run a catalog sync of the store, so prices and stock come from the ERP."),
        Step("A test order", Order.objects.filter(state__in=REACHED_SHIPSTATION).exists(),
             _admin("orders_order_changelist"),
             "Place an order in the store; it is done once it reached ShipStation."),
    ]  # fmt: skip
    if all(step.done for step in steps):
        return None
    return Checklist(steps)
