"""Raising alerts and telling people: the one entry point (`raise_alert`) every flow calls.

An alert is an episode of (tenant, kind, key) (`alerts.models`): raised again while open it only
counts, so a store that stays disconnected for a day is one message, not one a minute. People are
told after commit by a worker (`deliver`): the tenant's addresses and chat room from its
connection settings, and platform staff's from `HUB_PLATFORM_ALERT_EMAILS` /
`HUB_PLATFORM_ALERT_CHAT_WEBHOOK`, each alert naming its tenant. A tenant told more than
`HUB_ALERT_MAX_PER_HOUR` times in an hour, or that chose the daily digest, gets the rest in the
digest (`send_digests`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from alerts.models import Alert
from connectors.chat import ChatWebhookClient
from connectors.errors import UpstreamError
from core import sweeper
from core.dispatch import dispatch
from core.upstream_urls import upstream_address_policy
from tenant_settings.models import ConnectionSettings, alert_addresses
from tenants.models import Tenant
from tenants.provisioning import portal_url

logger = logging.getLogger("hub.alerts")

DELIVER_TASK = "alerts.deliver"


@dataclass(frozen=True)
class Recipients:
    emails: list[str]
    chat_webhook_url: str
    digest: bool

    def __bool__(self) -> bool:
        return bool(self.emails or self.chat_webhook_url)


def repeat_period() -> timedelta:
    return timedelta(hours=settings.HUB_ALERT_REPEAT_HOURS)


def schema_tenant() -> Tenant | None:
    """The tenant whose schema is active, or None in public (a platform alert)."""
    if connection.schema_name == get_public_schema_name():
        return None
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant) and tenant.schema_name == connection.schema_name:
        return tenant
    return Tenant.objects.filter(schema_name=connection.schema_name).first()


def raise_alert(
    kind: str,
    key: str,
    title: str,
    *,
    detail: str = "",
    url: str = "",
    tenant: Tenant | None = None,
) -> Alert:
    """Open an episode of (tenant, kind, key), or count another occurrence of the open one.

    People are told when an episode opens, and again when it has gone on for the repeat period
    since they were last told. The tenant defaults to the active schema's.
    """
    tenant = tenant if tenant is not None else schema_tenant()
    now = timezone.now()
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(tenant=tenant, kind=kind, key=key, resolved_at__isnull=True)
            .first()
        )
        if alert is not None and alert.last_seen_at < now - repeat_period():
            # Not seen for the repeat period: that episode is over, this is a new one.
            Alert.objects.filter(pk=alert.pk).update(resolved_at=alert.last_seen_at)
            alert = None
        if alert is None:
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        tenant=tenant, kind=kind, key=key, title=title[:200], detail=detail,
                        url=url, last_seen_at=now,
                    )  # fmt: skip
            except IntegrityError:  # opened meanwhile by another worker: count it there
                return raise_alert(kind, key, title, detail=detail, url=url, tenant=tenant)
            dispatch(DELIVER_TASK, alert.pk)
            return alert
        tell_again = alert.notified_at is not None and alert.notified_at < now - repeat_period()
        fields = {"occurrences": alert.occurrences + 1, "last_seen_at": now, "detail": detail}
        if tell_again:
            fields["delivery"] = Alert.Delivery.PENDING
        Alert.objects.filter(pk=alert.pk).update(**fields)
        if tell_again:
            dispatch(DELIVER_TASK, alert.pk)
    alert.refresh_from_db()
    return alert


def clear_alert(kind: str, key: str, *, tenant: Tenant | None = None) -> bool:
    """The cause is gone (the store answers again): the episode ends; True when one was open."""
    tenant = tenant if tenant is not None else schema_tenant()
    ended = Alert.objects.filter(
        tenant=tenant, kind=kind, key=key, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    return bool(ended)


def tenant_recipients(tenant: Tenant) -> Recipients:
    with schema_context(tenant.schema_name):
        row = ConnectionSettings.load()
        return Recipients(
            alert_addresses(row.alert_emails), row.alert_chat_webhook_url, row.alert_daily_digest
        )


def platform_recipients() -> Recipients:
    return Recipients(
        alert_addresses(settings.HUB_PLATFORM_ALERT_EMAILS),
        settings.HUB_PLATFORM_ALERT_CHAT_WEBHOOK,
        digest=False,
    )


def deliver(alert_id: int) -> str:
    """Tell the alert's tenant and platform staff once; returns the delivery state it ends in.

    The row is claimed (pending → sent) before anything is sent, so two workers never both send
    it; when every channel fails it goes back to pending and the sweeper tries again later.
    """
    now = timezone.now()
    claimed = Alert.objects.filter(pk=alert_id, delivery=Alert.Delivery.PENDING).update(
        delivery=Alert.Delivery.SENT, notified_at=now, delivery_error=""
    )
    if not claimed:
        return "nothing to send"
    alert = Alert.objects.select_related("tenant").get(pk=alert_id)
    tenant_side = tenant_recipients(alert.tenant) if alert.tenant else Recipients([], "", False)
    to_digest = tenant_side.digest or _over_hourly_limit(alert)
    targets = [platform_recipients()]
    if tenant_side and not to_digest:
        targets.append(tenant_side)
    if to_digest:
        Alert.objects.filter(pk=alert_id).update(delivery=Alert.Delivery.DIGEST)
    elif not any(targets):
        Alert.objects.filter(pk=alert_id).update(delivery=Alert.Delivery.NOBODY)
        return Alert.Delivery.NOBODY
    errors = [error for target in targets if target for error in _send(alert, target)]
    if errors:
        sent_any = len(errors) < sum(bool(t.emails) + bool(t.chat_webhook_url) for t in targets)
        Alert.objects.filter(pk=alert_id).update(
            delivery_error="; ".join(errors)[:2000],
            **({} if sent_any or to_digest else {"delivery": Alert.Delivery.PENDING}),
        )
        logger.warning("alert %s: %s", alert_id, "; ".join(errors))
    alert.refresh_from_db(fields=["delivery"])
    return alert.delivery


def _over_hourly_limit(alert: Alert) -> bool:
    if alert.tenant_id is None:
        return False
    told = Alert.objects.filter(
        tenant_id=alert.tenant_id,
        delivery=Alert.Delivery.SENT,
        notified_at__gte=timezone.now() - timedelta(hours=1),
    ).exclude(pk=alert.pk)
    return told.count() >= settings.HUB_ALERT_MAX_PER_HOUR


def message_of(alert: Alert) -> tuple[str, str]:
    """Subject and text: what happened, where, since when, how often, and where to look."""
    who = alert.tenant.name if alert.tenant else "Platform"
    lines = [alert.title]
    if alert.detail:
        lines.append(alert.detail)
    lines.append(
        f"Since {alert.opened_at:%Y-%m-%d %H:%M} UTC"
        + (f", seen {alert.occurrences} times." if alert.occurrences > 1 else ".")
    )
    if link := absolute_url(alert):
        lines.append(f"Look: {link}")
    return f"[Integration hub] {who}: {alert.title}", "\n".join(lines)


def absolute_url(alert: Alert) -> str:
    if not alert.url:
        return ""
    if alert.tenant is None:
        return settings.HUB_PUBLIC_URL.rstrip("/") + alert.url
    return portal_url(alert.tenant.slug).removesuffix("/admin/") + alert.url


def _send(alert: Alert, target: Recipients) -> list[str]:
    """Send to one side's e-mail addresses and chat room; returns what failed."""
    subject, text = message_of(alert)
    return _send_text(subject, text, target)


