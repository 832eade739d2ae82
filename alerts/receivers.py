"""Where alerts come from: facts other apps already record, heard here so they stay unaware.

- The activity log (`tenants.ActivityEvent`): a store disconnected or reconnected, its webhooks
  degraded (orders by polling only) or working again — told to each tenant of the store.
- Parked work (`core.work.items_parked`): an upstream refusing the credentials; and the tenant's
  needs-attention count reaching its threshold (connection settings).
- The sweeper (`core.work.work_behind`): items due and not taken up for longer than
  `HUB_ALERT_FLOW_LAG_MINUTES`, a flow falling behind.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.utils import timezone

from alerts.models import Alert
from alerts.services import clear_alert, raise_alert, schema_tenant
from connectors.errors import AuthenticationError
from core import work
from core.models import WorkItem
from tenant_settings.models import ConnectionSettings
from tenants.models import ActivityEvent, Store, Tenant

STORE_ACTIVITY = {
    "store.disconnected": (Alert.Kind.STORE_DISCONNECTED, True),
    "store.reconnected": (Alert.Kind.STORE_DISCONNECTED, False),
    "store.webhooks_degraded": (Alert.Kind.STORE_POLLING_ONLY, True),
    "store.webhooks_working": (Alert.Kind.STORE_POLLING_ONLY, False),
}
UPSTREAM_NAMES = {"m3": "The ERP (M3)", "shipstation": "ShipStation", "api2cart": "API2Cart"}
SETTINGS_URL = "/admin/tenant_settings/connectionsettings/"
ATTENTION_URL = "/admin/orders/order/needs-attention/"


def connect() -> None:
    post_save.connect(on_activity, sender=ActivityEvent, dispatch_uid="alerts.activity")
    work.items_parked.connect(on_parked, dispatch_uid="alerts.parked")
    work.work_behind.connect(on_work_behind, dispatch_uid="alerts.behind")


def on_activity(sender: type, instance: ActivityEvent, created: bool, **kwargs: Any) -> None:
    if not created or instance.action not in STORE_ACTIVITY:
        return
    if instance.object_type.lower() != "tenants.store" or not instance.object_id.isdigit():
        return
    kind, opened = STORE_ACTIVITY[instance.action]
    store = Store.objects.filter(pk=instance.object_id or None).first()
    if store is None:
        return
    key = f"store:{store.pk}"
    for tenant in Tenant.objects.filter(store_memberships__store=store):
        if opened:
            title = f"Store {store.display_name or store.name}: {Alert.Kind(kind).label.lower()}"
            raise_alert(
                kind, key, title, detail=instance.message, url="/admin/#store-connections",
                tenant=tenant,
            )  # fmt: skip
        else:
            clear_alert(kind, key, tenant=tenant)


def on_parked(sender: type[WorkItem], kind: work.WorkKind, parked: list, **kwargs: Any) -> None:
    tenant = schema_tenant()
    if tenant is None:  # the inbox's own parked items: the platform's needs-attention panel
        return
    refused = {exc.upstream for _, exc in parked if isinstance(exc, AuthenticationError)}
    for upstream in sorted(refused):
        name = UPSTREAM_NAMES.get(upstream, upstream or "An upstream")
        raise_alert(
            Alert.Kind.CREDENTIALS_REFUSED, upstream or "unknown",
            f"{name} refused the credentials",
            detail=next(str(exc) for _, exc in parked if isinstance(exc, AuthenticationError)),
            url=SETTINGS_URL, tenant=tenant,
        )  # fmt: skip
    threshold = ConnectionSettings.load().alert_attention_threshold
    if threshold and (waiting := needs_attention_count()) >= threshold:
        raise_alert(
            Alert.Kind.NEEDS_ATTENTION, "worklist",
            f"{waiting} items need attention (alert at {threshold})",
            detail=f"The latest: {kind.model._meta.verbose_name} — {parked[-1][1]}",
            url=ATTENTION_URL,
            tenant=tenant,
        )  # fmt: skip


def needs_attention_count() -> int:
    """Parked items of every kind of work in this schema: one count per table (two kinds may
    share one, as orders and their ShipStation push do)."""
    parked: dict[type[WorkItem], set[str]] = {}
    for kind in work.registered_kinds():
        if kind.in_tenants:
            states = parked.setdefault(kind.model._meta.concrete_model, set())
            states |= {kind.needs_attention, kind.failed}
    return sum(model.objects.filter(state__in=states).count() for model, states in parked.items())


def on_work_behind(
    sender: type[WorkItem], kind: work.WorkKind, oldest: Any, count: int, **kwargs: Any
) -> None:
    limit = settings.HUB_ALERT_FLOW_LAG_MINUTES
    if not limit or oldest is None:
        return
    waited = timezone.now() - oldest
    if waited.total_seconds() < limit * 60:
        return
    flow = str(kind.model._meta.verbose_name_plural).capitalize()
    raise_alert(
        Alert.Kind.FLOW_BEHIND, kind.label,
        f"{flow}: {count} waiting, the oldest for {int(waited.total_seconds() // 60)} min",
        detail="Items are due but no worker takes them up: check the workers and the broker.",
        url="/admin/",
    )  # fmt: skip
