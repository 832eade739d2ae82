"""The JSON depth check is one linear pass: adversarial bodies of 100 KB and 1 MB are refused
(4xx) by every entry point that decodes outside JSON, and 1 MB costs about ten times 100 KB.

The check used to strip strings with a backtracking regex, which took ~10 s on 24 KB of
unterminated string after 65 `[` and got a worker killed at 100 KB. Costs are asserted on the
scan's own step count (deterministic) and, generously, on the clock.
"""

from __future__ import annotations

import gc
import io
import json
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.exceptions import ParseError

from core.admin_sites import platform_admin
from core.json_limits import MAX_JSON_DEPTH, nesting_depth, scan, too_deep
from core.parsers import SafeJSONParser
from inbox.admin import InboxItemAdmin
from inbox.models import InboxItem
from orders.models import Order
from tenant_settings.models import ConnectionSettings
from tenants.models import Api2CartAccount, Store
from tests.support.json_shapes import KB100, MB1, SHAPES, adversarial_bodies
from tests.support.orders_api import issue_token
from tests.support.stores import make_store

SMALL = adversarial_bodies(KB100)
LARGE = adversarial_bodies(MB1)
# Linear: ten times the input may cost fifteen times as much (noise), plus a small constant.
# Each time is the best of REPEATS runs, so a busy machine's pause does not count. (The regex
# check this replaced took ~30 s on one 100 KB body.)
RATIO, SLACK_SECONDS, LIMIT_SECONDS, REPEATS = 15, 0.5, 2.5, 3
# The tests timed on the wall clock (seconds each) are marked e2e: they run in the serial suite
# (`make test`), not in `make test-fast`, where another xdist worker shares the two cores.
on_the_clock = pytest.mark.e2e


def seconds(call: Callable[[], object], repeats: int = 1) -> float:
    """The best of `repeats` runs of `call`, in CPU seconds of this process: other processes on
    the shared machine do not count, and the best filters what noise is left.

    The objects the test session has piled up are frozen out of the garbage collector first:
    a web process does not carry them, and scanning them on every collection the body's
    allocations trigger would time the test session, not the code."""
    best = float("inf")
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeats):
            start = time.process_time()
            call()
            best = min(best, time.process_time() - start)
    finally:
        gc.unfreeze()
    return best


def assert_linear(costs: dict[str, tuple[float, float]], slack: float = SLACK_SECONDS) -> None:
    """Each shape's 1 MB time within RATIO × its 100 KB time + slack, and under the limit."""
    slow = {
        name: (round(small, 3), round(large, 3))
        for name, (small, large) in costs.items()
        if large > RATIO * small + slack or large > LIMIT_SECONDS
    }
    assert not slow, f"(100 KB s, 1 MB s) not linear or too slow: {slow}"


# The scan itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_the_scan_looks_at_each_character_at_most_once(shape):
    small, large = scan(SMALL[shape]), scan(LARGE[shape])
    assert large.steps <= MB1 + 1
    assert large.examined <= MB1
    assert large.steps <= 10 * small.steps + 10  # ten times the input, ten times the steps


@pytest.mark.parametrize("shape", ["unterminated_string_after_65", "open_brackets", "open_objects"])
def test_the_scan_stops_at_the_limit(shape):
    result = scan(LARGE[shape])
    assert result.depth == MAX_JSON_DEPTH + 1
    assert result.examined < 500  # a megabyte, and the answer comes from its first characters
    assert too_deep(LARGE[shape])


