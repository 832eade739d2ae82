"""Two admin sites: the platform portal (base domain) and each tenant's portal (its domain)."""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest


class PlatformAdminSite(admin.AdminSite):
    site_header = "Integration hub · platform"
    site_title = "Integration hub platform"
    index_title = "Tenants, stores and activity"
    index_template = "admin/platform_index.html"


class TenantAdminSite(admin.AdminSite):
    site_title = "Integration hub"
    index_title = "Orders, catalog, shipping and settings"
    index_template = "admin/tenant_index.html"

    def index(self, request: HttpRequest, extra_context: dict | None = None):
        """The front page leads with the order pipeline for people allowed to see orders."""
        from orders.dashboard import order_dashboard

        extra_context = extra_context or {}
        if request.user.has_perm("orders.view_order"):
            extra_context["orders"] = order_dashboard()
        return super().index(request, extra_context)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        tenant = getattr(connection, "tenant", None)
        context["site_header"] = f"Integration hub · {getattr(tenant, 'name', '')}"
        return context


platform_admin = PlatformAdminSite(name="platform_admin")
tenant_admin = TenantAdminSite(name="tenant_admin")
