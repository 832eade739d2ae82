"""Deploy numbers that hold: beat takeover within the documented lease, a broker visibility
timeout sized to the work (and a late redelivery that does nothing), a PgBouncer pool within
the budget and PostgreSQL's max_connections."""

from __future__ import annotations

import configparser
import re
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from catalog import store_push
from inbox import processing
from inbox.models import InboxItem
from inbox.tasks import process_inbox_item
from integration_hub.celery import BEAT_LEASE_KEY, LeaseTiming, SingleBeatScheduler, app
from tenants import webhook_health
from tests.support.harness import ROOT

DEPLOY = ROOT / "deploy"

# --- beat takeover ----------------------------------------------------------------------------


@pytest.mark.parametrize("lease", [3, 30, 60, 300])
def test_beat_lease_timing_keeps_takeover_within_the_lease(lease):
    timing = LeaseTiming(lease)
    # Leader dies just after renewing: the key lives `ttl`, the standby asks every poll.
    assert timing.worst_takeover == timing.ttl + timing.standby_poll
    assert timing.worst_takeover <= lease - timing.standby_poll  # a poll of slack for late ticks
    # The leader renews several times per ttl: one slow tick never costs it the lease.
    assert timing.ttl / timing.renew_every >= 4
    assert 0 < timing.standby_poll < timing.ttl


def test_the_documented_lease_gives_these_numbers():
    timing = LeaseTiming(settings.HUB_BEAT_LEASE_SECONDS)
    assert settings.HUB_BEAT_LEASE_SECONDS == 30
    assert (timing.ttl, timing.renew_every, timing.standby_poll, timing.worst_takeover) == (
        20, 5, 5, 25,
    )  # fmt: skip
    text = (DEPLOY / "README.md").read_text()
    assert "20 + 5 = 25 s" in text


def test_a_beat_sleeps_what_its_role_needs(tmp_path):
    redis.Redis.from_url(settings.REDIS_URL).delete(BEAT_LEASE_KEY)
    leader = SingleBeatScheduler(app=app, schedule_filename=str(tmp_path / "leader"))
    standby = SingleBeatScheduler(app=app, schedule_filename=str(tmp_path / "standby"))
    try:
        timing = leader.timing
        assert leader.tick() <= timing.renew_every
        assert standby.tick() == timing.standby_poll
        ttl_ms = redis.Redis.from_url(settings.REDIS_URL).pttl(BEAT_LEASE_KEY)
        assert timing.ttl * 1000 - 2000 < ttl_ms <= timing.ttl * 1000
    finally:
        standby.close()
        leader.close()


@pytest.mark.e2e  # timed on the wall clock
def test_a_standby_beat_takes_over_within_the_lease_of_the_leaders_death(tmp_path, settings):
    """Six seconds of lease: the key lives 4 s and the standby asks every second."""
    settings.HUB_BEAT_LEASE_SECONDS = 6
    redis.Redis.from_url(settings.REDIS_URL).delete(BEAT_LEASE_KEY)
    leader = SingleBeatScheduler(app=app, schedule_filename=str(tmp_path / "leader"))
    standby = SingleBeatScheduler(app=app, schedule_filename=str(tmp_path / "standby"))
    try:
        assert leader.lead() and not standby.lead()
        died = time.monotonic()  # the leader stops right after renewing, without closing
        polls = 0
        while not standby.leading:
            time.sleep(standby.tick() if polls else 0)
            polls += 1
            assert time.monotonic() - died < 30, "the standby never took over"
        took = time.monotonic() - died
    finally:
        standby.close()
        leader._redis.close()
    assert took <= settings.HUB_BEAT_LEASE_SECONDS, took
    assert took >= LeaseTiming(6).ttl - 0.5  # not before the dead leader's key expired


# --- broker visibility timeout ----------------------------------------------------------------


