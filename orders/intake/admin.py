"""Backfills in the portals: "Import orders from DATE to DATE" of a store (tenant portal: one
of the tenant's stores; platform admin: a store's page, for one of its member tenants), a
confirmation page with the dry run, then the import's progress."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django_tenants.utils import schema_context

from core.admin_sites import platform_admin, tenant_admin
from orders.intake import backfill as service
from orders.models import Backfill
from tenants.admin import add_store_page
from tenants.models import Store, Tenant


class BackfillForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none())
    created_from = forms.DateField(
        label="Import orders from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="to (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    mode = forms.ChoiceField(
        choices=Backfill.Mode.choices,
        initial=Backfill.Mode.FULL,
        widget=forms.RadioSelect,
        help_text="Orders already fulfilled, cancelled or refunded in the store are kept as "
        "history only either way.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tenant = Tenant.objects.get(schema_name=connection.schema_name)
        self.fields["store"].queryset = Store.objects.filter(
            pk__in=[store.pk for store in service.member_stores(tenant)]
        )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end < start:
            raise forms.ValidationError("The end date comes before the start date.")
        return data

    def range(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.cleaned_data["created_from"], time.min, tzinfo=UTC)
        end = datetime.combine(self.cleaned_data["created_to"], time.max, tzinfo=UTC)
        return start, end


@admin.register(Backfill, site=tenant_admin)
class BackfillAdmin(admin.ModelAdmin):
    list_display = ["__str__", "store", "mode", "state", "progress_text", "created_at"]
    list_filter = ["state", "mode"]
    change_form_template = "admin/orders/backfill/progress.html"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Progress")
    def progress_text(self, backfill: Backfill) -> str:
        figures = service.progress(backfill)
        return f"{figures.done} / {figures.total}"

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/confirm/", wrap(self.confirm_view), name="orders_backfill_confirm"),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BackfillForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            start, end = form.range()
            try:
                backfill = service.request_backfill(
                    form.cleaned_data["store"], start, end, mode=form.cleaned_data["mode"],
                    requested_by=request.user.get_username(),
                )  # fmt: skip
            except service.BadRange as exc:
                form.add_error(None, str(exc))
            else:
                return HttpResponseRedirect(
                    reverse("tenant_admin:orders_backfill_change", args=[backfill.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import a store's orders",
            "form": form,
        }
        return TemplateResponse(request, "admin/orders/backfill/add.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        backfill = get_object_or_404(Backfill, pk=object_id)
        extra_context = {
            **(extra_context or {}),
            "backfill": backfill,
            "progress": service.progress(backfill),
            "modes": Backfill.Mode.choices,
            "can_confirm": self.has_add_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def confirm_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The person saw the dry run: import, in the mode chosen on the page."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("tenant_admin:orders_backfill_change", args=[pk]))
        if not self.has_add_permission(request):
            raise PermissionDenied
        backfill = get_object_or_404(Backfill, pk=pk)
        if service.confirm(backfill, mode=request.POST.get("mode")):
            messages.success(request, "Import started.")
        else:
            messages.warning(request, f"{backfill} is {backfill.get_state_display().lower()}.")
        return HttpResponseRedirect(reverse("tenant_admin:orders_backfill_change", args=[pk]))


# --- The platform admin: a store's backfill for one of its member tenants ---------------------


class PlatformBackfillForm(BackfillForm):
    """The same questions, for one store: which member tenant the orders are for."""

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())

    def __init__(self, store: Store, *args, **kwargs) -> None:
        forms.Form.__init__(self, *args, **kwargs)
        self.fields.pop("store")
        self.fields["tenant"].queryset = Tenant.objects.filter(
            store_memberships__store=store, is_active=True
        )
        self.order_fields(["tenant", "created_from", "created_to", "mode"])


def platform_backfill_view(request: HttpRequest, store: Store) -> HttpResponse:
    """Import orders of a store into a member tenant: ask, count, confirm, follow."""
    tenant = Tenant.objects.filter(pk=request.GET.get("tenant") or None).first()
    wanted = request.GET.get("backfill")
    if tenant is not None and wanted and wanted.isdigit():
        return _platform_progress(request, store, tenant, int(wanted))
    form = PlatformBackfillForm(store, request.POST or None)
    if request.method == "POST" and form.is_valid():
        start, end = form.range()
        tenant = form.cleaned_data["tenant"]
        with schema_context(tenant.schema_name):
            try:
                backfill = service.request_backfill(
                    store, start, end, mode=form.cleaned_data["mode"],
                    requested_by=request.user.get_username(),
                )  # fmt: skip
            except service.BadRange as exc:
                form.add_error(None, str(exc))
            else:
                url = reverse("platform_admin:tenants_store_backfill", args=[store.pk])
                return HttpResponseRedirect(f"{url}?tenant={tenant.pk}&backfill={backfill.pk}")
    context = {
        **platform_admin.each_context(request),
        "title": f"Import orders of {store.display_name}",
        "store": store,
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/backfill/platform_add.html", context)


def _platform_progress(request: HttpRequest, store: Store, tenant: Tenant, pk: int) -> HttpResponse:
    with schema_context(tenant.schema_name):
        backfill = get_object_or_404(Backfill, pk=pk, store_id=store.pk)
        if request.method == "POST" and service.confirm(backfill, mode=request.POST.get("mode")):
            messages.success(request, "Import started.")
            return HttpResponseRedirect(request.get_full_path())
        context = {
            **platform_admin.each_context(request),
            "title": f"{backfill} · {store.display_name} → {tenant.name}",
            "backfill": backfill,
            "progress": service.progress(backfill),
            "modes": Backfill.Mode.choices,
            "can_confirm": True,
            "confirm_url": request.get_full_path(),
        }
        return TemplateResponse(request, "admin/orders/backfill/platform_progress.html", context)


add_store_page("backfill", "Import orders", platform_backfill_view)
