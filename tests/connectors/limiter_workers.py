"""Process entry points for the multi-process limiter tests and the benchmark.

They live in their own module so `multiprocessing` (spawn) can import them in a fresh child.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis

from connectors.errors import RateLimitedError, RetryableError
from connectors.ratelimit import (
    ConcurrencyLimiter,
    LimitKey,
    Pool,
    SlidingWindowLimiter,
)
from connectors.shipstation import ShipStationClient


@dataclass
class HammerReport:
    sent_at: list[float] = field(default_factory=list)
    upstream_429: int = 0
    limiter_refusals: int = 0
    other_errors: list[str] = field(default_factory=list)


class _RecordingLimiter(SlidingWindowLimiter):
    """Notes when (Redis server time) each call was let through."""

    def __init__(self, *args, report: HammerReport, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.report = report

    def acquire(self) -> None:
        super().acquire()
        self.report.sent_at.append(self.last_granted_at)


def hammer_shipstation(
    redis_url: str,
    prefix: str,
    base_url: str,
    api_key: str,
    api_secret: str,
    limit: int,
    window_seconds: float,
    run_seconds: float,
    max_wait: float,
) -> HammerReport:
    """Call ShipStation as fast as the shared limiter allows for `run_seconds`."""
    report = HammerReport()
    limiter = _RecordingLimiter(
        redis.Redis.from_url(redis_url),
        LimitKey("tenant_test", "shipstation", "hammer"),
        limit=limit,
        window_seconds=window_seconds,
        max_wait=max_wait,
        prefix=prefix,
        report=report,
    )
    deadline = time.monotonic() + run_seconds
    with ShipStationClient(api_key, api_secret, base_url=base_url, limiter=limiter) as client:
        while time.monotonic() < deadline:
            try:
                client.list_stores()
            except RateLimitedError as exc:
                if exc.status == 429:
                    report.upstream_429 += 1
                else:
                    report.limiter_refusals += 1
                    time.sleep(0.05)
            except RetryableError as exc:
                report.other_errors.append(str(exc))
    return report


def hold_slots(
    redis_url: str, prefix: str, pool_size: int, iterations: int, hold_seconds: float
) -> int:
    """Take a concurrency slot repeatedly; returns the most holders seen at once."""
    client = redis.Redis.from_url(redis_url)
    limiter = ConcurrencyLimiter(
        client,
        [Pool(LimitKey("tenant_test", "api2cart", "store"), pool_size)],
        max_wait=30,
        prefix=prefix,
    )
    gauge = f"{prefix}gauge"
    most = 0
    for _ in range(iterations):
        with limiter.slot():
            now = client.incr(gauge)
            most = max(most, int(now))
            time.sleep(hold_seconds)
            client.decr(gauge)
    return most


def max_in_window(times: list[float], window_seconds: float) -> int:
    """The most events inside any rolling window (two-pointer sweep over sorted times)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window_seconds:
            start += 1
        most = max(most, end - start + 1)
    return most
