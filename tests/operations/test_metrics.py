"""`/metrics`: the base domain only, for the scrape token or an allowed address; real figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from prometheus_client.parser import text_string_to_metric_families

from core.models import WorkAttempt
from orders.models import Order
from portal.flow_lag import refresh_figures

TOKEN = "scrape-token-for-tests-0123456789"


@pytest.fixture
def scrape_settings(settings):
    settings.HUB_METRICS_TOKEN = TOKEN
    settings.HUB_METRICS_ALLOWED_IPS = "10.20.0.0/16"
    return settings


def scrape(host: str = "localhost", **extra):
    return Client().get("/metrics", HTTP_HOST=host, **extra)


def samples(response) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_need_the_token_or_an_allowed_address(scrape_settings, db):
    assert scrape().status_code == 403
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert scrape(REMOTE_ADDR="10.20.3.4").status_code == 200
    assert scrape(REMOTE_ADDR="10.21.3.4").status_code == 403


def test_nobody_reads_metrics_when_nothing_is_configured(settings, db):
    settings.HUB_METRICS_TOKEN = ""
    settings.HUB_METRICS_ALLOWED_IPS = ""
    assert scrape(HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_a_tenant_domain_has_no_metrics(scrape_settings, acme):
    response = scrape("acme.localhost", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404
    assert b"hub_orders" not in response.content


def test_orders_calls_and_waiting_work_per_tenant(scrape_settings, acme, globex):
    now = timezone.now()
    with schema_context("acme"):
        for n, state in enumerate(["routed", "routed", "needs_attention"]):
            order = Order.objects.create(
                source="api", store_order_id=f"M{n}", order_number=f"M{n}", state=state
            )
        Order.objects.filter(pk=order.pk).update(created_at=now - timedelta(minutes=5))
        ten_minutes_ago = now - timedelta(minutes=10)
        Order.objects.filter(state="routed").update(
            created_at=ten_minutes_ago, updated_at=ten_minutes_ago
        )
        for ms, outcome in ((200, "succeeded"), (600, "retry")):
            WorkAttempt.objects.create(
                kind="orders.order", item_id=order.pk, number=1, started_at=now,
                duration_ms=ms, outcome=outcome, upstream="m3",
            )  # fmt: skip
        refresh_figures(acme)  # what the sweeper's visit does, at most once a minute
    with schema_context("globex"):
        refresh_figures(globex)
    found = samples(scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert found[("hub_orders", (("state", "routed"), ("tenant", "acme")))] == 2
    assert found[("hub_orders", (("state", "needs_attention"), ("tenant", "acme")))] == 1
    assert not any(k[0] == "hub_orders" and ("tenant", "globex") in k[1] for k in found)
    calls = ("hub_upstream_calls_recent", (("outcome", "retry"), ("tenant", "acme"),
                                           ("upstream", "m3")))  # fmt: skip
    assert found[calls] == 1
    latency = found[("hub_upstream_call_seconds_recent",
                     (("stat", "avg"), ("tenant", "acme"), ("upstream", "m3")))]  # fmt: skip
    assert latency == pytest.approx(0.4)
    age = found[
        ("hub_oldest_work_item_age_seconds", (("kind", "orders.order"), ("tenant", "acme")))
    ]
    assert 590 < age < 700
    assert found[("hub_work_items_waiting", (("kind", "orders.order"), ("tenant", "acme")))] == 2
    assert found[("hub_broker_up", ())] == 1
    assert ("hub_queue_depth", (("queue", "hub"),)) in found


def test_webhook_answers_are_counted(scrape_settings, db):
    before = samples(scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    key = ("hub_webhooks_total", (("outcome", "refused"), ("source", "api2cart")))
    response = Client().post(
        "/webhooks/api2cart/no-such-token/", b"{}", content_type="application/json",
        HTTP_HOST="localhost",
    )  # fmt: skip
    assert response.status_code in (401, 403, 404)
    after = samples(scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert after[key] == before.get(key, 0) + 1


@pytest.mark.e2e  # child Pythons
def test_webhook_counts_of_every_server_process_add_up(scrape_settings, db, tmp_path, monkeypatch):
    """Under a pre-forking server each process writes its counts to PROMETHEUS_MULTIPROC_DIR."""
    import os
    import subprocess
    import sys

    from tests.support.harness import ROOT

    count = (
        "import django; django.setup(); from operations.metrics import WEBHOOKS; "
        "WEBHOOKS.labels('shipstation', 'accepted').inc({})"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
    for n in (3, 4):
        subprocess.run([sys.executable, "-c", count.format(n)], cwd=ROOT, env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    found = samples(scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert found[("hub_webhooks_total", (("outcome", "accepted"), ("source", "shipstation")))] == 7
    assert ("hub_broker_up", ()) in found
