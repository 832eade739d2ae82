"""The erasure page and its audit list, for tenant admins (their tenant) and platform staff
(any tenant): search, see what was found, confirm, erase; or download the person's export.

The audit rows are read-only; the "add" page is the erasure itself.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_tenants.utils import schema_context

from core.admin_sites import platform_admin, tenant_admin
from core.sweeper import active_tenants
from privacy.erasure import erase, export_customer, find_customer
from privacy.forms import CustomerSearchForm
from privacy.models import Erasure


class ErasureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "requested_by", "via", "found_by", "summary"]
    list_filter = ["found_by", "via"]
    readonly_fields = ["created_at", "requested_by", "via", "found_by", "records", "outside"]
    date_hierarchy = "created_at"

    def on_platform(self) -> bool:
        return connection.schema_name == "public"

    def get_list_display(self, request: HttpRequest) -> list[str]:
        return ["tenant", *self.list_display] if self.on_platform() else self.list_display

    def get_queryset(self, request: HttpRequest) -> QuerySet[Erasure]:
        rows = super().get_queryset(request).select_related("tenant")
        if self.on_platform():
            return rows
        return rows.filter(tenant__schema_name=connection.schema_name)

    def has_change_permission(self, request: HttpRequest, obj: Erasure | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Erasure | None = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """Search → what was found and what outside systems hold → confirm → erase; or the
        person's export (JSON) from the same search."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        tenants = active_tenants().order_by("name") if self.on_platform() else None
        form = CustomerSearchForm(request.POST or None, tenants=tenants)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Erase a customer's personal data",
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            tenant = form.cleaned_data.get("tenant")
            schema = tenant.schema_name if tenant is not None else connection.schema_name
            with schema_context(schema):
                findings = find_customer(form.person())
                action = request.POST.get("do", "find")
                if action == "export":
                    return _export_response(export_customer(findings))
                if action == "erase" and request.POST.get("confirmed") != "yes":
                    messages.warning(request, "Tick the confirmation to erase.")
                elif action == "erase":
                    erasure = erase(findings, actor=request.user.get_username(), via="portal")
                    if erasure is None:
                        messages.info(request, "Nothing to erase: the hub holds nothing more.")
                    else:
                        messages.success(request, f"Erased: {erasure.summary}.")
                    context["erased"] = erasure
            context["findings"] = findings
        return TemplateResponse(request, "admin/privacy/erasure/erase.html", context)


def _export_response(data: dict) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False, default=str),
        content_type="application/json",
    )
    response["Content-Disposition"] = 'attachment; filename="customer-data.json"'
    return response


platform_admin.register(Erasure, ErasureAdmin)
tenant_admin.register(Erasure, ErasureAdmin)
