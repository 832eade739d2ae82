"""How long a failing work item waits before its next attempt (`core.retry.RetrySchedule`).

Pure: no database. The ceiling starts at the first delay and doubles with each failed attempt up
to the cap; the jitter draws from the upper half of it; the wait never runs past the give-up
moment; an upstream's Retry-After is a floor over everything. `core.work.backoff_seconds` is the
upstream schedule from settings (2 s doubling to 10 minutes by default).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from core.retry import RetrySchedule, upstream_work
from core.work import backoff_seconds

SCHEDULE = RetrySchedule(
    first_delay=timedelta(seconds=2), cap=timedelta(minutes=10), give_up_after=timedelta(hours=24)
)


@pytest.fixture
def highest(monkeypatch) -> None:
    """The jitter draws the top of its range."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


@pytest.fixture
def lowest(monkeypatch) -> None:
    """The jitter draws the bottom of its range."""
    monkeypatch.setattr(random, "uniform", lambda low, high: low)


def test_the_ceiling_doubles_with_each_attempt_up_to_the_cap(highest):
    waits = [SCHEDULE.delay(attempts) for attempts in range(1, 12)]

    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]


def test_the_jitter_never_goes_below_half_the_ceiling(lowest):
    waits = [SCHEDULE.delay(attempts) for attempts in (1, 2, 5, 10, 50)]

    assert waits == [1, 2, 16, 300, 300]


@pytest.mark.parametrize("attempts", [0, -3])
def test_no_attempt_yet_waits_like_the_first(highest, attempts):
    assert SCHEDULE.delay(attempts) == SCHEDULE.delay(1) == 2


def test_a_day_of_failures_stays_at_the_cap(highest):
    assert SCHEDULE.delay(10_000) == 600


@pytest.mark.parametrize(
    ("attempts", "retry_after", "wait"),
    [
        (1, 30.0, 30.0),  # the upstream asked for longer than the backoff
        (9, 30.0, 512),  # the backoff is already longer
        (12, 3600.0, 3600.0),  # beyond the cap too
        (1, None, 2),
        (1, 0.0, 2),
    ],
)
def test_never_sooner_than_the_upstream_asked(highest, attempts, retry_after, wait):
    assert SCHEDULE.delay(attempts, retry_after=retry_after) == wait


def test_the_last_wait_ends_at_the_give_up_moment_unless_the_upstream_asked_for_longer(highest):
    assert SCHEDULE.delay(12, left=45.0) == 45.0
    assert SCHEDULE.delay(12, left=45.0, retry_after=120.0) == 120.0
    assert SCHEDULE.delay(2, left=45.0) == 4  # far from the deadline: the backoff as usual


def test_the_deadline_is_the_give_up_time_after_the_first_failure():
    first_failure = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    assert SCHEDULE.deadline(first_failure) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_waits_are_jittered_within_the_upper_half_of_the_ceiling():
    for attempts, ceiling in ((1, 2.0), (4, 16.0), (10, 600.0), (30, 600.0)):
        waits = {SCHEDULE.delay(attempts) for _ in range(200)}

        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered, so retries of many items spread out


def test_the_upstream_schedule_comes_from_settings(settings, highest):
    settings.HUB_RETRY_FIRST_SECONDS = 0.5
    settings.HUB_RETRY_CAP_SECONDS = 3
    settings.HUB_RETRY_GIVE_UP_HOURS = 0.25

    assert upstream_work() == RetrySchedule(
        timedelta(seconds=0.5), timedelta(seconds=3), timedelta(minutes=15)
    )
    assert [backoff_seconds(attempts) for attempts in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_by_default_retries_last_a_day_not_eight_attempts(settings, highest):
    """The old budget: 8 attempts, about 3.5 minutes. A day of waits at the cap is ~150."""
    schedule = upstream_work()
    waits, attempts = 0.0, 0
    while waits < schedule.give_up_after.total_seconds():
        attempts += 1
        waits += schedule.delay(attempts)

    assert schedule.give_up_after == timedelta(hours=24)
    assert attempts > 100
