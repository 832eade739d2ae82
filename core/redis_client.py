"""One Redis connection pool per process, for the shared rate limiters."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def shared_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, health_check_interval=30)
