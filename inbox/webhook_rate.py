"""A cap on webhook deliveries per sender (an API2Cart store, a ShipStation tenant) and minute.

Anyone holding a store's webhook token (it is the callback URL's last part) could otherwise
insert inbox rows as fast as the hub takes them. Every web process counts a sender's deliveries
of the current minute in one Redis key: one INCR per delivery, the webhook's only round trip
besides its one database statement (about 35 µs of CPU, 50 µs in all, against a local Redis);
the same round trip renews the key's expiry (a pipeline). Past `HUB_WEBHOOK_STORE_RATE` in a
minute a delivery is refused with 429 and `Retry-After` (the seconds left in the minute).

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
import time

from django.conf import settings

from core.redis_client import REDIS_DOWN, fast_redis

logger = logging.getLogger("hub.webhooks")

WINDOW_SECONDS = 60
KEY_PREFIX = "hub:webhook-rate"
PAUSE_SECONDS = 5.0


def clock() -> float:
    """Wall-clock seconds (every web process names the same minute's key)."""
    return time.time()


def rate_key(source: str, sender: int, minute: int) -> str:
    return f"{KEY_PREFIX}:{source}:{sender}:{minute}"


class WebhookRate:
    """Deliveries per sender and minute, counted in Redis; `retry_after` is the check."""

    def __init__(self) -> None:
        self._paused_until = 0.0

    def retry_after(self, source: str, sender: int) -> int | None:
        """Count one delivery; None when it is within the sender's cap, else the seconds until
        the next minute starts (1 to 60)."""
        if time.monotonic() < self._paused_until:
            return None
        now = clock()
        key = rate_key(source, sender, int(now // WINDOW_SECONDS))
        try:
            pipe = fast_redis().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW_SECONDS)
            count = int(pipe.execute()[0])
        except REDIS_DOWN as exc:
            self._paused_until = time.monotonic() + PAUSE_SECONDS
            logger.warning(
                "webhook rate not checked for %s s: Redis unreachable (%s)", PAUSE_SECONDS, exc
            )
            return None
        limit = settings.HUB_WEBHOOK_STORE_RATE
        if count <= limit:
            return None
        if count == limit + 1:
            logger.warning(
                "%s webhooks of sender %s over %s a minute: refused (429) until the minute ends",
                source,
                sender,
                limit,
            )
        return WINDOW_SECONDS - int(now) % WINDOW_SECONDS


webhook_rate = WebhookRate()
