"""The public tenant (base domain) that serves the platform portal and inbound webhooks."""

from __future__ import annotations

from django.conf import settings

from tenants.models import Domain, Tenant


def ensure_public_tenant() -> Tenant:
    public, _ = Tenant.objects.get_or_create(
        schema_name="public", defaults={"slug": "public", "name": "Platform"}
    )
    for host in (settings.HUB_BASE_DOMAIN, "127.0.0.1"):
        Domain.objects.get_or_create(
            domain=host, defaults={"tenant": public, "is_primary": host == settings.HUB_BASE_DOMAIN}
        )
    return public
