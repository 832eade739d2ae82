"""Reconciliation in the tenant portal: run one now, each run's report (counts per kind, the
findings, a CSV file), the findings with their fix, and the front page's panel."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin_sites import FrontPagePanel, tenant_admin
from reconciliation import services
from reconciliation.fixes import request_fixes
from reconciliation.models import Finding, ReconciliationRun
from tenants.models import Store

MAX_DAYS = 90
FINDINGS_SHOWN = 500


class RunForm(forms.Form):
    store = forms.ModelChoiceField(
        queryset=Store.objects.none(), required=False, empty_label="Every store of ours"
    )
    days = forms.IntegerField(
        label="Over the last (days)",
        min_value=1,
        max_value=MAX_DAYS,
        initial=services.default_window_days,
        help_text=f"Orders placed in this many days, up to {MAX_DAYS}.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(
            pk__in=[store.pk for store in services.tenant_stores()]
        )


@admin.register(ReconciliationRun, site=tenant_admin)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "store", "state", "store_orders", "hub_orders", "mismatches", "created_at",
    ]  # fmt: skip
    list_filter = ["state"]
    change_form_template = "admin/reconciliation/run_report.html"
    change_list_template = "admin/reconciliation/run_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("run/", wrap(self.run_view), name="reconciliation_reconciliationrun_run"),
            path("<int:pk>/csv/", wrap(self.csv_view),
                 name="reconciliation_reconciliationrun_csv"),
            *super().get_urls(),
        ]  # fmt: skip

    def run_view(self, request: HttpRequest) -> HttpResponse:
        """Reconcile now, over a chosen window and store."""
        if not request.user.has_perm("reconciliation.add_reconciliationrun"):
            raise PermissionDenied
        form = RunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            run = services.request_run(
                store=form.cleaned_data["store"],
                days=form.cleaned_data["days"],
                requested_by=request.user.get_username(),
            )
            messages.success(request, "Reconciliation queued; the report fills in when it is done.")
            return HttpResponseRedirect(
                reverse("tenant_admin:reconciliation_reconciliationrun_change", args=[run.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Reconcile store, hub, ERP and ShipStation",
            "form": form,
        }
        return TemplateResponse(request, "admin/reconciliation/run_form.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = get_object_or_404(ReconciliationRun, pk=object_id)
        findings = run.findings.select_related("order")
        kind = request.GET.get("kind")
        if kind in Finding.Kind.values:
            findings = findings.filter(kind=kind)
        labels = dict(Finding.Kind.choices)
        extra_context = {
            **(extra_context or {}),
            "run": run,
            "kinds": [(k, labels.get(k, k), n) for k, n in sorted(run.counts.items())],
            "chosen_kind": kind,
            "findings": list(findings[:FINDINGS_SHOWN]),
            "findings_total": findings.count(),
            "findings_url": reverse("tenant_admin:reconciliation_finding_changelist")
            + f"?run__id__exact={run.pk}",
            "csv_url": reverse("tenant_admin:reconciliation_reconciliationrun_csv", args=[run.pk]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def csv_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(ReconciliationRun, pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="reconciliation-{run.pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(
            ["kind", "store order", "order number", "hub order", "detail", "fix", "state"]
        )
        for finding in run.findings.order_by("kind", "id").iterator():
            writer.writerow(
                [
                    finding.get_kind_display(),
                    finding.store_order_id,
                    finding.order_number,
                    finding.order_id or "",
                    finding.detail,
                    finding.get_fix_display(),
                    finding.get_state_display(),
                ]
            )
        return response


@admin.register(Finding, site=tenant_admin)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["kind", "order_link", "store_order_id", "detail", "fix", "state", "outcome"]
    list_filter = ["kind", "fix", "state"]
    search_fields = ["order_number", "store_order_id"]
    actions = ["fix_findings"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_fix_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reconciliation.fix_finding")

    @admin.display(description="Order")
    def order_link(self, finding: Finding) -> str:
        if finding.order_id is None:
            return finding.order_number or "—"
        url = reverse("tenant_admin:orders_order_change", args=[finding.order_id])
        return format_html('<a href="{}">{}</a>', url, finding.order_number or finding.order_id)

    @admin.action(description="Fix the selected findings", permissions=["fix"])
    def fix_findings(self, request: HttpRequest, queryset: QuerySet[Finding]) -> None:
        queued = request_fixes(queryset, request.user.get_username())
        skipped = queryset.count() - len(queued)
        message = f"{len(queued)} fix(es) queued."
        if skipped:
            message += f" {skipped} left: they are fixed already, being fixed, or need a person "
            message += "(open the order)."
        self.message_user(request, message)


tenant_admin.add_front_page_panel(
    FrontPagePanel("reconciliation", "reconciliation.view_reconciliationrun", services.panel)
)
