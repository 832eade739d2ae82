"""Two admin sites: the platform portal (base domain) and each tenant's portal (its domain)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest


@dataclass(frozen=True)
class FrontPagePanel:
    """Figures an app puts on the tenant front page, for people with `permission`."""

    name: str
    permission: str
    figures: Callable[[], Any]


class PlatformAdminSite(admin.AdminSite):
    site_header = "Integration hub · platform"
    site_title = "Integration hub platform"
    index_title = "Tenants, stores and activity"
    index_template = "admin/platform_index.html"


class TenantAdminSite(admin.AdminSite):
    site_title = "Integration hub"
    index_title = "Orders, catalog, shipping and settings"
    index_template = "admin/tenant_index.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.front_page_panels: list[FrontPagePanel] = []

    def add_front_page_panel(self, panel: FrontPagePanel) -> None:
        """Business apps register their figures here; this site knows none of them."""
        self.front_page_panels.append(panel)

    def index(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = extra_context or {}
        for panel in self.front_page_panels:
            if request.user.has_perm(panel.permission):
                extra_context[panel.name] = panel.figures()
        return super().index(request, extra_context)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        tenant = getattr(connection, "tenant", None)
        context["site_header"] = f"Integration hub · {getattr(tenant, 'name', '')}"
        return context


platform_admin = PlatformAdminSite(name="platform_admin")
tenant_admin = TenantAdminSite(name="tenant_admin")
