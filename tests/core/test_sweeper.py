"""The sweeper re-enqueues what is due and not leased, and nothing else."""

import json
import re
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from core.sweeper import sweep, wake
from inbox.models import InboxItem
from orders.models import Order


@pytest.fixture
def sent_tasks():
    """What the sweeper published, read back from the (test) broker queue."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(*settings.HUB_QUEUES)
    published: list[tuple[str, str]] = []
    yield published
    broker.delete(*settings.HUB_QUEUES)


def read_queue(published: list[tuple[str, str]]) -> list[tuple[str, str]]:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for raw in (raw for queue in settings.HUB_QUEUES for raw in broker.lrange(queue, 0, -1)):
        headers = json.loads(raw)["headers"]
        published.append((headers["task"], headers["argsrepr"]))
    return published


def ids_sent(published: list[tuple[str, str]], task: str) -> set[int]:
    return {int(pk) for name, args in published if name == task for pk in re.findall(r"\d+", args)}


def test_due_inbox_items_and_orders_are_resent_but_leased_or_fresh_ones_are_not(acme, sent_tasks):
    now = timezone.now()
    due = InboxItem.objects.create(source="webhook", dedupe_key="due", entity="order")
    leased = InboxItem.objects.create(
        source="webhook", dedupe_key="leased", lease_until=now + timedelta(minutes=1)
    )
    InboxItem.objects.create(source="webhook", dedupe_key="fresh")  # too new to resend
    done = InboxItem.objects.create(source="webhook", dedupe_key="done", state="done")
    InboxItem.objects.filter(pk__in=[due.pk, leased.pk, done.pk]).update(
        received_at=now - timedelta(minutes=5)
    )
    with schema_context("acme"):
        waiting = Order.objects.create(source="api", store_order_id="S1", order_number="S1")
        later = Order.objects.create(
            source="api", store_order_id="S2", order_number="S2",
            next_attempt_at=now + timedelta(minutes=10),
        )  # fmt: skip
        in_erp = Order.objects.create(
            source="api", store_order_id="S3", order_number="S3", state="in_erp"
        )
        Order.objects.filter(pk__in=[waiting.pk, later.pk, in_erp.pk]).update(
            updated_at=now - timedelta(minutes=5)
        )
        wake(now)  # what the writers of these rows would have done

    report = sweep()
    read_queue(sent_tasks)

    # Kinds worked in batches are resent in messages of a batch each.
    assert ids_sent(sent_tasks, "inbox.process_items") == {due.pk}
    assert ids_sent(sent_tasks, "orders.process_orders") == {waiting.pk}
    assert ids_sent(sent_tasks, "shipping.push_orders_to_shipstation") == {in_erp.pk}
    assert report["inbox items"] == {"public": 1}
    assert report["orders"] == {"acme": 1}
    assert report["ShipStation pushes"] == {"acme": 1}
