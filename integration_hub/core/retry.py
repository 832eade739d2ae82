"""Retry policy shared by every pipeline step: capped exponential backoff with full jitter."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

BASE_SECONDS = 2.0
CAP_SECONDS = 600.0


def lease() -> timedelta:
    """How long a worker may hold a row before others assume it died."""
    return timedelta(seconds=getattr(settings, "HUB_LEASE_SECONDS", 300))


def max_attempts() -> int:
    return getattr(settings, "HUB_MAX_ATTEMPTS", 8)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Delay before attempt `attempts + 1`; never sooner than the upstream asked."""
    ceiling = min(CAP_SECONDS, BASE_SECONDS * (2 ** max(attempts - 1, 0)))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def claim(model: type[models.Model], pk: int, **conditions: object) -> bool:
    """Take a short lease on a row so concurrent workers never process it twice.

    Returns False when another worker holds it, it is not due, or it is no longer in a state
    that needs work (`conditions`). The lease expires on its own if the worker dies.
    """
    now = timezone.now()
    claimed = (
        model.objects.filter(pk=pk, **conditions)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(lease_until=now + lease())
    )
    return claimed == 1
