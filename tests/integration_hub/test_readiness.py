"""`/readyz` for load balancers: 503 when PostgreSQL or Redis is down or the process drains; and a
5xx answer to a store's webhook is noted for the webhook health check."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client

from core.middleware import WEBHOOK_FAILURES_KEY, WebhookFastPath
from integration_hub import health
from tests.support.harness import ROOT, free_port, hub_env, wait_until


@pytest.fixture
def draining():
    health.start_draining()
    yield
    health.stop_draining()


@pytest.fixture
def no_failure_note():
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete(WEBHOOK_FAILURES_KEY)
    yield broker
    broker.delete(WEBHOOK_FAILURES_KEY)


def readyz(host: str = "localhost"):
    return Client().get("/readyz", HTTP_HOST=host)


def test_readyz_answers_200_when_postgresql_and_redis_answer(db):
    response = readyz()
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "postgresql": "ok", "redis": "ok"}


@pytest.mark.parametrize("host", ["localhost", "acme.localhost", "unknown.localhost"])
def test_readyz_answers_503_on_any_host_while_the_process_drains(db, draining, host):
    response = readyz(host)
    assert (response.status_code, response.json()) == (503, {"status": "draining"})


def test_readyz_answers_503_when_redis_is_down(db, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = readyz()
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")
    assert response.json()["status"] == "unavailable"


def test_readyz_answers_503_when_postgresql_is_down(db, monkeypatch):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(health.connection, "cursor", refused)
        response = readyz()
    assert response.status_code == 503
    assert response.json()["postgresql"] == "error: OperationalError"


def test_a_store_webhook_answered_503_is_noted_for_the_webhook_health_check(
    db, monkeypatch, no_failure_note
):
    def database_down(self, host):
        raise OperationalError("connection refused")

    monkeypatch.setattr(WebhookFastPath, "is_public", database_down)
    client = Client()

    other = client.post("/webhooks/shipstation/token/", {}, HTTP_HOST="localhost")
    assert other.status_code == 503
    assert no_failure_note.get(WEBHOOK_FAILURES_KEY) is None  # only API2Cart disables webhooks

    before = time.time()
    answer = client.post("/webhooks/api2cart/token/", {}, HTTP_HOST="localhost")
    assert answer.status_code == 503
    assert float(no_failure_note.get(WEBHOOK_FAILURES_KEY)) >= before


def test_an_accepted_or_refused_webhook_is_not_noted(db, no_failure_note):
    assert (
        Client().post("/webhooks/api2cart/unknown/", {}, HTTP_HOST="localhost").status_code == 404
    )
    assert no_failure_note.get(WEBHOOK_FAILURES_KEY) is None


@pytest.mark.e2e  # a gunicorn process, signalled
def test_a_gunicorn_worker_told_to_stop_answers_readyz_with_503_while_it_finishes(tmp_path):
    port = free_port()
    env = hub_env(
        connection.settings_dict,
        settings.REDIS_URL,
        HUB_WEB_BIND=f"127.0.0.1:{port}",
        HUB_WEB_WORKERS="1",
        HUB_WEB_THREADS="2",
    )
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 (closed with the process)
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def ready() -> int | None:
            try:
                kept.request("GET", "/readyz", headers={"Host": "localhost"})
                answer = kept.getresponse()
                answer.read()
                return answer.status
            except OSError:
                kept.close()
                return None

        assert wait_until(ready, timeout=60) == 200
        [worker] = wait_until(lambda: children_of(web.pid), timeout=10)

        subprocess.run(["kill", "-TERM", str(worker)], check=True)
        time.sleep(0.3)  # the worker keeps a kept-alive connection ~2 s after SIGTERM

        kept.request("GET", "/readyz", headers={"Host": "localhost"})
        answer = kept.getresponse()
        assert answer.status == 503
        assert b'"draining"' in answer.read()
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(30)
        log.close()


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]
