"""Tenant tasks carry their schema and refuse to run in public."""

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
