"""The Celery app: tenant-aware (tenant-schemas-celery carries the schema in each message).

Queues and routes are in settings (`CELERY_TASK_QUEUES`, `CELERY_TASK_ROUTES`); beat sends its
schedule exactly once however many beat processes run (`SingleBeatScheduler`). Workers and beat
refuse to start on a database connection that loses session state (`session_state`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from celery.beat import PersistentScheduler
from celery.signals import beat_init, worker_init
from django.conf import settings
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")

logger = logging.getLogger("hub.beat")


app = CeleryApp("integration_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def prove_session_state_for_worker(**kwargs: Any) -> None:
    _prove_session_state("the Celery worker")


@beat_init.connect
def prove_session_state_for_beat(**kwargs: Any) -> None:
    _prove_session_state("beat")


def _prove_session_state(process: str) -> None:
    import django

    django.setup()
    from integration_hub.session_state import refuse_without_session_state

    refuse_without_session_state(process)


BEAT_LEASE_KEY = "hub:beat-leader"
# Take the lease when free, or renew it when it is already ours, in one step.
_TAKE_OR_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class LeaseTiming:
    """How the beat lease is kept so a standby takes over within `lease` seconds of the
    leader's death (`HUB_BEAT_LEASE_SECONDS`, the documented promise).

    The worst case is a leader that dies just after renewing: its key lives `ttl` more seconds,
    and the standby notices at its next poll, at most `standby_poll` later. So `ttl` is what
    is left of the promise after one poll, with a poll's worth of slack for a late tick; the
    leader renews four times per `ttl`, so only a stall of three renewals costs it the lease.
    """

    lease: float

    @property
    def ttl(self) -> float:
        return self.lease * 2 / 3

    @property
    def renew_every(self) -> float:
        return self.lease / 6

    @property
    def standby_poll(self) -> float:
        return self.lease / 6

    @property
    def worst_takeover(self) -> float:
        return self.ttl + self.standby_poll


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SingleBeatScheduler(PersistentScheduler):
    """Beat that sends its schedule only while it holds a lease in Redis.

    Run one beat per machine for failover: the others wait, and take over within
    `HUB_BEAT_LEASE_SECONDS` of the leader's death (`LeaseTiming`). With Redis unreachable
    nobody sends (the broker is the same Redis, so nothing could be sent anyway).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading = False
        self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        super().__init__(*args, **kwargs)

    @property
    def timing(self) -> LeaseTiming:
        return LeaseTiming(float(settings.HUB_BEAT_LEASE_SECONDS))

    def lead(self) -> bool:
        """Take or renew the lease; True while this process is the one beat that sends."""
        ttl_ms = max(int(self.timing.ttl * 1000), 1)
        try:
            leading = bool(self._redis.eval(_TAKE_OR_RENEW, 1, BEAT_LEASE_KEY, self.holder, ttl_ms))
        except redis.RedisError:
            logger.warning("beat: Redis unreachable; not sending this tick")
            leading = False
        if leading != self.leading:
            logger.info("beat %s %s", self.holder, "leads" if leading else "stands by")
            self.leading = leading
        return leading

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """The seconds beat sleeps before the next tick: a standby polls, a leader renews."""
        timing = self.timing
        if not self.lead():
            return timing.standby_poll
        return min(super().tick(*args, **kwargs), timing.renew_every)

    def close(self) -> None:
        """Hand the lease over at once on a clean stop."""
        with contextlib.suppress(redis.RedisError):
            self._redis.eval(_RELEASE, 1, BEAT_LEASE_KEY, self.holder)
        super().close()
