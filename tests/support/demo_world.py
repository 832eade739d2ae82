"""The demo world for tests beyond one process: the sandbox, the demo tenants and stores
committed to the test database (`demo_world`), and the hub's web server, Celery workers and
beat as real processes on it (`hub`).

The processes share the pytest-django test database, so the demo world is committed (not
rolled back) and removed again after the module. A pytest plugin (tests/conftest.py loads it):
its fixtures are everyone's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from demo.seed import configure_tenant, connect_store
from inbox.models import InboxItem
from invoicing.models import Invoice, StoreStatusUpdate
from orders.models import Backfill, CustomerLink, Order
from reconciliation.models import ReconciliationRun
from sandbox import demo_data
from sandbox.testing import SandboxHandle, start_sandbox
from shipping.models import CarrierMapping
from tenants.models import Api2CartAccount, SkuOwnership, Store, StoreMembership, StoreOrderPart
from tenants.store_clients import api2cart_for_store
from tests.support.harness import HubProcesses, hub_env


@dataclass
class DemoWorld:
    sandbox: SandboxHandle
    account: Api2CartAccount
    stores: dict[str, Store]


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[DemoWorld]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    with django_db_blocker.unblock():
        account, _ = Api2CartAccount.objects.update_or_create(
            name="sandbox",
            defaults={
                "base_url": sandbox.api_url("api2cart"),
                "api_key": demo_data.API2CART_API_KEY,
            },
        )
        for tenant in demo_data.TENANTS:
            configure_tenant(tenant, sandbox.url)
        stores = {s.name: connect_store(s, account) for s in demo_data.STORES}
    try:
        yield DemoWorld(sandbox, account, stores)
    finally:
        sandbox.stop()
        with django_db_blocker.unblock():
            for slug in ("acme", "globex"):
                with schema_context(slug):
                    StoreStatusUpdate.objects.all().delete()
                    ReconciliationRun.objects.all().delete()
                    Backfill.objects.all().delete()
                    Invoice.objects.all().delete()
                    Order.objects.all().delete()
                    CustomerLink.objects.all().delete()
                    CarrierMapping.objects.all().delete()
            InboxItem.objects.all().delete()
            StoreOrderPart.objects.all().delete()
            SkuOwnership.objects.all().delete()
            StoreMembership.objects.all().delete()
            Store.objects.all().delete()
            Api2CartAccount.objects.all().delete()


@pytest.fixture(scope="module")
def hub(demo_world, tmp_path_factory) -> Iterator[HubProcesses]:
    """Web + 4 worker processes + beat on the tests' own Redis database."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    env = hub_env(connection.settings_dict, settings.REDIS_URL)
    processes = HubProcesses(env, tmp_path_factory.mktemp("hub-logs"))
    processes.start_web()
    processes.start_worker()
    processes.start_beat()
    yield processes
    processes.stop_all()


@pytest.fixture
def live_db(django_db_blocker) -> Iterator[None]:
    """Direct, committed database access for assertions on what the processes did."""
    with django_db_blocker.unblock():
        yield


def webhook_for(store: Store, order_ref: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers API2Cart would POST for `order.add` of an existing store order."""
    order = api2cart_for_store(store).order_info(id=order_ref)
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Store-Id": "1",
        "X-Webhook-Action": "add",
        "X-Webhook-Entity": "order",
        "X-Webhook-Error-Code": "0",
    }
    return json.dumps(order.raw).encode(), headers


def orders_of(schema: str, **filters) -> list[Order]:
    with schema_context(schema):
        return list(Order.objects.filter(**filters).prefetch_related("lines", "events"))
