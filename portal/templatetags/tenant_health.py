"""The platform front page's per-tenant order health and flow lag (the admin sites know no
business app): a page of the stored figures, tenants needing a look first, searchable."""

from __future__ import annotations

from django import template

from portal.flow_lag import health_page

register = template.Library()

SEARCH_PARAMETER = "tenants"
PAGE_PARAMETER = "tenants_page"


@register.inclusion_tag("admin/portal/tenant_health.html", takes_context=True)
def tenant_health_panel(context: template.Context) -> dict:
    """The platform index's per-tenant health table, one page of it."""
    request = context.get("request")
    query = request.GET if request is not None else {}
    search = str(query.get(SEARCH_PARAMETER, "")).strip()[:100]
    health = health_page(search, query.get(PAGE_PARAMETER, 1))
    return {
        "rows": health.rows,
        "health": health,
        "search_parameter": SEARCH_PARAMETER,
        "page_parameter": PAGE_PARAMETER,
    }
