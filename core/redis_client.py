"""Redis connection pools per process: one for the shared rate limiters, one for hot paths."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings

REDIS_DOWN = (redis.RedisError, OSError, ValueError)
"""What a Redis call raises when the server is slow or gone: redis-py's own errors and, when a
short timeout cuts a new connection's handshake off, the socket's `OSError` or the closed read
buffer's `ValueError` (seen under a burst of webhooks on a loaded machine)."""


@cache
def shared_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, health_check_interval=30)


@cache
def fast_redis() -> redis.Redis:
    """For a request's hot path (the webhook rate): a Redis that does not answer in 0.25 s is
    treated as down rather than waited for."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=0.25, socket_connect_timeout=0.25
    )
