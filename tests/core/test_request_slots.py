"""Requests in flight per web process: the hub's own slots, or none where the server bounds them.

The development server starts a thread per request, so the hub caps them (`HUB_WEB_CONCURRENCY`)
and answers 503 past `HUB_WEB_QUEUE_SECONDS`; gunicorn runs at most its threads at once in a
process, so its settings ask for no slots (0) and every answer runs at once.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core import middleware
from core.middleware import in_a_request_slot, request_slots

GUNICORN_SETTINGS = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


@pytest.fixture
def fresh_slots(settings, db):
    """The process's slots made again from the test's settings, and forgotten afterwards (`db`:
    releasing connections at the end of an answer may touch the test's)."""
    middleware._slots, middleware._slots_sized = None, False
    yield settings
    middleware._slots, middleware._slots_sized = None, False


def webhook_request() -> HttpRequest:
    return RequestFactory().post("/webhooks/api2cart/token/", b"{}", "application/json")


def test_past_the_cap_a_request_waits_then_is_answered_503(fresh_slots):
    fresh_slots.HUB_WEB_CONCURRENCY = 1
    fresh_slots.HUB_WEB_QUEUE_SECONDS = 0.2
    holding, release = threading.Event(), threading.Event()

    def slow(request: HttpRequest) -> HttpResponse:
        holding.set()
        release.wait(5)
        return HttpResponse("first")

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(in_a_request_slot, webhook_request(), slow)
        assert holding.wait(5)
        refused = in_a_request_slot(webhook_request(), lambda request: HttpResponse("second"))
        release.set()
        assert first.result(5).content == b"first"

    assert refused.status_code == 503
    assert refused["Retry-After"] == "5"
    assert b"The hub is busy" in refused.content
    # The slot is free again once the first answer is done.
    assert in_a_request_slot(webhook_request(), lambda r: HttpResponse("third")).content == b"third"


def test_with_no_slots_every_answer_runs_at_once(fresh_slots):
    fresh_slots.HUB_WEB_CONCURRENCY = 0
    fresh_slots.HUB_WEB_QUEUE_SECONDS = 0.2
    together = threading.Barrier(3, timeout=5)

    def meet(request: HttpRequest) -> HttpResponse:
        together.wait()  # breaks (an exception) unless all three answers run side by side
        return HttpResponse("ok")

    with ThreadPoolExecutor(3) as pool:
        answers = [pool.submit(in_a_request_slot, webhook_request(), meet) for _ in range(3)]
        assert [answer.result(5).status_code for answer in answers] == [200, 200, 200]
    assert request_slots() is None


def test_gunicorn_asks_for_no_slots_of_the_hub(monkeypatch):
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HUB_WEB_")}
    monkeypatch.setattr(os, "environ", {**environ, "HUB_WEB_THREADS": "4"})
    config: dict = {}
    exec(compile(GUNICORN_SETTINGS.read_text(), str(GUNICORN_SETTINGS), "exec"), config)
    assert (config["worker_class"], config["threads"]) == ("gthread", 4)
    assert os.environ["HUB_WEB_CONCURRENCY"] == "0"
