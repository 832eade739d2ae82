"""Tenant tasks carry their schema and refuse public; one queue per kind of work; one beat."""

from datetime import UTC, datetime, timedelta

import pytest
from celery.signals import before_task_publish
from django.db import connection
from django_tenants.utils import schema_context

from integration_hub.celery import app
from tenant_settings.models import ConnectionSettings
from tenant_settings.tasks import check_connection


def test_a_tenant_task_started_in_public_fails_loudly(db):
    assert connection.schema_name == "public"
    with pytest.raises(RuntimeError, match="ran in 'public'"):
        check_connection.apply(throw=True)


def test_a_tenant_task_runs_in_the_schema_it_was_sent_from(acme):
    with schema_context("acme"):
        assert check_connection.apply(throw=True).get() is False
        row = ConnectionSettings.load()
    assert row.last_tested_at is not None
    with schema_context("globex"):
        assert ConnectionSettings.load().last_tested_at is None


def test_messages_carry_the_schema_header(acme, globex):
    seen: list[str | None] = []

    def capture(headers=None, **kwargs):
        seen.append((headers or {}).get("_schema_name"))

    before_task_publish.connect(capture, weak=False)
    try:
        queue = "test-schema-headers"
        for schema in ("acme", "globex"):
            with schema_context(schema):
                check_connection.apply_async(queue=queue)
    finally:
        before_task_publish.disconnect(capture)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
    assert seen == ["acme", "globex"]


def test_celery_is_configured_for_at_least_once_delivery():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("inbox.process_item", "ingest"),
        ("inbox.process_items", "ingest"),
        ("core.sweep", "sweep"),
        ("core.prune_attempts", "ingest"),
        ("orders.process_order", "erp"),
        ("invoicing.read_invoices", "erp"),
        ("shipping.push_orders_to_shipstation", "shipstation"),
        ("shipping.post_shipment", "store"),
        ("invoicing.push_store_status", "store"),
        ("catalog.sync_store_products", "catalog"),
        ("orders.import_csv_file", "hub"),
    ],
)
def test_each_kind_of_work_has_its_own_queue(task_name, queue):
    route = app.amqp.router.route({}, task_name, args=(), kwargs={})
    assert route["queue"].name == queue


def test_a_worker_without_queue_options_consumes_every_queue():
    assert {q.name for q in app.amqp.queues.consume_from.values()} >= {
        "ingest", "erp", "shipstation", "store", "catalog", "hub", "sweep",
    }  # fmt: skip


def test_only_one_of_two_beats_sends_the_schedule(tmp_path, settings):
    import redis as redis_lib

    from integration_hub.celery import BEAT_LEASE_KEY, SingleBeatScheduler

    redis_lib.Redis.from_url(settings.REDIS_URL).delete(BEAT_LEASE_KEY)
    sent: list[str] = []

    def capture(sender=None, **kwargs):
        sent.append(sender)

    before_task_publish.connect(capture, weak=False)
    first = second = None
    try:
        first = SingleBeatScheduler(app=app, schedule_filename=str(tmp_path / "first"))
        second = SingleBeatScheduler(app=app, schedule_filename=str(tmp_path / "second"))
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        for beat in (first, second):
            for entry in beat.schedule.values():
                entry.last_run_at = long_ago
        for _ in range(3):
            first.tick()
            second.tick()
        assert sent.count("core.sweep") == 1
        assert first.leading and not second.leading
        first.close()
        first = None
        second.tick()
        second.tick()
        assert second.leading
        assert sent.count("core.sweep") == 2
    finally:
        before_task_publish.disconnect(capture)
        for beat in (first, second):
            if beat is not None:
                beat.close()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("sweep")