def test_the_visibility_timeout_is_sized_to_the_work_not_an_hour():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility == settings.HUB_BROKER_VISIBILITY_SECONDS == 900
    longest_countdown = max(
        getattr(settings, "HUB_RETRY_CAP_SECONDS", 600),  # retry backoff's cap
        store_push.POLL_SECONDS,
        store_push.FIRST_POLL_SECONDS,
        settings.HUB_SHIPSTATION_PUSH_SECONDS,
        settings.HUB_ERP_GATHER_SECONDS,
        webhook_health.CONFIRM_SECONDS,
    )
    # A countdown longer than the timeout would be handed out again and again while it waits.
    assert longest_countdown * 1.5 <= visibility < 3600


@pytest.fixture
def counting_handler(monkeypatch):
    """An inbox entity whose handler counts its effects and, during the first one, lets the
    same message be delivered again (what the broker does after the visibility timeout)."""
    effects: list[int] = []

    def handle(items: list[InboxItem]) -> dict[int, bool]:
        for item in items:
            effects.append(item.pk)
            if len(effects) == 1:
                redelivered.append(process_inbox_item.apply(args=[item.pk]).get())
        return {item.pk: True for item in items}

    redelivered: list[dict] = []
    monkeypatch.setitem(processing._handlers, "redelivery-test", handle)
    return effects, redelivered


def test_a_task_delivered_twice_for_one_item_has_one_effect(store, counting_handler):
    effects, redelivered = counting_handler
    item = InboxItem.objects.create(
        source="webhook", dedupe_key="redelivery", entity="redelivery-test", store=store
    )

    first = process_inbox_item.apply(args=[item.pk]).get()  # meanwhile: a copy while it runs
    late = process_inbox_item.apply(args=[item.pk]).get()  # and one long after it finished

    assert effects == [item.pk]
    assert redelivered == [{}] and late == {}  # both copies found nothing to do
    assert first == {InboxItem.State.DONE: 1}
    item.refresh_from_db()
    assert (item.state, item.attempts) == (InboxItem.State.DONE, 0)


# --- PgBouncer pool ---------------------------------------------------------------------------

WEB_MACHINES = 2  # the example layout of deploy/README.md
POSTGRES_MAX_CONNECTIONS = 100  # PostgreSQL's default
SUPERUSER_RESERVED = 3  # superuser_reserved_connections' default
ADMIN_SESSIONS = 10


def env_example(name: str) -> dict[str, str]:
    lines = (DEPLOY / "env" / f"{name}.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_the_shipped_pgbouncer_pool_holds_the_budget_within_max_connections():
    web = env_example("web")
    per_web_machine = int(web["HUB_WEB_WORKERS"]) * int(web["HUB_WEB_THREADS"])
    workers = sum(
        2 * int(env_example(f"worker-{node}")["HUB_WORKER_CONCURRENCY"])
        for node in ("ingest", "erp", "outbound")
    )
    budget = WEB_MACHINES * per_web_machine + workers
    pgbouncer = configparser.ConfigParser(inline_comment_prefixes=(";",))
    pgbouncer.read(DEPLOY / "pgbouncer" / "pgbouncer.ini")
    pool = pgbouncer["pgbouncer"]

    assert pool["pool_mode"] == "session"
    assert budget == 72
    assert budget < int(pool["default_pool_size"]) == int(pool["max_db_connections"])
    assert int(pool["reserve_pool_size"]) == 0
    assert int(pool["max_db_connections"]) <= (
        POSTGRES_MAX_CONNECTIONS - SUPERUSER_RESERVED - ADMIN_SESSIONS
    )
    assert int(pool["max_client_conn"]) >= budget + per_web_machine  # a web machine reloading
    readme = (DEPLOY / "README.md").read_text()
    assert f"= {budget}" in readme
    assert re.search(
        rf"default_pool_size = max_db_connections = {pool['default_pool_size']}", readme
    )


def test_the_readme_numbers_match_the_settings():
    text = Path(ROOT / "README.md").read_text()
    assert "`HUB_BROKER_VISIBILITY_SECONDS` | `900`" in text
    assert "`HUB_WEBHOOK_CHECK_MINUTES` | `5`" in text
