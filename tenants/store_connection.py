"""Connecting stores to the hub through API2Cart and subscribing the hub to their order events.

Two ways in (contract §2): paste the store key of a store already connected in the API2Cart
account (checked with `cart.info`), or let the hub connect it with the platform credentials
(`account.cart.add`). Then `register_webhooks` asks `webhook.events` what the store can send and
subscribes `order.add`/`order.update` to the store's secret callback URL; a store that can send
neither is switched to polling.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from connectors.api2cart import Api2CartClient, CartInfo, SupportedPlatform, Webhook
from connectors.errors import PermanentError, RetryableError, UpstreamError
from connectors.ratelimit import api2cart_limiter
from core.redis_client import shared_redis
from core.upstream_urls import upstream_address_policy
from tenants.models import Api2CartAccount, Store, StoreWebhook
from tenants.store_clients import api2cart_for_account, api2cart_for_store

WANTED_EVENTS = (("order", "add"), ("order", "update"))
WEBHOOK_LABEL = "integration-hub"


class StoreConnectionError(Exception):
    """API2Cart refused or could not be reached; the message is fit for a form error."""


def explain(exc: UpstreamError) -> str:
    """API2Cart's own message plus what to do about it."""
    if isinstance(exc, PermanentError) and exc.hint and exc.hint != exc.message:
        return f"API2Cart said: {exc.message}. {exc.hint}"
    if isinstance(exc, RetryableError):
        return f"API2Cart could not be reached or was busy ({exc.message}); try again shortly."
    return f"API2Cart said: {exc.message}."


def validate_store_key(account: Api2CartAccount, store_key: str) -> CartInfo:
    """`cart.info` with the pasted key: proves the key belongs to a store of this account."""
    client = Api2CartClient(
        account.api_key,
        store_key,
        base_url=account.base_url,
        limiter=api2cart_limiter(shared_redis(), account.api_key, store_key),
        allow_address=upstream_address_policy(),
    )
    try:
        return client.cart_info()
    except UpstreamError as exc:
        raise StoreConnectionError(explain(exc)) from exc


def supported_platforms(account: Api2CartAccount) -> list[SupportedPlatform]:
    try:
        return api2cart_for_account(account).supported_platforms()
    except UpstreamError as exc:
        raise StoreConnectionError(explain(exc)) from exc


def connect_new_store(
    account: Api2CartAccount, cart_id: str, store_url: str, credentials: dict[str, Any]
) -> str:
    """`account.cart.add` with the platform credentials; returns the new store key.

    The idempotency key makes a double-submitted form within API2Cart's 15-minute window
    return the same store instead of a second connection.
    """
    idempotency_key = hashlib.sha256(f"{account.pk}\n{cart_id}\n{store_url}".encode()).hexdigest()
    try:
        store_key = api2cart_for_account(account).add_store(
            cart_id, store_url, credentials, idempotency_key=idempotency_key
        )
    except UpstreamError as exc:
        raise StoreConnectionError(explain(exc)) from exc
    if not store_key:
        raise StoreConnectionError("API2Cart connected the store but returned no store key.")
    return store_key


def callback_url(store: Store) -> str:
    """The store's secret webhook address (the path token is the credential)."""
    path = reverse(
        "api2cart-webhook", urlconf=settings.PUBLIC_SCHEMA_URLCONF, args=[store.webhook_token]
    )
    return settings.HUB_PUBLIC_URL.rstrip("/") + path


def hub_callback_prefix() -> str:
    return settings.HUB_PUBLIC_URL.rstrip("/") + "/webhooks/api2cart/"


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


@dataclass
class RegistrationReport:
    """What `register_webhooks` did for one store, phrased for an admin message."""

    store: Store
    created: list[str] = field(default_factory=list)
    already_registered: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    removed_stale: int = 0
    unsupported: list[str] = field(default_factory=list)
    switched_to_poll: bool = False
    remote_ids: list[int] = field(default_factory=list)
    """API2Cart ids of the hub's webhooks for this store once it is done."""

    def summary(self) -> str:
        parts = []
        if self.created:
            parts.append(f"subscribed {', '.join(self.created)}")
        if self.reactivated:
            parts.append(f"re-enabled {', '.join(self.reactivated)}")
        if self.already_registered:
            parts.append(f"already subscribed: {', '.join(self.already_registered)}")
        if self.removed_stale:
            parts.append(f"removed {self.removed_stale} webhook(s) with an outdated callback")
        if self.unsupported:
            parts.append(f"not supported by the store: {', '.join(self.unsupported)}")
        if self.switched_to_poll:
            parts.append("the store supports no order webhooks, so it was switched to polling")
        return f"{self.store}: " + ("; ".join(parts) or "nothing to do") + "."


def register_webhooks(store: Store, listed: list[Webhook] | None = None) -> RegistrationReport:
    """Subscribe the hub to the store's order events; safe to run again at any time.

    Webhooks already pointing at this store's callback are kept (and re-enabled when API2Cart
    disabled them after failed deliveries); webhooks pointing at an old callback of this hub
    (a rotated token) are deleted. Every hub webhook is recorded as a `StoreWebhook`, which is how
    `account.failed_webhooks` entries are traced back to the store. `listed` is the store's
    `webhook.list` when the caller has just read it (the webhook health check), saving a call.
    """
    report = RegistrationReport(store=store)
    client = api2cart_for_store(store)
    url = callback_url(store)
    supported = {(e.entity, e.action) for e in client.webhook_events()}
    wanted = [event for event in WANTED_EVENTS if event in supported]
    report.unsupported = [f"{e}.{a}" for e, a in WANTED_EVENTS if (e, a) not in supported]
    if not wanted:
        if store.webhook_mode != Store.WebhookMode.POLL:
            store.webhook_mode = Store.WebhookMode.POLL
            store.save(update_fields=["webhook_mode"])
            report.switched_to_poll = True
        return report

    existing: dict[tuple[str, str], int] = {}
    for hook in client.webhooks() if listed is None else listed:
        event = (hook.entity, hook.action)
        if hook.callback == url and event in wanted and event not in existing:
            existing[event] = hook.id
            if not hook.active:
                client.call("webhook.update", "PUT", json={"id": hook.id, "active": True})
                report.reactivated.append(f"{hook.entity}.{hook.action}")
        elif hook.callback.startswith(hub_callback_prefix()) and hook.callback != url:
            client.delete_webhook(hook.id)
            StoreWebhook.objects.filter(store=store, remote_id=hook.id).delete()
            report.removed_stale += 1

    for entity, action in wanted:
        name = f"{entity}.{action}"
        if (entity, action) in existing:
            if name not in report.reactivated:
                report.already_registered.append(name)
            remote_id = existing[(entity, action)]
        else:
            remote_id = client.create_webhook(entity, action, url, label=WEBHOOK_LABEL)
            report.created.append(name)
        record_webhook(store, remote_id, entity, action, url)
        report.remote_ids.append(remote_id)
    return report


def record_webhook(store: Store, remote_id: int, entity: str, action: str, url: str) -> None:
    with transaction.atomic():
        StoreWebhook.objects.update_or_create(
            store=store,
            remote_id=remote_id,
            defaults={"entity": entity, "action": action, "callback_url_hash": url_hash(url)},
        )