def _send_text(subject: str, text: str, target: Recipients) -> list[str]:
    errors = []
    if target.emails:
        try:
            send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, target.emails)
        except Exception as exc:  # any mail transport failure is reported, not raised
            errors.append(f"e-mail: {exc}")
    if target.chat_webhook_url:
        try:
            with ChatWebhookClient(
                target.chat_webhook_url, allow_address=upstream_address_policy()
            ) as chat:
                chat.post_message(f"*{subject}*\n{text}")
        except UpstreamError as exc:
            errors.append(f"chat: {exc}")
    return errors


def send_digests() -> int:
    """One message per tenant with the alerts left for the digest; returns how many were sent.

    Reads only the alerts table, so the cost follows the alerts, not the number of tenants.
    """
    waiting = Alert.objects.filter(delivery=Alert.Delivery.DIGEST).select_related("tenant")
    by_tenant: dict[int | None, list[Alert]] = {}
    for alert in waiting.order_by("opened_at"):
        by_tenant.setdefault(alert.tenant_id, []).append(alert)
    sent = 0
    for alerts in by_tenant.values():
        tenant = alerts[0].tenant
        # Platform staff were told each alert as it came; the digest is the tenant's.
        targets = [tenant_recipients(tenant)] if tenant is not None else []
        who = tenant.name if tenant else "Platform"
        subject = f"[Integration hub] {who}: {len(alerts)} alert(s) today"
        text = "\n\n".join(message_of(alert)[1] for alert in alerts)
        errors = [e for target in targets if target for e in _send_text(subject, text, target)]
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(
            delivery=Alert.Delivery.SENT,
            notified_at=timezone.now(),
            delivery_error="; ".join(errors)[:2000],
        )
        sent += 1
    return sent


def due_deliveries(now, stale) -> list[tuple]:
    """The sweeper's finds: alerts still to be sent whose own message had its chance."""
    retry_after = now - timedelta(seconds=settings.HUB_ALERT_RETRY_SECONDS)
    pending = Alert.objects.filter(delivery=Alert.Delivery.PENDING, last_seen_at__lt=stale)
    pending = pending.exclude(notified_at__gte=retry_after)
    return [(pk,) for pk in pending.values_list("pk", flat=True)[:100]]


def due_digests(now, stale) -> list[tuple]:
    """The digest is sent once a day, in the hour `HUB_ALERT_DIGEST_HOUR` (UTC)."""
    if now.hour != settings.HUB_ALERT_DIGEST_HOUR:
        return []
    return sweeper.once_every("alerts.digest", 3600)
