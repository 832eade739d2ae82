"""The platform index's per-tenant health table."""

from __future__ import annotations

from django import template

from tenants.health import tenant_health

register = template.Library()


@register.inclusion_tag("admin/tenants/health.html")
def tenant_health_panel() -> dict:
    return {"rows": tenant_health()}
