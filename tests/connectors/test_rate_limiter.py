"""The Redis limiters, alone and with several OS processes sharing one limit."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from connectors.errors import RateLimitedError, RetryableError
from connectors.ratelimit import (
    ConcurrencyLimiter,
    LimitKey,
    Pool,
    SlidingWindowLimiter,
    api2cart_limiter,
    fingerprint,
    shipstation_limiter,
)
from sandbox import demo_data

from . import limiter_workers
from .conftest import REDIS_URL

KEY = LimitKey("tenant_test", "shipstation", "acct")
PROCESSES = 3


def window(client: redis.Redis, prefix: str, **kwargs) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(client, KEY, prefix=prefix, **kwargs)


def pools(prefix: str, client: redis.Redis, *sizes: int, **kwargs) -> ConcurrencyLimiter:
    keys = [LimitKey("tenant_test", "api2cart", f"pool{n}") for n in range(len(sizes))]
    return ConcurrencyLimiter(
        client, [Pool(k, s) for k, s in zip(keys, sizes, strict=True)], prefix=prefix, **kwargs
    )


# Sliding window


def test_window_allows_the_limit_then_reports_the_wait(redis_client, redis_prefix) -> None:
    limiter = window(redis_client, redis_prefix, limit=3, window_seconds=1.0)
    assert [limiter.try_acquire() for _ in range(3)] == [0, 0, 0]
    wait = limiter.try_acquire()
    assert 0 < wait <= 1.0
    assert limiter.recent_calls() == 3
    time.sleep(wait + 0.02)
    assert limiter.try_acquire() == 0


def test_window_is_rolling_not_fixed(redis_client, redis_prefix) -> None:
    limiter = window(redis_client, redis_prefix, limit=2, window_seconds=1.0)
    limiter.try_acquire()
    time.sleep(0.6)
    limiter.try_acquire()
    time.sleep(0.5)
    assert limiter.try_acquire() == 0, "the first call left the window"
    assert limiter.try_acquire() > 0, "the second call is still inside it"


def test_acquire_blocks_up_to_max_wait_then_raises_retryable(redis_client, redis_prefix) -> None:
    limiter = window(redis_client, redis_prefix, limit=1, window_seconds=0.4, max_wait=1.0)
    limiter.acquire()
    started = time.monotonic()
    limiter.acquire()
    assert 0.3 < time.monotonic() - started < 0.8
    slow = window(redis_client, redis_prefix, limit=1, window_seconds=5.0, max_wait=0.2)
    with pytest.raises(RateLimitedError) as caught:
        slow.acquire()
    assert caught.value.retry_after > 4
    assert caught.value.status is None


def test_hold_stops_everyone_until_it_expires(redis_client, redis_prefix) -> None:
    first = window(redis_client, redis_prefix, limit=100, window_seconds=60)
    second = window(redis_client, redis_prefix, limit=100, window_seconds=60)
    first.hold(0.5)
    assert 0 < second.try_acquire() <= 0.5
    first.hold(0.1)
    assert second.try_acquire() > 0.2, "a shorter hold never shortens a longer one"
    time.sleep(0.55)
    assert second.try_acquire() == 0


def test_keys_hold_no_secrets(redis_client, redis_prefix) -> None:
    limiter = shipstation_limiter(redis_client, "acme", "very-secret-key", prefix=redis_prefix)
    limiter.acquire()
    keys = [k.decode() for k in redis_client.scan_iter(f"{redis_prefix}*")]
    assert keys == [f"{redis_prefix}acme:shipstation:{fingerprint('very-secret-key')}:window"]


def test_redis_outage_is_retryable_not_a_crash(redis_prefix) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    with pytest.raises(RetryableError):
        window(unreachable, redis_prefix, limit=1).acquire()
    with pytest.raises(RetryableError):
        pools(redis_prefix, unreachable, 1).acquire()
    pools(redis_prefix, unreachable, 1).release("lost-token")


# Concurrency slots


def test_slots_are_bounded_and_released(redis_client, redis_prefix) -> None:
    limiter = pools(redis_prefix, redis_client, 2)
    first, second = limiter.try_acquire(), limiter.try_acquire()
    assert first and second
    assert limiter.try_acquire() is None
    assert limiter.in_flight() == [2]
    limiter.release(first)
    assert limiter.try_acquire() is not None


def test_a_slot_is_taken_in_every_pool_or_in_none(redis_client, redis_prefix) -> None:
    account = LimitKey("public", "api2cart", "account")
    store_a = ConcurrencyLimiter(
        redis_client,
        [Pool(account, 2), Pool(LimitKey("public", "api2cart", "a"), 5)],
        prefix=redis_prefix,
    )
    store_b = ConcurrencyLimiter(
        redis_client,
        [Pool(account, 2), Pool(LimitKey("public", "api2cart", "b"), 5)],
        prefix=redis_prefix,
    )
    assert store_a.try_acquire() and store_a.try_acquire()
    assert store_b.try_acquire() is None, "the shared account pool is full"
    assert store_b.in_flight() == [2, 0], "nothing was taken from store b's own pool"


def test_a_crashed_holder_frees_its_slot_when_the_lease_expires(redis_client, redis_prefix) -> None:
    limiter = pools(redis_prefix, redis_client, 1, lease_seconds=0.3)
    assert limiter.try_acquire() is not None
    assert limiter.try_acquire() is None
    time.sleep(0.35)
    assert limiter.try_acquire() is not None


def test_blocking_slot_raises_retryable_after_max_wait(redis_client, redis_prefix) -> None:
    limiter = pools(redis_prefix, redis_client, 1, max_wait=0.3)
    with limiter.slot():
        started = time.monotonic()
        with pytest.raises(RateLimitedError):
            limiter.acquire()
        assert time.monotonic() - started < 1.0
    assert limiter.in_flight() == [0]


def test_api2cart_limiter_uses_one_account_pool_and_one_store_pool(
    redis_client, redis_prefix
) -> None:
    limiter = api2cart_limiter(
        redis_client, "api-key", "store-key", per_store=5, per_account=10, prefix=redis_prefix
    )
    assert [p.size for p in limiter.pools] == [10, 5]
    assert all(p.key.tenant_schema == "public" for p in limiter.pools)
    assert len(api2cart_limiter(redis_client, "api-key", prefix=redis_prefix).pools) == 1


# Several OS processes


def _spawn_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn"))


def test_processes_never_hold_more_slots_than_the_pool(redis_client, redis_prefix) -> None:
    with _spawn_pool() as executor:
        futures = [
            executor.submit(limiter_workers.hold_slots, REDIS_URL, redis_prefix, 2, 15, 0.02)
            for _ in range(PROCESSES)
        ]
        most = max(f.result(timeout=60) for f in futures)
    assert most == 2


def _hammer(sandbox, redis_prefix, *, limit, window_seconds, run_seconds, max_wait):
    acme = demo_data.tenant("acme")
    with _spawn_pool() as executor:
        futures = [
            executor.submit(
                limiter_workers.hammer_shipstation,
                REDIS_URL,
                redis_prefix,
                sandbox.api_url("shipstation"),
                acme.shipstation_key,
                acme.shipstation_secret,
                limit,
                window_seconds,
                run_seconds,
                max_wait,
            )
            for _ in range(PROCESSES)
        ]
        return [f.result(timeout=run_seconds + 60) for f in futures]


def test_three_processes_share_shipstations_limit_without_a_429(
    sandbox, redis_client, redis_prefix
) -> None:
    """The fake allows 10 calls per 60 s window; so does our limiter. No call may bounce."""
    sandbox.control("shipstation", "set-rate-limit", limit=10)
    bounced_before = sandbox.status()["shipstation"]["rate_limited"]
    reports = _hammer(
        sandbox, redis_prefix, limit=10, window_seconds=60, run_seconds=4, max_wait=0.5
    )
    sent = [t for r in reports for t in r.sent_at]
    assert len(sent) == 10
    assert sum(r.upstream_429 for r in reports) == 0
    assert sandbox.status()["shipstation"]["rate_limited"] == bounced_before
    assert all(r.limiter_refusals > 0 for r in reports), "every process was held back"
    assert not [e for r in reports for e in r.other_errors]


def test_three_processes_stay_within_a_rolling_window(sandbox, redis_client, redis_prefix) -> None:
    """5 calls per rolling 2 s (= 150 per minute, the fake's limit here), hammered for 8 s."""
    sandbox.control("shipstation", "set-rate-limit", limit=150)
    bounced_before = sandbox.status()["shipstation"]["rate_limited"]
    reports = _hammer(sandbox, redis_prefix, limit=5, window_seconds=2, run_seconds=8, max_wait=3)
    sent = [t for r in reports for t in r.sent_at]
    assert limiter_workers.max_in_window(sent, 2) <= 5
    assert len(sent) >= 18, f"the limiter starved the workers: {len(sent)} calls in 8 s"
    assert sum(r.upstream_429 for r in reports) == 0
    assert sandbox.status()["shipstation"]["rate_limited"] == bounced_before
