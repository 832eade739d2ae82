"""The Celery app: tenant-aware (tenant-schemas-celery carries the schema in each message).

Queues and routes are in settings (`CELERY_TASK_QUEUES`, `CELERY_TASK_ROUTES`); beat sends its
schedule exactly once however many beat processes run (`SingleBeatScheduler`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from typing import Any

import redis
from celery.beat import PersistentScheduler
from django.conf import settings
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")

logger = logging.getLogger("hub.beat")


app = CeleryApp("integration_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


BEAT_LEASE_KEY = "hub:beat-leader"
# Take the lease when free, or renew it when it is already ours, in one step.
_TAKE_OR_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SingleBeatScheduler(PersistentScheduler):
    """Beat that sends its schedule only while it holds a lease in Redis.

    Run one beat per machine for failover: the others wait, and take over within
    `HUB_BEAT_LEASE_SECONDS` of the leader's death. With Redis unreachable nobody sends (the
    broker is the same Redis, so nothing could be sent anyway).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading = False
        self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        super().__init__(*args, **kwargs)

    def lead(self) -> bool:
        """Take or renew the lease; True while this process is the one beat that sends."""
        lease = settings.HUB_BEAT_LEASE_SECONDS
        try:
            leading = bool(self._redis.eval(_TAKE_OR_RENEW, 1, BEAT_LEASE_KEY, self.holder, lease))
        except redis.RedisError:
            logger.warning("beat: Redis unreachable; not sending this tick")
            leading = False
        if leading != self.leading:
            logger.info("beat %s %s", self.holder, "leads" if leading else "stands by")
            self.leading = leading
        return leading

    def tick(self, *args: Any, **kwargs: Any) -> float:
        renew_every = settings.HUB_BEAT_LEASE_SECONDS / 3
        if not self.lead():
            return renew_every
        return min(super().tick(*args, **kwargs), renew_every)

    def close(self) -> None:
        """Hand the lease over at once on a clean stop."""
        with contextlib.suppress(redis.RedisError):
            self._redis.eval(_RELEASE, 1, BEAT_LEASE_KEY, self.holder)
        super().close()
