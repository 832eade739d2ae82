"""Upstream limits shared by every worker process, kept in Redis.

- `SlidingWindowLimiter`: at most `limit` calls in any rolling `window` (ShipStation: 40 per
  minute per API key). The window is checked and the call recorded in one Lua script, on the
  Redis server's clock, so processes on different hosts agree.
- `ConcurrencyLimiter`: at most N calls in flight per pool (API2Cart: 5 per store, 10 per
  account), a distributed semaphore. Each slot is a lease that expires on its own, so a process
  that crashes mid-call frees its slot after `lease_seconds` instead of leaking it.

Both block for at most `max_wait` seconds and then raise `RateLimitedError` (retryable), so a
Celery task gives its worker back instead of sleeping for minutes.
Keys are `{prefix}{tenant schema}:{upstream}:{account}`; secrets are hashed, never stored.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from connectors.errors import RateLimitedError, RetryableError

DEFAULT_PREFIX = "ratelimit:"

_WINDOW_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local held = redis.call('PTTL', KEYS[2])
if held > 0 then
  return {0, held * 1000}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return {1, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, tonumber(oldest[2]) + window - now)}
"""

_HOLD = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 0
"""

_SLOT_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[1])
  if redis.call('PTTL', key) < lease + 1000 then
    redis.call('PEXPIRE', key, lease + 1000)
  end
end
return 1
"""


@contextmanager
def _limiter_store(upstream: str) -> Iterator[None]:
    """Redis trouble means we cannot prove a call is allowed: the caller should retry later."""
    try:
        yield
    except redis.RedisError as exc:
        raise RetryableError(f"Rate limiter unavailable: {exc}", upstream=upstream) from exc


