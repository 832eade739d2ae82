"""End-to-end harness: the sandbox, a web server, Celery workers and beat as real processes.

The processes share the pytest-django test database, so the demo world is committed (not
rolled back) and removed again after the module.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from integration_hub.inbox.models import InboxItem
from integration_hub.sandbox import demo_data
from integration_hub.sandbox.testing import SandboxHandle, start_sandbox
from orders.models import CustomerLink, Order
from tenants.demo import configure_tenant, connect_store
from tenants.models import Api2CartAccount, SkuOwnership, Store, StoreMembership
from tenants.upstreams import api2cart_for_store

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 60, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass
class HubProcesses:
    """Web, worker and beat for one broker; each can be stopped, killed and restarted."""

    env: dict[str, str]
    log_dir: Path
    web_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        self.procs[name] = proc
        return proc

    def start_web(self) -> None:
        self._spawn("web", ["manage.py", "runserver", f"127.0.0.1:{self.web_port}", "--noreload"])
        wait_until(lambda: _answers(self.web_url + "/healthz"), timeout=30)

    def start_worker(self, concurrency: int = 4) -> subprocess.Popen:
        args = ["-m", "celery", "-A", "integration_hub", "worker", "--loglevel=INFO"]
        args += [f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"]
        return self._spawn("worker", args)

    def start_beat(self) -> None:
        args = ["-m", "celery", "-A", "integration_hub", "beat", "--loglevel=INFO"]
        self._spawn("beat", [*args, "-s", str(self.log_dir / "beat-schedule")])

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kill_worker_hard(self) -> None:
        """SIGKILL the worker and its pool children: nothing gets to ack or clean up."""
        proc = self.procs.pop("worker")
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in [proc.pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def hub_env(redis_url: str, **extra: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{connection.settings_dict['NAME']}",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "HUB_SWEEP_SECONDS": "2",
        "HUB_MAX_ATTEMPTS": "12",
        "HUB_LEASE_SECONDS": "30",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


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
                    Order.objects.all().delete()
                    CustomerLink.objects.all().delete()
            InboxItem.objects.all().delete()
            SkuOwnership.objects.all().delete()
            StoreMembership.objects.all().delete()
            Store.objects.all().delete()
            Api2CartAccount.objects.all().delete()


@pytest.fixture(scope="module")
def hub(demo_world, tmp_path_factory) -> Iterator[HubProcesses]:
    """Web + 4 worker processes + beat on the tests' own Redis database."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    processes = HubProcesses(hub_env(settings.REDIS_URL), tmp_path_factory.mktemp("hub-logs"))
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
