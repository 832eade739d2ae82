"""How long failing work keeps trying: a schedule in time, not in a number of attempts.

An ERP maintenance window or a ShipStation outage lasts hours, while eight attempts with growing
waits are spent in minutes. A kind's `RetrySchedule` says how soon the first retry comes, how
long a wait may grow, and how long after the first failure of a run the item gives up
(docs/adr-0012-retry-schedules.md). The work-item core applies it to every kind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

DOUBLINGS_MAX = 64
"""Beyond this many doublings every ceiling is the cap anyway (and 2.0**n stays finite)."""


@dataclass(frozen=True)
class RetrySchedule:
    """Capped exponential backoff with jitter, until `give_up_after` past the first failure."""

    first_delay: timedelta
    cap: timedelta
    give_up_after: timedelta

    def delay(
        self, attempts: int, *, retry_after: float | None = None, left: float | None = None
    ) -> float:
        """Seconds to wait after the `attempts`-th failed attempt of a run.

        The ceiling doubles from `first_delay` up to `cap`; the wait is drawn from its upper
        half, so the items of one failed batch spread out. It never runs past the give-up
        moment (`left` seconds away: the last attempt comes at the deadline, not after it) and
        is never sooner than the upstream asked (`Retry-After`), which wins over both.
        """
        doublings = min(max(attempts - 1, 0), DOUBLINGS_MAX)
        ceiling = min(self.cap.total_seconds(), self.first_delay.total_seconds() * 2.0**doublings)
        wait = random.uniform(ceiling / 2, ceiling)
        if left is not None:
            wait = min(wait, max(left, 0.0))
        return max(wait, retry_after or 0.0)

    def deadline(self, failing_since: datetime) -> datetime:
        """The moment after which a failed attempt fails the item for good."""
        return failing_since + self.give_up_after


def upstream_work() -> RetrySchedule:
    """The schedule of work that waits on an upstream (ERP, ShipStation, the stores), read from
    settings at each use so tests and operators can shorten it."""
    return RetrySchedule(
        first_delay=timedelta(seconds=settings.HUB_RETRY_FIRST_SECONDS),
        cap=timedelta(seconds=settings.HUB_RETRY_CAP_SECONDS),
        give_up_after=timedelta(hours=settings.HUB_RETRY_GIVE_UP_HOURS),
    )