def fingerprint(secret: str) -> str:
    """A short stable name for a key or account, so Redis never holds the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LimitKey:
    """Who shares one limit: (tenant schema, upstream, account)."""

    tenant_schema: str
    upstream: str
    account: str

    def redis_key(self, prefix: str, suffix: str) -> str:
        return f"{prefix}{self.tenant_schema}:{self.upstream}:{self.account}:{suffix}"


@dataclass(frozen=True)
class Pool:
    """One concurrency pool: at most `size` calls in flight under `key`."""

    key: LimitKey
    size: int


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any rolling `window_seconds`, across all processes."""

    def __init__(
        self,
        client: redis.Redis,
        key: LimitKey,
        *,
        limit: int = 40,
        window_seconds: float = 60.0,
        max_wait: float = 30.0,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.redis = client
        self.key = key
        self.limit = limit
        self.window_us = int(window_seconds * 1_000_000)
        self.max_wait = max_wait
        self.last_granted_at: float | None = None
        """Redis server time (epoch seconds) of this limiter's latest granted call."""
        self._window_key = key.redis_key(prefix, "window")
        self._hold_key = key.redis_key(prefix, "hold")
        self._acquire = client.register_script(_WINDOW_ACQUIRE)
        self._hold = client.register_script(_HOLD)

    def try_acquire(self) -> float:
        """Take a slot now if one is free: 0.0 on success, else seconds until one may be."""
        member = uuid.uuid4().hex
        with _limiter_store(self.key.upstream):
            granted, micros = self._acquire(
                keys=[self._window_key, self._hold_key], args=[self.limit, self.window_us, member]
            )
        if granted:
            self.last_granted_at = int(micros) / 1_000_000
            return 0.0
        return int(micros) / 1_000_000

    def acquire(self) -> None:
        """Block until a call is allowed; raise RateLimitedError after `max_wait` seconds."""
        deadline = time.monotonic() + self.max_wait
        while True:
            wait = self.try_acquire()
            if wait == 0:
                return
            remaining = deadline - time.monotonic()
            if wait > remaining:
                raise RateLimitedError(
                    f"Shared rate limit for {self.key.upstream} reached "
                    f"({self.limit} per {self.window_us / 1_000_000:g} s)",
                    retry_after=wait,
                    upstream=self.key.upstream,
                )
            # A little jitter so waiting processes do not all wake in the same millisecond.
            time.sleep(wait + random.uniform(0, 0.05))

    def hold(self, seconds: float) -> None:
        """Stop every process for `seconds`: the upstream says this window is spent."""
        if seconds > 0:
            with _limiter_store(self.key.upstream):
                self._hold(keys=[self._hold_key], args=[int(seconds * 1000)])

    def recent_calls(self) -> int:
        """Calls recorded in the current rolling window (for dashboards and tests)."""
        seconds, micros = self.redis.time()
        now = seconds * 1_000_000 + micros
        return int(self.redis.zcount(self._window_key, f"({now - self.window_us}", "+inf"))


class ConcurrencyLimiter:
    """A distributed semaphore over one or more pools; a slot is taken in all pools or none."""

    def __init__(
        self,
        client: redis.Redis,
        pools: Sequence[Pool],
        *,
        lease_seconds: float = 300.0,
        max_wait: float = 30.0,
        poll_seconds: float = 0.05,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        if not pools:
            raise ValueError("ConcurrencyLimiter needs at least one pool")
        self.redis = client
        self.pools = tuple(pools)
        self.lease_ms = int(lease_seconds * 1000)
        self.max_wait = max_wait
        self.poll_seconds = poll_seconds
        self._keys = [pool.key.redis_key(prefix, "inflight") for pool in self.pools]
        self._acquire = client.register_script(_SLOT_ACQUIRE)

    def try_acquire(self) -> str | None:
        """Take a slot in every pool now, returning its token, or None when any pool is full."""
        token = uuid.uuid4().hex
        sizes = [pool.size for pool in self.pools]
        with _limiter_store(self.pools[0].key.upstream):
            taken = self._acquire(keys=self._keys, args=[token, self.lease_ms, *sizes])
        return token if int(taken) == 1 else None

    def acquire(self) -> str:
        """Block until a slot is free in every pool; RateLimitedError after `max_wait`."""
        deadline = time.monotonic() + self.max_wait
        delay = self.poll_seconds
        while True:
            token = self.try_acquire()
            if token is not None:
                return token
            if time.monotonic() + delay > deadline:
                names = ", ".join(f"{p.key.account} ({p.size})" for p in self.pools)
                raise RateLimitedError(
                    f"All concurrent-call slots busy for {names}",
                    retry_after=max(1.0, self.poll_seconds * 20),
                    upstream=self.pools[0].key.upstream,
                )
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 1.5, 1.0)

    def release(self, token: str) -> None:
        """Give the slot back; if Redis is unreachable the lease simply runs out instead."""
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for key in self._keys:
                    pipe.zrem(key, token)
                pipe.execute()
        except redis.RedisError:
            return

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration of a call."""
        token = self.acquire()
        try:
            yield
        finally:
            self.release(token)

    def in_flight(self) -> list[int]:
        """Live (unexpired) slots per pool, in pool order."""
        now_s, now_us = self.redis.time()
        now_ms = now_s * 1000 + now_us // 1000
        return [int(self.redis.zcount(key, f"({now_ms}", "+inf")) for key in self._keys]


def shipstation_limiter(
    client: redis.Redis,
    tenant_schema: str,
    api_key: str,
    *,
    limit: int = 40,
    window_seconds: float = 60.0,
    max_wait: float = 30.0,
    prefix: str = DEFAULT_PREFIX,
) -> SlidingWindowLimiter:
    """ShipStation V1: `limit` requests per rolling minute per API key pair (contract §1.3)."""
    key = LimitKey(tenant_schema, "shipstation", fingerprint(api_key))
    return SlidingWindowLimiter(
        client, key, limit=limit, window_seconds=window_seconds, max_wait=max_wait, prefix=prefix
    )


def api2cart_limiter(
    client: redis.Redis,
    api_key: str,
    store_key: str | None = None,
    *,
    scope: str = "public",
    per_store: int = 5,
    per_account: int = 10,
    lease_seconds: float = 300.0,
    max_wait: float = 30.0,
    prefix: str = DEFAULT_PREFIX,
) -> ConcurrencyLimiter:
    """API2Cart: `per_account` calls in flight per API key and `per_store` per store (§1.5).

    The scope defaults to `public` because the API2Cart account and its stores are shared by
    every tenant; keying by tenant would let each tenant use the whole allowance.
    Leave out `store_key` for account-level methods.
    """
    account = fingerprint(api_key)
    pools = [Pool(LimitKey(scope, "api2cart", account), per_account)]
    if store_key:
        store = f"{account}/{fingerprint(store_key)}"
        pools.append(Pool(LimitKey(scope, "api2cart", store), per_store))
    return ConcurrencyLimiter(
        client, pools, lease_seconds=lease_seconds, max_wait=max_wait, prefix=prefix
    )
