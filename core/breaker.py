"""An upstream failing for everyone pauses for everyone: a circuit breaker per (schema, upstream).

Without it, 500 orders waiting on a down ERP each call it on their own schedule, and each
recovers only when its own wait is over. With it (docs/adr-0012-retry-schedules.md):

- *closed*: items are attempted. Each kind keeps a streak per schema: an attempt (one batch) in
  which nothing succeeded and some item failed retryably on upstream U adds one; any success ends
  it. `HUB_BREAKER_FAILURES` attempts in a row, over at least as many different items, within
  `HUB_BREAKER_WINDOW_SECONDS` open U in that schema (one item failing again and again says
  nothing about the others).
- *open* for `HUB_BREAKER_COOL_DOWN_SECONDS`: an item whose current run last failed on U
  (`WorkItem.failing_upstream`) is not attempted; it waits for the end of the cool-down, and no
  attempt is counted. Items that have not failed yet are tried (they may not need U).
- *half-open* after the cool-down: the first batch holding such items is the probe, the others
  wait a moment. A success closes U; a retryable failure on U opens it for another cool-down.
- Redis unreachable: the breaker is closed, every item is attempted as without it.

State lives in Redis so every worker of every node sees it; nothing here touches the database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from core.redis_client import REDIS_DOWN, fast_redis

logger = logging.getLogger("hub.breaker")

PROBE_WAIT_SECONDS = 5.0
"""How long items wait while another worker's attempt probes their half-open upstream."""
WARN_EVERY_SECONDS = 60.0

_FAIL = """
local now, open_until, probe_wait_until = tonumber(ARGV[2]), ARGV[5], tonumber(ARGV[6])
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[7] == '1' then
  redis.call('SET', KEYS[3], open_until, 'PX', ARGV[8])
  redis.call('DEL', KEYS[4])
  return {tonumber(open_until), 1}
end
if paused > 0 then
  if paused <= now then paused = probe_wait_until end
  return {paused, 0}
end
if redis.call('HGET', KEYS[1], 'upstream') ~= ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'upstream', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('SADD', KEYS[2], unpack(ARGV, 9))
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
local needed = tonumber(ARGV[4])
if attempts < needed or redis.call('SCARD', KEYS[2]) < needed then return {0, 0} end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], open_until, 'PX', ARGV[8])
return {tonumber(open_until), 2}
"""
"""One failed attempt of a kind on an upstream, atomically. A probe's failure opens the breaker
again; an open or half-open breaker answers how long to pause; otherwise the kind's streak
grows (one on another upstream starts over) and opens the breaker once it holds enough
attempts over enough different items. Returns [paused until in ms or 0, 0 as it was | 1 opened
again | 2 opened]."""


@dataclass(frozen=True)
class Gate:
    """Which upstreams' failing items must wait (until when), and which this worker probes."""

    held: dict[str, datetime] = field(default_factory=dict)
    probes: frozenset[str] = frozenset()


def enabled() -> bool:
    return settings.HUB_BREAKER_FAILURES > 0


def admit(schema: str, upstreams: set[str]) -> Gate:
    """Before an attempt: the upstreams among `upstreams` that are paused in `schema`.

    A half-open upstream is let through once (this caller then holds its probe); while that
    probe runs, the others wait `PROBE_WAIT_SECONDS`.
    """
    if not upstreams or not enabled():
        return Gate()
    ordered = sorted(upstreams)
    now = _now_ms()
    held: dict[str, int] = {}
    probes: set[str] = set()
    try:
        client = fast_redis()
        pauses = client.mget([_key(schema, u) for u in ordered])
        for upstream, paused in zip(ordered, pauses, strict=True):
            if paused is None:
                continue
            if now < int(paused):
                held[upstream] = int(paused)
            elif client.set(_probe_key(schema, upstream), 1, nx=True, px=_probe_ms()):
                probes.add(upstream)
            else:
                held[upstream] = now + int(_probe_wait() * 1000)
    except REDIS_DOWN as exc:
        _unavailable(exc)
        return Gate()
    return Gate({u: _at(ms) for u, ms in held.items()}, frozenset(probes))


def settle(
    schema: str,
    kind: str,
    *,
    succeeded: bool,
    failed_on: dict[str, list[int]],
    probes: frozenset[str] = frozenset(),
) -> dict[str, datetime]:
    """After an attempt of `kind` (one batch): some item succeeded, or these upstreams failed
    retryably (for these items). Returns the upstreams whose failing items now pause, and until
    when."""
    if not enabled() or not (succeeded or failed_on or probes):
        return {}
    try:
        if succeeded:
            _close(schema, kind, probes)
            return {}
        paused = {
            upstream: _fail(schema, kind, upstream, items, probe=upstream in probes)
            for upstream, items in sorted(failed_on.items())
        }
        if silent := probes - set(failed_on):  # the probe never reached its upstream
            fast_redis().delete(*(_probe_key(schema, u) for u in silent))
    except REDIS_DOWN as exc:
        _unavailable(exc)
        return {}
    return {u: _at(ms) for u, ms in paused.items() if ms}


def _close(schema: str, kind: str, probes: frozenset[str]) -> None:
    keys = [_streak_key(schema, kind), f"{_streak_key(schema, kind)}:items"]
    for upstream in probes:
        keys += [_key(schema, upstream), _probe_key(schema, upstream)]
        logger.info("%s answers again in %s: its paused items resume", upstream, schema)
    fast_redis().delete(*keys)


def _fail(schema: str, kind: str, upstream: str, items: list[int], *, probe: bool) -> int:
    now = _now_ms()
    cool_down = int(settings.HUB_BREAKER_COOL_DOWN_SECONDS * 1000)
    streak = _streak_key(schema, kind)
    keys = [streak, f"{streak}:items", _key(schema, upstream), _probe_key(schema, upstream)]
    args = [
        upstream,
        now,
        int(settings.HUB_BREAKER_WINDOW_SECONDS * 1000),
        settings.HUB_BREAKER_FAILURES,
        now + cool_down,
        now + int(_probe_wait() * 1000),
        "1" if probe else "0",
        4 * max(cool_down, _probe_ms()),
        *items,
    ]
    client = fast_redis()
    paused, opened = client.register_script(_FAIL)(keys=keys, args=args, client=client)
    if opened:
        why = "still fails" if opened == 1 else f"failed {kind} attempts in a row"
        until = _at(int(paused)).isoformat(timespec="seconds")
        logger.warning("%s %s in %s: failing items pause until %s", upstream, why, schema, until)
    return int(paused)


def _probe_wait() -> float:
    return min(PROBE_WAIT_SECONDS, settings.HUB_BREAKER_COOL_DOWN_SECONDS)


def _probe_ms() -> int:
    """A probe's claim outlives a slow attempt (a batch's lease), but not a dead worker long."""
    return int(max(settings.HUB_BREAKER_COOL_DOWN_SECONDS, settings.HUB_LEASE_SECONDS) * 1000)


def _key(schema: str, upstream: str) -> str:
    return f"hub:breaker:{schema}:{upstream}"


def _probe_key(schema: str, upstream: str) -> str:
    return f"hub:breaker:{schema}:{upstream}:probe"


def _streak_key(schema: str, kind: str) -> str:
    return f"hub:breaker-streak:{schema}:{kind}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


_last_warning = 0.0


def _unavailable(exc: Exception) -> None:
    """Redis is down: the breaker counts as closed; say so once a minute, not per batch."""
    global _last_warning
    if time.monotonic() - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = time.monotonic()
        logger.warning("circuit breakers unavailable (%s): every item is attempted", exc)
