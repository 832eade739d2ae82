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

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        tenant = getattr(connection, "tenant", None)
        context["site_header"] = f"Integration hub · {getattr(tenant, 'name', '')}"
        return context


platform_admin = PlatformAdminSite(name="platform_admin")
tenant_admin = TenantAdminSite(name="tenant_admin")
