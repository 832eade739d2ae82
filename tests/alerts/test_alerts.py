"""Alerts: told once per episode by e-mail and chat, from the facts the flows already record."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from alerts import services
from alerts.models import Alert
from connectors.errors import AuthenticationError
from core import sweeper, work
from inbox.store_status import mark_disconnected, mark_reconnected
from orders.models import Order
from tenant_settings.models import ConnectionSettings
from tenants.models import Api2CartAccount, Store, StoreMembership


class ChatRoom:
    """A loopback Slack-compatible receiver: keeps every message posted to it."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        room = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                room.messages.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T000/B000/XXXX"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat_room() -> Iterator[ChatRoom]:
    room = ChatRoom()
    yield room
    room.close()


@pytest.fixture
def acme_told(acme, chat_room) -> ChatRoom:
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.alert_emails = "ops@acme.test\noncall@acme.test"
        row.alert_chat_webhook_url = chat_room.url
        row.save()
    return chat_room


def acme_store(acme) -> Store:
    account = Api2CartAccount.objects.create(name="a", api_key="k")
    store = Store.objects.create(
        name="acme-shop", display_name="Acme shop", platform="Shopify",
        url="https://s.example", account=account, store_key="k",
    )  # fmt: skip
    StoreMembership.objects.create(store=store, tenant=acme)
    return store


def deliver_due() -> list[str]:
    """What a worker does with the messages the flows (or the sweeper) sent."""
    due = (
        Alert.objects.filter(delivery=Alert.Delivery.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [services.deliver(pk) for pk in due]


def test_a_disconnected_store_is_told_once_by_email_and_chat_not_once_a_minute(
    acme, acme_told, mailoutbox
):
    store = acme_store(acme)
    mark_disconnected(store, "API2Cart: store key revoked")
    assert deliver_due() == ["sent"]
    for _ in range(5):  # the poll keeps failing every minute
        mark_disconnected(store, "API2Cart: store key revoked")
        assert deliver_due() == []
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ops@acme.test", "oncall@acme.test"]
    assert mail.subject == "[Integration hub] Acme Ltd: Store Acme shop: store disconnected"
    assert "store key revoked" in mail.body
    assert "http://acme.localhost:8000/admin/#store-connections" in mail.body
    assert len(acme_told.messages) == 1
    assert "Store Acme shop: store disconnected" in acme_told.messages[0]["text"]
    alert = Alert.objects.get()
    assert (alert.kind, alert.tenant, alert.resolved_at) == ("store_disconnected", acme, None)

    mark_reconnected(store, "order.list answered")
    assert Alert.objects.get().resolved_at is not None
    mark_disconnected(store, "API2Cart: store key revoked again")
    assert deliver_due() == ["sent"]
    assert len(mailoutbox) == 2 and len(acme_told.messages) == 2


def test_an_alert_going_on_is_told_again_only_after_the_repeat_period(acme, acme_told, mailoutbox):
    raise_it = lambda: services.raise_alert(  # noqa: E731
        Alert.Kind.CREDENTIALS_REFUSED, "m3", "The ERP (M3) refused the credentials", tenant=acme
    )
    raise_it()
    deliver_due()
    Alert.objects.update(notified_at=timezone.now() - timedelta(hours=25))
    raise_it()
    assert deliver_due() == ["sent"]
    assert Alert.objects.get().occurrences == 2
    Alert.objects.update(last_seen_at=timezone.now() - timedelta(hours=25))
    raise_it()  # not seen for a day: the old episode ended, this is a new one
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1
    assert Alert.objects.count() == 2
    deliver_due()
    assert len(mailoutbox) == 3


def test_refused_credentials_and_a_growing_worklist_raise_alerts_where_they_are_parked(
    acme, acme_told, mailoutbox
):
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.alert_attention_threshold = 3
        row.save()
        orders = [
            Order.objects.create(
                source="api",
                store_order_id=f"A-{n}",
                order_number=f"A-{n}",
                state=Order.State.NEEDS_ATTENTION,
            )
            for n in range(3)
        ]
        refused = AuthenticationError("401 Unauthorized", upstream="m3")
        work.items_parked.send(Order, kind=work.kind_of(Order), parked=[(orders[0], refused)])
    kinds = dict(Alert.objects.values_list("kind", "title"))
    assert kinds == {
        "credentials_refused": "The ERP (M3) refused the credentials",
        "needs_attention": "3 items need attention (alert at 3)",
    }
    assert sorted(deliver_due()) == ["sent", "sent"]
    assert {m.subject.split(": ", 1)[1] for m in mailoutbox} == set(kinds.values())


def test_a_flow_falling_behind_is_found_by_the_sweeper(acme, acme_told, settings):
    settings.HUB_ALERT_FLOW_LAG_MINUTES = 30
    with schema_context("acme"):
        stuck = Order.objects.create(
            source="api", store_order_id="B-1", order_number="B-1", state=Order.State.ROUTED
        )
        Order.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=2))
        sweeper.wake(timezone.now())
    sweeper.sweep()
    alert = Alert.objects.get(kind=Alert.Kind.FLOW_BEHIND)
    assert alert.tenant == acme and alert.key == "orders.order"
    assert "1 waiting, the oldest for 1" in alert.title


