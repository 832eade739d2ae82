"""The demo world in the hub: platform admin, acme and globex, stores and credentials.

Everything points at the local sandbox (settings.SANDBOX_URL); idempotent, so `make demo`
can run it on every start. It lives in the dev-only `demo` app, not in `tenants`, because it
reads the sandbox's demo data and tenancy must not depend on the sandbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django_tenants.utils import schema_context

from catalog.bindings import match_store_catalog
from catalog.models import StoreSync
from sandbox import demo_data
from shipping.subscriptions import subscribe as subscribe_ship_notify
from tenant_settings.models import ConnectionSettings
from tenants.models import (
    Api2CartAccount,
    SkuOwnership,
    Store,
    StoreMembership,
    Tenant,
    sku_key,
)
from tenants.provisioning import provision_tenant
from tenants.store_connection import register_webhooks

PLATFORM_ADMIN = ("admin", "admin-demo-pass")
TENANT_ADMIN_PASSWORD = "{slug}-demo-pass"


@dataclass(frozen=True)
class DemoLogin:
    where: str
    username: str
    password: str


def seed_demo(sandbox_url: str = "", *, register: bool = True) -> list[DemoLogin]:
    """Create or refresh the demo records; returns the logins to print.

    With `register`, the stores' webhooks are registered at the (running) sandbox so placed
    orders reach the hub at settings.HUB_PUBLIC_URL.
    """
    sandbox = (sandbox_url or settings.SANDBOX_URL).rstrip("/")
    User = get_user_model()
    if not User.objects.filter(username=PLATFORM_ADMIN[0]).exists():
        User.objects.create_superuser(PLATFORM_ADMIN[0], "admin@hub.test", PLATFORM_ADMIN[1])
    logins = [DemoLogin(f"{settings.HUB_PUBLIC_URL}/admin/", *PLATFORM_ADMIN)]

    for demo_tenant in demo_data.TENANTS:
        password = TENANT_ADMIN_PASSWORD.format(slug=demo_tenant.slug)
        email = f"ops@{demo_tenant.slug}.test"
        if not Tenant.objects.filter(slug=demo_tenant.slug).exists():
            provision_tenant(
                slug=demo_tenant.slug,
                name=demo_tenant.name,
                admin_email=email,
                admin_password=password,
                actor="make demo",
            )
        reset_demo_admin(demo_tenant.slug, email, password)
        configure_tenant(demo_tenant, sandbox)
        port = settings.HUB_PUBLIC_URL.rsplit(":", 1)[-1]
        where = f"http://{demo_tenant.slug}.{settings.HUB_BASE_DOMAIN}:{port}/admin/"
        logins.append(DemoLogin(where, email, password))

    account, _ = Api2CartAccount.objects.update_or_create(
        name="sandbox",
        defaults={"base_url": f"{sandbox}/api2cart/v1.1", "api_key": demo_data.API2CART_API_KEY},
    )
    for demo_store in demo_data.STORES:
        store = connect_store(demo_store, account)
        if register:
            register_webhooks(store)
    if register:
        for demo_tenant in demo_data.TENANTS:
            with schema_context(demo_tenant.slug):
                subscribe_ship_notify()
        for demo_store in demo_data.STORES:
            for slug in demo_store.members:
                with schema_context(slug):
                    seed_catalog(Store.objects.get(name=demo_store.name))
    return logins


def seed_catalog(store: Store) -> None:
    """Bind the store's products to the tenant's ERP items by SKU and sync them on schedule.

    Both warehouses of the tenant's M3 count; the first scheduled run reads everything.
    """
    StoreSync.objects.get_or_create(store=store)
    match_store_catalog(store)


def reset_demo_admin(slug: str, email: str, password: str) -> None:
    """The demo's tenant admin always has the documented password."""
    with schema_context(slug):
        admin, _ = get_user_model().objects.get_or_create(
            username=email, defaults={"email": email, "is_staff": True}
        )
        admin.set_password(password)
        admin.save()
        admin.groups.add(Group.objects.get(name="Tenant admin"))


def configure_tenant(demo_tenant: demo_data.DemoTenant, sandbox: str) -> None:
    """Point the tenant's ERP and ShipStation at the sandbox."""
    with schema_context(demo_tenant.slug):
        row = ConnectionSettings.load()
        row.erp_ionapi = json.dumps(demo_data.ionapi_file(demo_tenant.slug, sandbox))
        row.erp_company = demo_tenant.company
        row.erp_division = demo_tenant.division
        row.erp_warehouse = demo_tenant.warehouse
        row.erp_default_customer = demo_tenant.default_customer
        row.erp_customer_template = demo_data.customer_template(demo_tenant.slug)
        row.shipstation_base_url = f"{sandbox}/shipstation"
        row.shipstation_api_key = demo_tenant.shipstation_key
        row.shipstation_api_secret = demo_tenant.shipstation_secret
        row.save()


@transaction.atomic
def connect_store(demo_store: demo_data.DemoStore, account: Api2CartAccount) -> Store:
    store, _ = Store.objects.get_or_create(
        name=demo_store.name,
        defaults={
            "display_name": demo_store.display_name,
            "platform": demo_store.cart_id,
            "url": demo_store.url,
            "account": account,
            "store_key": demo_store.store_key,
        },
    )
    members = {t.slug: t for t in Tenant.objects.filter(slug__in=demo_store.members)}
    for tenant in members.values():
        StoreMembership.objects.get_or_create(store=store, tenant=tenant)
    if len(members) > 1:
        owners = [
            SkuOwnership(
                store=store, sku=sku, sku_key=sku_key(sku), tenant=members[p.owner], source="demo"
            )
            for p in demo_data.store_products(demo_store.name)
            for sku in {p.sku, *p.sellable_skus}
        ]
        SkuOwnership.objects.bulk_create(owners, ignore_conflicts=True)
    return store
