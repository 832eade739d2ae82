"""The "Upload CSV" page of the order list in the tenant portal."""

from __future__ import annotations

import io

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from orders.csv_import import (
    COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    import_orders_csv,
    queue_csv_import,
)
from tenants.activity import record_activity
from tenants.models import ActivityEvent


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Comma, semicolon or tab separated, UTF-8, with a header row.",
    )


def sync_rows() -> int:
    """Files up to this many rows are imported while the person waits."""
    return getattr(settings, "HUB_CSV_SYNC_ROWS", 500)


class CsvUploadMixin:
    """Adds the upload page to OrderAdmin; people with 'add order' may import orders."""

    change_list_template = "admin/orders/order/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "upload-csv/",
            self.admin_site.admin_view(self.upload_csv_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_upload_csv",
        )
        return [upload, *super().get_urls()]

    def upload_csv_view(self, request: HttpRequest) -> HttpResponse:
        """Import the whole file or, on any problem, nothing, and list every problem."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CsvUploadForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(MAX_FILE_BYTES + 1)
            if len(data) <= MAX_FILE_BYTES and data.count(b"\n") > sync_rows():
                queued = queue_csv_import(
                    data, file_name=upload.name, actor=request.user.get_username()
                )
                messages.info(
                    request,
                    f"{upload.name} is being imported in the background; this page shows the "
                    "result when it is done (all orders, or none with every problem listed).",
                )
                return redirect(
                    reverse(f"{self.admin_site.name}:orders_csvimport_change", args=[queued.pk])
                )
            result = import_orders_csv(io.BytesIO(data), actor=request.user.get_username())
            if result.ok:
                record_activity(
                    "order.csv_imported",
                    message=f"{upload.name}: {result.summary}",
                    request=request,
                )
                messages.success(request, result.summary)
                return redirect(reverse(f"{self.admin_site.name}:orders_order_changelist"))
            errors = result.errors
            record_activity(
                "order.csv_rejected",
                outcome=ActivityEvent.Outcome.FAILURE,
                message=f"{upload.name}: refused with {len(errors)} problem(s); nothing imported.",
                request=request,
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload orders from CSV",
            "form": form,
            "errors": errors,
            "columns": COLUMNS,
            "max_megabytes": MAX_FILE_BYTES // (1024 * 1024),
            "max_rows": MAX_ROWS,
        }
        return TemplateResponse(request, "admin/orders/order/upload_csv.html", context)