def test_a_busy_hour_goes_to_the_digest_and_the_digest_is_one_message(
    acme, acme_told, mailoutbox, settings
):
    settings.HUB_ALERT_MAX_PER_HOUR = 2
    for n in range(5):
        services.raise_alert(Alert.Kind.FLOW_BEHIND, f"kind-{n}", f"Flow {n} behind", tenant=acme)
    assert deliver_due() == ["sent", "sent", "digest", "digest", "digest"]
    assert len(mailoutbox) == 2
    assert services.send_digests() == 1
    assert len(mailoutbox) == 3
    assert mailoutbox[-1].subject == "[Integration hub] Acme Ltd: 3 alert(s) today"
    assert "Flow 4 behind" in mailoutbox[-1].body
    assert not Alert.objects.filter(delivery=Alert.Delivery.DIGEST).exists()


def test_nobody_configured_is_recorded_and_a_failing_chat_is_retried_later(acme, settings):
    services.raise_alert(Alert.Kind.FLOW_BEHIND, "x", "Behind", tenant=acme)
    assert deliver_due() == ["nobody"]
    with schema_context("acme"):
        row = ConnectionSettings.load()
        row.alert_chat_webhook_url = "http://127.0.0.1:9/closed"
        row.save()
    services.raise_alert(Alert.Kind.FLOW_BEHIND, "y", "Behind too", tenant=acme)
    assert deliver_due() == ["pending"]
    alert = Alert.objects.get(key="y")
    assert "chat:" in alert.delivery_error
    later = timezone.now() + timedelta(seconds=settings.HUB_ALERT_RETRY_SECONDS + 60)
    assert services.due_deliveries(later, later) == [(alert.pk,)]


def test_the_alert_settings_check_addresses_and_the_chat_url(acme_admin, acme, settings):
    from tenant_settings.forms import ConnectionSettingsForm

    with schema_context("acme"):
        row = ConnectionSettings.load()
        data = {
            "missing_customer_policy": row.missing_customer_policy,
            "shipstation_base_url": row.shipstation_base_url,
            "alert_emails": "ops@acme.test, not-an-address",
            "alert_attention_threshold": 10,
        }
        form = ConnectionSettingsForm(data, instance=row)
        assert not form.is_valid()
        assert form.errors["alert_emails"] == ["'not-an-address' is not an e-mail address."]
        settings.HUB_ALLOW_PRIVATE_UPSTREAMS = False
        data.update(alert_emails="ops@acme.test", alert_chat_webhook_url="https://10.0.0.5/hook")
        form = ConnectionSettingsForm(data, instance=row)
        assert not form.is_valid()
        assert "private address" in form.errors["alert_chat_webhook_url"][0]


def test_open_alerts_are_in_the_metrics(acme, settings):
    from django.test import Client

    settings.HUB_METRICS_TOKEN = "scrape-token"
    services.raise_alert(Alert.Kind.FLOW_BEHIND, "orders.order", "Behind", tenant=acme)
    services.raise_alert(Alert.Kind.STORE_DISCONNECTED, "store:1", "Gone", tenant=acme)
    services.clear_alert(Alert.Kind.STORE_DISCONNECTED, "store:1", tenant=acme)
    text = (
        Client()
        .get("/metrics", HTTP_HOST="localhost", HTTP_AUTHORIZATION="Bearer scrape-token")
        .content.decode()
    )
    assert 'hub_alerts_open{kind="flow_behind",tenant="acme"} 1.0' in text
    assert 'kind="store_disconnected"' not in text
