"""Per-tenant pipeline health for the platform operator's front page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone
from django_tenants.utils import schema_context

from orders.models import Order
from orders.state import WAITING_STATES
from tenants.models import Tenant


@dataclass(frozen=True)
class TenantHealth:
    tenant: Tenant
    received_24h: int
    shipped_24h: int
    waiting: int
    oldest_waiting: datetime | None
    needs_attention: int
    failed: int

    @property
    def lag(self) -> timedelta | None:
        """How long the oldest order still on its way has been waiting."""
        return timezone.now() - self.oldest_waiting if self.oldest_waiting else None

    @property
    def healthy(self) -> bool:
        return not (self.needs_attention or self.failed) and (
            self.lag is None or self.lag < timedelta(minutes=15)
        )


def tenant_health() -> list[TenantHealth]:
    """One aggregate query per tenant schema."""
    since = timezone.now() - timedelta(hours=24)
    rows = []
    tenants = Tenant.objects.filter(is_active=True, is_template=False).exclude(schema_name="public")
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            figures = Order.objects.aggregate(
                received_24h=Count("pk", filter=Q(created_at__gte=since)),
                shipped_24h=Count(
                    "pk",
                    filter=Q(updated_at__gte=since, state=Order.State.SENT_TO_SHIPSTATION),
                ),
                waiting=Count("pk", filter=Q(state__in=WAITING_STATES)),
                oldest_waiting=Min("created_at", filter=Q(state__in=WAITING_STATES)),
                needs_attention=Count("pk", filter=Q(state=Order.State.NEEDS_ATTENTION)),
                failed=Count("pk", filter=Q(state=Order.State.FAILED)),
            )
        rows.append(TenantHealth(tenant=tenant, **figures))
    return rows