@on_the_clock
def test_the_check_is_linear_on_the_clock():
    costs = {
        name: (
            seconds(lambda n=name: too_deep(SMALL[n]), 3),
            seconds(lambda n=name: too_deep(LARGE[n]), 3),
        )
        for name in SHAPES
    }
    assert_linear(costs, slack=0.05)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[", "{{{"]', 1),  # brackets in strings do not count
        ('["\\"[[[", []]', 2),  # an escaped quote does not end the string
        ('["\\\\", []]', 2),  # an escaped backslash does not escape the quote after it
        ('["\\\\\\"[", []]', 2),  # three backslashes: the quote is escaped
        ('"[[[', 0),  # an unterminated string hides what follows
        ("]]][[", 2),  # a stray closing bracket does not go below zero
        ("[" * 200, MAX_JSON_DEPTH + 1),  # counting stops at the limit
    ],
)
def test_nesting_depth_counts_what_the_decoder_would_nest(text, depth):
    assert nesting_depth(text) == depth


def test_the_depth_agrees_with_the_decoder_at_the_limit():
    at_limit = json.dumps(json.loads("[" * 64 + '"\\"]]\\\\"' + "]" * 64))
    assert nesting_depth(at_limit) == 64 and not too_deep(at_limit)
    assert too_deep("[" * 65 + "]" * 65)


# Every entry point that decodes outside JSON --------------------------------------------------


def refused_fast(post: Callable[[str], int], allowed: tuple[int, ...] = (400,)) -> None:
    """`post` sends a body and returns the status: every shape at both sizes is refused, and
    the 1 MB answer takes about ten times the 100 KB one at most (best of REPEATS each)."""
    costs: dict[str, tuple[float, float]] = {}
    statuses: dict[str, list[int]] = {name: [] for name in SHAPES}
    for name in SHAPES:
        costs[name] = (
            seconds(lambda n=name: statuses[n].append(post(SMALL[n])), REPEATS),
            seconds(lambda n=name: statuses[n].append(post(LARGE[n])), REPEATS),
        )
    wrong = {name: s for name, s in statuses.items() if any(code not in allowed for code in s)}
    assert not wrong, f"not refused with {allowed}: {wrong}"
    assert_linear(costs)


@on_the_clock
def test_the_order_api_refuses_every_shape_fast(acme):
    # A user of its own: the API's per-user rate limit is shared with every other test's calls.
    client, token = Client(), issue_token("acme", "json-limits@acme.test", "Order manager")

    def post(body: str) -> int:
        return client.post(
            "/api/v1/orders/",
            body,
            content_type="application/json",
            HTTP_HOST="acme.localhost",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        ).status_code

    refused_fast(post)
    with schema_context("acme"):
        assert not Order.objects.exists()


@on_the_clock
def test_the_api2cart_webhook_refuses_every_shape_fast(db, settings):
    settings.HUB_PUBLIC_URL = "http://127.0.0.1:9"
    account = Api2CartAccount.objects.create(
        name="offline", base_url="http://127.0.0.1:9/api2cart/v1.1", api_key="offline-key"
    )
    store: Store = make_store(account)
    client = Client()

    def post(body: str) -> int:
        return client.post(
            f"/webhooks/api2cart/{store.webhook_token}/",
            body,
            content_type="application/json",
            HTTP_HOST="localhost",
            HTTP_X_WEBHOOK_ENTITY="order",
            HTTP_X_WEBHOOK_ACTION="add",
        ).status_code

    refused_fast(post)
    assert not InboxItem.objects.exists()


@on_the_clock
def test_the_shipstation_webhook_refuses_every_shape_fast(acme):
    token = acme.rotate_shipstation_webhook_token()
    acme.save()
    client = Client()

    def post(body: str) -> int:
        return client.post(
            f"/webhooks/shipstation/{token}/",
            body,
            content_type="application/json",
            HTTP_HOST="localhost",
        ).status_code

    refused_fast(post)
    assert not InboxItem.objects.exists()


@on_the_clock
def test_the_api_parser_refuses_every_shape_fast():
    def parse(body: str) -> int:
        try:
            SafeJSONParser().parse(io.BytesIO(body.encode()), "application/json", {})
        except ParseError as refused:
            return refused.status_code
        return 200

    refused_fast(parse)


@on_the_clock
def test_the_inbox_page_shows_every_shape_as_received_fast():
    """Stored bodies are pretty-printed only when the check lets them through."""
    admin = InboxItemAdmin(InboxItem, platform_admin)

    def show(body: str) -> int:
        html = admin.pretty_body(SimpleNamespace(body=body, personal_data_removed_at=None))
        assert "shown as received" in html
        return 400

    refused_fast(show)


@on_the_clock
def test_the_ionapi_field_refuses_every_shape_fast(acme_admin):
    """The tenant admin's .ionapi upload (at most 64 KiB) is a form error for every shape."""
    with schema_context("acme"):
        before = ConnectionSettings.load()
    url = f"/admin/tenant_settings/connectionsettings/{before.pk}/change/"
    form = {
        "erp_company": "100",
        "erp_division": "AAA",
        "erp_warehouse": "100",
        "missing_customer_policy": "create",
        "shipstation_base_url": "https://ssapi.shipstation.com",
    }
    for name, body in adversarial_bodies(60_000).items():
        start = time.process_time()
        upload = SimpleUploadedFile("hostile.ionapi", body.encode())
        response = acme_admin.post(url, {**form, "ionapi_file": upload})
        assert time.process_time() - start < LIMIT_SECONDS, name
        assert response.status_code == 200, name
        assert b"The .ionapi file is not valid JSON" in response.content, name
    with schema_context("acme"):
        assert ConnectionSettings.load().erp_ionapi == before.erp_ionapi  # nothing was kept
