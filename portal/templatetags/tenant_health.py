"""The platform front page's per-tenant order health and flow lag (the admin sites know no
business app)."""

from __future__ import annotations

from django import template

from portal.flow_lag import tenant_health

register = template.Library()


@register.inclusion_tag("admin/portal/tenant_health.html")
def tenant_health_panel() -> dict:
    """The platform index's per-tenant health table."""
    return {"rows": tenant_health()}
