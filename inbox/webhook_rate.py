"""A cap on webhook deliveries per sender (an API2Cart store, a ShipStation tenant) and minute.

Anyone holding a store's webhook token (it is the callback URL's last part) could otherwise
insert inbox rows as fast as the hub takes them. The web processes count a sender's deliveries
of the current minute in one Redis key (`INCRBY`, its expiry renewed in the same round trip).
Past `HUB_WEBHOOK_STORE_RATE` in a minute a delivery is refused with 429 and `Retry-After`
(the seconds left in the minute).

Far below the cap a process does not ask Redis for every delivery: it tallies up to `BATCH`
deliveries of a sender itself and adds them to the key in one round trip (at least every
`REPORT_SECONDS` while it keeps receiving). It accepts without asking only while the sender's
count at its last report plus `SPREAD` times its own unreported tally stays within the cap, so
up to `SPREAD` processes together never carry a sender past it unseen; nearer the cap, and for
small caps, every delivery asks Redis and is counted exactly. A round trip of Redis is about a
third of a webhook's CPU in the web process (docs/benchmarks.md, issue 31).

Nothing refused is lost: API2Cart lists the delivery in `account.failed_webhooks`, which the hub
replays (`inbox.replay_failed_webhooks`), and polling reads every changed order; ShipStation's
shipments are polled too (`shipping.poll_shipstation_shipments`). Since API2Cart disables a
webhook after repeated failed deliveries, the default cap sits far above a real store's burst
and above what the ingest bench reaches (docs/benchmarks.md).

With Redis unreachable the cap is not enforced (deliveries are accepted), and checking pauses
for `PAUSE_SECONDS`, so that an unreachable Redis does not cost every webhook a timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from core.redis_client import REDIS_DOWN, fast_redis

logger = logging.getLogger("hub.webhooks")

WINDOW_SECONDS = 60
KEY_PREFIX = "hub:webhook-rate"
PAUSE_SECONDS = 5.0
BATCH = 100
"""Deliveries of one sender a process tallies itself before adding them to the Redis key."""
SPREAD = 64
"""Processes assumed to take one sender's deliveries at once (the local tally's margin)."""
REPORT_SECONDS = 0.5
"""The longest a process keeps a tally to itself while it goes on accepting deliveries."""


def clock() -> float:
    """Wall-clock seconds (every web process names the same minute's key)."""
    return time.time()


def rate_key(source: str, sender: int, minute: int) -> str:
    return f"{KEY_PREFIX}:{source}:{sender}:{minute}"


@dataclass
class Tally:
    """One process's view of one sender's minute."""

    minute: int
    unreported: int = 0
    """Deliveries this process accepted and has not yet added to the Redis key."""
    reported_total: int = 0
    """The key's count (every process's deliveries) at this process's last report."""
    reported_at: float = 0.0


class WebhookRate:
    """Deliveries per sender and minute, counted in Redis; `retry_after` is the check."""

    def __init__(self) -> None:
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, int], Tally] = {}

    def retry_after(self, source: str, sender: int) -> int | None:
        """Count one delivery; None when it is within the sender's cap, else the seconds until
        the next minute starts (1 to 60)."""
        if time.monotonic() < self._paused_until:
            return None
        now = clock()
        minute = int(now // WINDOW_SECONDS)
        limit = settings.HUB_WEBHOOK_STORE_RATE
        with self._lock:
            tally = self._tallies.get((source, sender))
            if tally is None or tally.minute != minute:
                tally = self._tallies[(source, sender)] = Tally(minute)
            counted = tally.unreported + 1
            if (
                counted < BATCH
                and tally.reported_total + counted * SPREAD <= limit
                and time.monotonic() - tally.reported_at < REPORT_SECONDS
            ):
                tally.unreported = counted
                return None
            tally.unreported = 0
        try:
            pipe = fast_redis().pipeline(transaction=False)
            pipe.incrby(rate_key(source, sender, minute), counted)
            pipe.expire(rate_key(source, sender, minute), 2 * WINDOW_SECONDS)
            count = int(pipe.execute()[0])
        except REDIS_DOWN as exc:
            self._paused_until = time.monotonic() + PAUSE_SECONDS
            logger.warning(
                "webhook rate not checked for %s s: Redis unreachable (%s)", PAUSE_SECONDS, exc
            )
            return None
        with self._lock:
            if tally.minute == minute:
                tally.reported_total = max(tally.reported_total, count)
                tally.reported_at = time.monotonic()
        if count <= limit:
            return None
        if count - counted <= limit:
            logger.warning(
                "%s webhooks of sender %s over %s a minute: refused (429) until the minute ends",
                source,
                sender,
                limit,
            )
        return WINDOW_SECONDS - int(now) % WINDOW_SECONDS


webhook_rate = WebhookRate()
