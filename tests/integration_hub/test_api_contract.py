"""The API does what its schema says: Schemathesis, fed the published `/api/schema/`, sends
generated requests (examples, coverage, fuzzing, and the stateful phase following the schema's
links: place an order, read it, ask for its invoice) to the hub's web process with a tenant
token, runs every check, and finds nothing.

The run is fixed (Schemathesis's deterministic generation: no random seed, no example
database), so it generates the same requests every time. It works in a tenant of its own,
removed afterwards with its schema, and the messages its orders sent to the broker are
dropped: nothing it creates reaches another test.
Run it by hand against `make demo` as `docs/api-contract.md` says.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from orders.models import Order
from tenants.models import Tenant
from tenants.provisioning import provision_tenant
from tests.support.harness import ROOT, HubProcesses, hub_env
from tests.support.orders_api import issue_token

pytestmark = pytest.mark.e2e  # the hub's web process and Schemathesis's, started here

SLUG = "contract"
HOST = f"{SLUG}.{settings.HUB_BASE_DOMAIN}"
MAX_EXAMPLES = 20
"""Per operation and phase; with the coverage phase's own cases the run sends about 830."""
MIN_REQUESTS = 500
OPERATIONS = {
    "GET /api/v1/me/",
    "GET /api/v1/orders/",
    "POST /api/v1/orders/",
    "GET /api/v1/orders/{id}/",
    "POST /api/v1/orders/{id}/invoice",
}


@pytest.fixture(scope="module")
def contract_token(django_db_setup, django_db_blocker) -> Iterator[str]:
    """A tenant of the run's own with a tenant admin's token (Finance included)."""
    with django_db_blocker.unblock():
        provision_tenant(
            slug=SLUG, name="API contract", admin_email=f"ops@{SLUG}.test", admin_password="-"
        )
        token = issue_token(SLUG, f"ops@{SLUG}.test")
    try:
        yield token
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            Tenant.objects.get(slug=SLUG).delete(force_drop=True)


@pytest.fixture(scope="module")
def web(contract_token, tmp_path_factory) -> Iterator[HubProcesses]:
    """The hub's web process; the throttles are lifted so every generated request is judged on
    its own (a 429 is documented, but would hide what the request itself gets)."""
    env = hub_env(
        connection.settings_dict,
        settings.REDIS_URL,
        HUB_API_RATE="1000000/min",
        HUB_TOKEN_FAILURE_LIMIT="1000000",
    )
    processes = HubProcesses(env, tmp_path_factory.mktemp("contract-web"))
    processes.start_web()
    yield processes
    processes.stop_all()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(*settings.HUB_QUEUES)  # the placed orders' messages; no worker ran here


def test_schemathesis_finds_nothing_in_500_generated_requests(
    web, contract_token, django_db_blocker, tmp_path
):
    schema = requests.get(f"{web.web_url}/api/schema/?format=json", headers={"Host": HOST})
    assert schema.status_code == 200
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(schema.text)
    report = tmp_path / "report.json"
    har = tmp_path / "requests.har"

    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
            "run", str(schema_file),
            "--url", web.web_url,
            "--header", f"Host: {HOST}",
            "--header", f"Authorization: Bearer {contract_token}",
            "--checks", "all",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--generation-deterministic",  # a fixed derandomised run: no seed, no example db
            "--max-examples", str(MAX_EXAMPLES),
            "--workers", "1",
            "--request-timeout", "30",
            "--report", "json,har",
            "--report-json-path", str(report),
            "--report-har-path", str(har),
            "--no-color",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip

    output = findings(run.stdout) + run.stderr[-5000:]
    assert run.returncode == 0, output
    summary = json.loads(report.read_text())
    assert summary["failures"] == [], output
    assert summary["errors"] == [], output
    assert summary["operations"]["tested"] == len(OPERATIONS), output
    assert {name: phase["status"] for name, phase in summary["phases"].items()} == {
        "examples": "success",
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }, output

    sent = requests_by_operation(har, web.web_url)
    print(f"Schemathesis sent {sum(sent.values())} requests: {sorted(sent.items())}")  # -s shows
    assert {operation for operation, _ in sent} >= OPERATIONS, sent
    assert sum(sent.values()) >= MIN_REQUESTS, sent
    # Orders placed, read and asked for their invoice (409: not in the ERP, no worker ran).
    assert sent["POST /api/v1/orders/", 201] and sent["GET /api/v1/orders/{id}/", 200], sent
    assert sent["POST /api/v1/orders/{id}/invoice", 409], sent
    with django_db_blocker.unblock(), schema_context(SLUG):
        assert Order.objects.exists()  # it placed orders, whose links the stateful phase follows


def findings(text: str) -> str:
    """Schemathesis's report from its first error or failure on (its summary if none)."""
    starts = [text.find(f" {title} ") for title in ("ERRORS", "FAILURES", "SUMMARY")]
    start = min((at for at in starts if at >= 0), default=0)
    return text[start : start + 30000]


def requests_by_operation(har: Path, base_url: str) -> Counter[tuple[str, int]]:
    """How many requests the run sent to each operation, by answer (HAR entries)."""
    base = urlsplit(base_url).path.rstrip("/")
    sent: Counter[tuple[str, int]] = Counter()
    for entry in json.loads(har.read_text())["log"]["entries"]:
        method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
        path = path.removeprefix(base)
        parts = path.split("/")
        if path.startswith("/api/v1/orders/") and len(parts) > 4 and parts[4]:
            parts[4] = "{id}"
        sent[f"{method} {'/'.join(parts)}", entry["response"]["status"]] += 1
    return sent
