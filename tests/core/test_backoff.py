"""How long a work item waits before its next attempt (`core.work.backoff_seconds`).

Pure: no database. The numbers pin today's behaviour: the ceiling starts at 2 s and doubles with
each attempt up to 10 minutes; full jitter draws from the upper half of it; an upstream's
Retry-After is a floor.
"""

from __future__ import annotations

import random

import pytest

from core.work import backoff_seconds


@pytest.fixture
def highest(monkeypatch) -> None:
    """The jitter draws the top of its range."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


@pytest.fixture
def lowest(monkeypatch) -> None:
    """The jitter draws the bottom of its range."""
    monkeypatch.setattr(random, "uniform", lambda low, high: low)


def test_the_ceiling_doubles_with_each_attempt_up_to_ten_minutes(highest):
    waits = [backoff_seconds(attempts) for attempts in range(1, 12)]

    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]


def test_the_jitter_never_goes_below_half_the_ceiling(lowest):
    waits = [backoff_seconds(attempts) for attempts in (1, 2, 5, 10, 50)]

    assert waits == [1, 2, 16, 300, 300]


@pytest.mark.parametrize("attempts", [0, -3])
def test_no_attempt_yet_waits_like_the_first(highest, attempts):
    assert backoff_seconds(attempts) == backoff_seconds(1) == 2


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
    assert backoff_seconds(attempts, retry_after) == wait


def test_waits_are_jittered_within_the_upper_half_of_the_ceiling():
    for attempts, ceiling in ((1, 2.0), (4, 16.0), (10, 600.0), (30, 600.0)):
        waits = {backoff_seconds(attempts) for _ in range(200)}

        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered, so retries of many items spread out
