"""Order files in the tenant portal: upload, check the column mapping, import, follow progress.

Upload CSV (order list) keeps the file and opens its preview: the file's first rows and, for
each field of an order, the column the hub suggests (saved mapping, known export or a guess). A
workbook (.xlsx) is read by a worker first; its preview page waits for it, then shows the rows
the worker kept. Etsy's two files may be uploaded together and are joined into one. An upload
past the size limit is never stored whole (`BoundedUpload`).
The person corrects it, may save it under a name, names the sales channel the file came from
(one of the tenant's, or a new one), chooses what becomes of orders already done (kept as
history only, or skipped), how dates such as 03/04/2025 are read, and whether one bad order
stops the whole file, and imports. The preview counts the orders (new, already in the hub,
already done, refused for small files), says how dates were read, how orders without an e-mail
or without shipping are handled, which lines got their SKU by name, and lists SKUs the catalog
does not know, filling in what the ERP says of them when a worker has asked it (the page polls
the status and replaces that part alone, keeping what the person chose); Import stays
disabled, with the reason, while a required field has no column. Small files are imported
while the person waits; large ones by a worker, followed on the import's page, which polls a
small JSON status. The result counts the orders imported, refused and skipped as known; the
problems are listed and the refused orders' rows offered as a file.
"""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html_join
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from core.admin import WORK_FIELDS, ReadOnlyAdmin, WorkItemAdminMixin
from core.admin_sites import tenant_admin
from core.spreadsheets import csv_bytes
from orders.files.erp_check import erp_answers, is_checking
from orders.files.importing import (
    CONFIRMABLE,
    DEFAULT_CHANNEL,
    FATES,
    AlreadyStarted,
    ImportOptions,
    Inspection,
    bad_rows_file,
    clean_file_name,
    confirm_mapping,
    customer_policy_text,
    done_orders_choice,
    done_orders_outcome,
    inspect_upload,
    preview,
    receive_file,
    result_text,
    sales_channel_named,
    sku_policy_text,
    status,
)
from orders.files.mapping import (
    FIELDS,
    FIELDS_BY_PATH,
    KNOWN_EXPORTS,
    SHIPPING_FLAG,
    Field,
    Mapping,
    headers_key,
    is_required,
    mark_used,
    save_mapping,
    without_lines,
)
from orders.files.reading import Limits, UnreadableFile, column_letter, too_large_file
from orders.files.values import DATE_ORDERS, DAY_FIRST, MONTH_FIRST
from orders.intake.accept import HISTORY, SKIP
from orders.models import CsvImport, CsvMapping, SalesChannel
from tenants.activity import record_activity
from tenants.models import ActivityEvent

TEMPLATE_EXAMPLE = [
    {"order_number": "1001", "ordered_at": "2025-03-01", "email": "ann@example.com",
     "currency": "USD", "ship_to.name": "Ann Lee", "ship_to.street1": "1 Main St",
     "ship_to.city": "Austin", "ship_to.state": "TX", "ship_to.postal_code": "78701",
     "ship_to.country": "US", "lines.sku": "WIDGET-1", "lines.name": "Widget",
     "lines.quantity": "2", "lines.unit_price": "9.99", "total": "29.97", "shipping": "5.00",
     "tax": "4.99", "store_status": "open", "financial_status": "paid",
     "fulfillment_status": "unfulfilled", "lines.requires_shipping": "TRUE"},
    {"order_number": "1001", "email": "ann@example.com", "lines.sku": "GADGET-7",
     "lines.name": "Gadget", "lines.quantity": "1", "lines.unit_price": "0",
     "lines.requires_shipping": "TRUE"},
]  # fmt: skip
"""The template's example order (two lines), by field; its columns are `FIELDS`'."""
NEW_CHANNEL = "new"
UNKNOWN_ORDERS_SHOWN = 100
CHANNEL_OF_EXPORT = {"Shopify orders export": "Shopify", "ShipStation order export": "ShipStation"}
"""The name offered for a new channel, by the export recognised."""


def sync_rows() -> int:
    """Files up to this many rows are imported while the person waits."""
    return getattr(settings, "HUB_CSV_SYNC_ROWS", 500)


class BoundedUpload(FileUploadHandler):
    """First of the upload handlers: a file past `limit` bytes is skipped as it streams in (the
    rest of the body is read and dropped), so the handlers after it never store it whole."""

    def __init__(self, limit: int, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.refused_name = ""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.refused_name = self.file_name or "the file"
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="Order file",
        help_text="CSV (comma, semicolon or tab separated, UTF-8) or an Excel workbook (.xlsx), "
        "with a header row.",
    )
    second_file = forms.FileField(
        label="Second file (Etsy)",
        required=False,
        help_text="Etsy exports an order in two CSV files: upload EtsySoldOrders and "
        "EtsySoldOrderItems together (either in either field). They are joined on Order ID: "
        "the items file gives the lines, the orders file the buyer, ship-to and totals.",
    )


def _field_key(field: Field) -> str:
    return "field__" + field.path.replace(".", "__")


class MappingForm(forms.Form):
    """One choice per field of an order: the file's column that holds it, or none; and the
    import's options (sales channel, orders already done, dates, all or nothing)."""

    sales_channel = forms.ChoiceField(
        label="Sales channel",
        required=False,
        help_text="The shop the file was exported from. An order is known by its channel and "
        "number: two shops' #1001 are two orders, and an order imported before is skipped. A "
        "Sales Channel column, when chosen, names the channel of each order it fills in.",
    )
    new_channel = forms.CharField(
        label="New channel's name",
        max_length=100,
        required=False,
        help_text="With New channel: its name, e.g. Shopify UK or Etsy.",
    )
    done_orders = forms.ChoiceField(
        label="Orders already done",
        choices=[(HISTORY, "Keep as history only (never sent)"), (SKIP, "Skip them")],
        widget=forms.RadioSelect,
        required=False,
        help_text="Orders the file says are fulfilled, cancelled or refunded are never sent to "
        "the ERP or ShipStation: keep them in the hub as history, or leave them out.",
    )
    date_order = forms.ChoiceField(
        label="Dates such as 03/04/2025",
        choices=[
            ("", "Detect from the column"),
            (DAY_FIRST, f"Read {DATE_ORDERS[DAY_FIRST]}"),
            (MONTH_FIRST, f"Read {DATE_ORDERS[MONTH_FIRST]}"),
        ],
        required=False,
    )
    all_or_nothing = forms.BooleanField(
        label="All or nothing",
        required=False,
        help_text="Import nothing when any order has a problem. Without it the good orders are "
        "imported and each bad one is refused, with its rows in the bad-rows file.",
    )
    save_as = forms.CharField(
        label="Save this mapping as",
        max_length=100,
        required=False,
        help_text="Optional. A saved mapping is offered again for files with the same "
        "columns; saving under an existing name replaces it.",
    )

    def __init__(
        self,
        header: list[str],
        *args,
        initial_mapping: Mapping,
        done_orders: str = HISTORY,
        channel: str = "",
        new_channel: str = "",
        date_order: str = "",
        all_or_nothing: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.default_done_orders = done_orders
        self.default_channel = channel
        self.fields["done_orders"].initial = done_orders
        self.fields["sales_channel"].choices = [
            *((str(pk), name) for pk, name in SalesChannel.objects.values_list("pk", "name")),
            (NEW_CHANNEL, "New channel…"),
        ]
        self.fields["sales_channel"].initial = channel
        self.fields["new_channel"].initial = new_channel
        self.fields["date_order"].initial = date_order
        self.fields["all_or_nothing"].initial = all_or_nothing
        choices = [("", "— not in the file —")] + [
            (str(index), f"{column_letter(index)}: {text or '(no name)'}")
            for index, text in enumerate(header)
        ]
        for field in FIELDS:
            self.fields[_field_key(field)] = forms.TypedChoiceField(
                label=field.label,
                choices=choices,
                coerce=int,
                empty_value=None,
                required=False,
                initial=initial_mapping.get(field.path),
                help_text=field.help,
            )

    def clean(self) -> dict:
        data = super().clean()
        chosen = {field.path for field in FIELDS if data.get(_field_key(field)) is not None}
        for field in FIELDS:
            if field.path not in chosen and is_required(field, dict.fromkeys(chosen, 0)):
                self.add_error(
                    _field_key(field), f"Choose the column that holds the {field.label}."
                )
        if self.channel_choice() == NEW_CHANNEL and not data.get("new_channel", "").strip():
            self.add_error("new_channel", "Name the new sales channel.")
        return data

    def mapping(self) -> Mapping:
        return {
            field.path: self.cleaned_data[_field_key(field)]
            for field in FIELDS
            if self.cleaned_data.get(_field_key(field)) is not None
        }

    def done_orders_choice(self) -> str:
        """The choice posted, else what the page offered (the tenant's default)."""
        return self.cleaned_data.get("done_orders") or self.default_done_orders

    def channel_choice(self) -> str:
        """The channel posted (a pk, or NEW_CHANNEL), else what the page offered."""
        return self.cleaned_data.get("sales_channel") or self.default_channel

    def chosen_channel(self) -> SalesChannel:
        """The sales channel chosen, created when it is a new one (or one of its name when the
        tenant has it already)."""
        choice = self.channel_choice()
        if choice == NEW_CHANNEL:
            return sales_channel_named(self.cleaned_data["new_channel"])
        return SalesChannel.objects.get(pk=int(choice))

    def rows(self) -> list[tuple[Field, forms.BoundField]]:
        return [(field, self[_field_key(field)]) for field in FIELDS]

    def requirements(self) -> dict:
        """Which selects must have a column, for the page to disable Import until they do (a
        third id: the select whose column makes the field unnecessary)."""
        return {
            "required": [
                [
                    self[_field_key(f)].id_for_label,
                    f.label,
                    self[_field_key(FIELDS_BY_PATH[f.unless])].id_for_label if f.unless else "",
                ]
                for f in FIELDS
                if f.required
            ],
            "for_shipping": [
                [self[_field_key(f)].id_for_label, f.label] for f in FIELDS if f.for_shipping
            ],
            "shipping_flag": self[_field_key(FIELDS_BY_PATH[SHIPPING_FLAG])].id_for_label,
        }


def channel_offered(upload: CsvImport) -> tuple[str, str]:
    """The sales channel the page offers (a pk, or NEW_CHANNEL) and the name offered for a new
    one: the upload's, else the last one a file was imported from, else the default channel
    when the tenant has it; for a tenant without channels, a new one named after the export."""
    channel = upload.sales_channel or next(
        (
            later.sales_channel
            for later in CsvImport.objects.filter(sales_channel__isnull=False)
            .select_related("sales_channel")
            .order_by("-created_at")[:1]
        ),
        None,
    )
    channel = channel or SalesChannel.objects.filter(name=DEFAULT_CHANNEL).first()
    channel = channel or SalesChannel.objects.first()
    name = CHANNEL_OF_EXPORT.get(upload.mapped_as, DEFAULT_CHANNEL)
    return (str(channel.pk), name) if channel else (NEW_CHANNEL, name)


class CsvUploadMixin:
    """Adds the upload, mapping, status and bad-rows pages to OrderAdmin.

    People with 'add order' may import orders; the status and the bad rows are for anyone who
    may see imports.
    """

    change_list_template = "admin/orders/order/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        pages = [
            ("upload-csv/", self.upload_csv_view, "upload_csv"),
            ("upload-csv/template.csv", self.csv_template_view, "csv_template"),
            ("upload-csv/<int:pk>/", self.csv_mapping_view, "csv_mapping"),
            ("upload-csv/<int:pk>/status/", self.csv_status_view, "csv_status"),
            ("upload-csv/<int:pk>/bad-rows.csv", self.csv_bad_rows_view, "csv_bad_rows"),
        ]
        return [
            *(path(route, view(page), name=f"{name}_{suffix}") for route, page, suffix in pages),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **more) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **more}

    @method_decorator(csrf_exempt)
    def upload_csv_view(self, request: HttpRequest) -> HttpResponse:
        """Keep the file and open its preview; a file that cannot be read is refused here.

        The size limit is applied while the body streams in, so its handler goes first, before
        anything reads the body; the CSRF check, which reads it, follows (`_upload_csv`)."""
        bounded = BoundedUpload(Limits.current().file_bytes, request)
        request.upload_handlers.insert(0, bounded)
        return self._upload_csv(request, bounded)

    @method_decorator(csrf_protect)
    def _upload_csv(self, request: HttpRequest, bounded: BoundedUpload) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        limits = Limits.current()
        form = CsvUploadForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and bounded.refused_name:
            errors = [too_large_file(limits).message]
            self._refused(request, bounded.refused_name)
            form = CsvUploadForm()
        elif request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(limits.file_bytes + 1)
            other = form.cleaned_data.get("second_file")
            try:
                kept = receive_file(
                    data,
                    file_name=upload.name,
                    actor=request.user.get_username(),
                    second=other.read(limits.file_bytes + 1) if other else None,
                    second_name=other.name if other else "",
                )
            except UnreadableFile as error:
                errors = [f"row {error.row}: {error.message}" if error.row else error.message]
                self._refused(request, upload.name)
            else:
                return redirect(self._url("csv_mapping", kept.pk))
        context = self._context(
            request,
            "Upload orders from a file",
            form=form,
            errors=errors,
            columns=FIELDS,
            known_exports=KNOWN_EXPORTS,
            max_megabytes=limits.file_bytes // 2**20,
            max_rows=limits.rows,
            sync_rows=sync_rows(),
            template_url=self._url("csv_template"),
        )
        return TemplateResponse(request, "admin/orders/order/upload_csv.html", context)

    def _refused(self, request: HttpRequest, file_name: str) -> None:
        record_activity(
            "order.csv_rejected",
            outcome=ActivityEvent.Outcome.FAILURE,
            message=f"{clean_file_name(file_name)}: unreadable, nothing imported.",
            request=request,
        )

    def csv_mapping_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The preview: the file's first rows, the column chosen for each field, the import's
        options and what the hub found in the file."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        upload = get_object_or_404(CsvImport.objects.select_related("sales_channel"), pk=pk)
        if upload.state == CsvImport.State.READING:
            return self._reading_page(request, upload)
        if upload.state not in CONFIRMABLE:
            return redirect(self._import_page(upload))
        try:
            header, first_rows = preview(upload)
        except UnreadableFile as error:
            messages.error(request, error.message)
            return redirect(self._import_page(upload))
        form = self._mapping_form(header, upload, request.POST or None)
        if request.method == "POST" and form.is_valid():
            response = self._import_with(request, upload, header, form)
            if response is not None:
                return response
            form = self._mapping_form(header, upload)
        errors = upload.problems if upload.state != CsvImport.State.MAPPING else []
        context = self._context(
            request,
            f"Import {upload.file_name}",
            upload=upload,
            form=form,
            header=[(column_letter(i), text) for i, text in enumerate(header)],
            first_rows=first_rows,
            samples=[cells for _, cells in first_rows],
            errors=errors,
            nothing_imported=upload.orders_created == 0,
            fates=FATES,
            requirements=form.requirements(),
            missing=[f.label for f in _missing(upload.mapping)],
            without_lines=without_lines(header, upload.mapping),
            bad_rows_url=self._url("csv_bad_rows", upload.pk) if upload.problem_rows else "",
            right_now=upload.rows <= sync_rows(),
            import_page=self._import_page(upload),
            **self._inspection(upload, form),
        )
        return TemplateResponse(request, "admin/orders/csv/mapping.html", context)

    def _mapping_form(
        self, header: list[str], upload: CsvImport, data: QueryDict | None = None
    ) -> MappingForm:
        channel, new_channel = channel_offered(upload)
        return MappingForm(
            header,
            data,
            initial_mapping=upload.mapping,
            done_orders=done_orders_choice(upload),
            channel=channel,
            new_channel=new_channel,
            date_order=upload.date_order,
            all_or_nothing=upload.all_or_nothing,
        )

    def _inspection(self, upload: CsvImport, form: MappingForm) -> dict:
        """What the preview says about the file, with the options the page offers."""
        channel = form.fields["sales_channel"].initial
        name = dict(form.fields["sales_channel"].choices).get(channel, DEFAULT_CHANNEL)
        if channel == NEW_CHANNEL:
            name = form.fields["new_channel"].initial or DEFAULT_CHANNEL
        policy = form.default_done_orders
        options = ImportOptions(done_orders=policy, channel=name, date_order=upload.date_order)
        found: Inspection | None = inspect_upload(upload, options, check=upload.rows <= sync_rows())
        if found is None:
            return {"inspection": None, "arrivals": None, "arrivals_text": ""}
        erp = erp_answers(upload, [sku for sku, _ in found.unknown_skus])
        unknown = erp.unknown_by_order(found.unknown_skus)
        return {
            "erp": erp,
            "erp_unknown": unknown[:UNKNOWN_ORDERS_SHOWN],
            "erp_unknown_orders": len(unknown),
            "status_url": self._url("csv_status", upload.pk),
            "inspection": found,
            "arrivals": found.arrivals,
            "arrivals_text": found.arrivals.preview(policy),
            "channel_name": name,
            "customer_policy": customer_policy_text() if found.without_email else "",
            "sku_policy": sku_policy_text() if found.unknown_skus else "",
        }

    def _reading_page(self, request: HttpRequest, upload: CsvImport) -> HttpResponse:
        """A worker reads the workbook; this page follows it and then shows the preview."""
        context = self._context(
            request,
            f"Reading {upload.file_name}",
            upload=upload,
            status=status(upload),
            status_url=self._url("csv_status", upload.pk),
            import_page=self._import_page(upload),
        )
        return TemplateResponse(request, "admin/orders/csv/reading.html", context)

    def _import_with(
        self, request: HttpRequest, upload: CsvImport, header: list[str], form: MappingForm
    ) -> HttpResponse | None:
        """Import with the confirmed mapping; None when the file was refused (shown again)."""
        actor = request.user.get_username()
        mapping = form.mapping()
        mapped_as = (
            upload.mapped_as if mapping == upload.mapping else "chosen by hand on the preview"
        )
        name = form.cleaned_data["save_as"].strip()
        if name:
            save_mapping(name, header, mapping, actor=actor)
            mapped_as = f"your saved mapping '{name}'"
        else:
            columns = {path: header[index] for path, index in mapping.items()}
            for saved in CsvMapping.objects.filter(headers_key=headers_key(header)):
                if saved.columns == columns:
                    mark_used(saved)
        right_now = upload.rows <= sync_rows()
        try:
            upload = confirm_mapping(
                upload,
                mapping,
                mapped_as=mapped_as,
                right_now=right_now,
                done_orders=form.done_orders_choice(),
                channel=form.chosen_channel(),
                all_or_nothing=form.cleaned_data.get("all_or_nothing", False),
                date_order=form.cleaned_data.get("date_order", ""),
            )
        except AlreadyStarted:
            messages.warning(request, f"{upload.file_name} is already being imported.")
            return redirect(self._import_page(upload))
        if not right_now:
            messages.info(
                request,
                f"The file {upload.file_name} is being imported in the background; this page "
                "shows its progress and then its result (orders imported, refused with their "
                "problems, skipped as already known).",
            )
            return redirect(self._import_page(upload))
        if upload.state != CsvImport.State.DONE:
            return None
        said = _done_message(upload)
        if upload.orders_refused:
            messages.warning(request, said)
            return redirect(self._import_page(upload))
        messages.success(request, said)
        return redirect(reverse(f"{self.admin_site.name}:orders_order_changelist"))

    def csv_status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """How far the import is, for its page to poll."""
        self._check_may_see_imports(request)
        upload = get_object_or_404(CsvImport, pk=pk)
        return JsonResponse({**status(upload), "erp_checking": is_checking(upload)})

    def csv_bad_rows_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The rows of the orders that had a problem, with the problem, to fix and upload."""
        self._check_may_see_imports(request)
        upload = get_object_or_404(CsvImport, pk=pk)
        stem = PurePath(upload.file_name).stem or "orders"
        response = HttpResponse(bad_rows_file(upload), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_safe(stem)}-bad-rows.csv"'
        return response

    def csv_template_view(self, request: HttpRequest) -> HttpResponse:
        """The hub's own layout, with an order of two lines as an example."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        example = [[line.get(field.path, "") for field in FIELDS] for line in TEMPLATE_EXAMPLE]
        body = csv_bytes([[field.label for field in FIELDS], *example])
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="hub-orders-template.csv"'
        return response

    def _check_may_see_imports(self, request: HttpRequest) -> None:
        user = request.user
        if not (user.has_perm("orders.view_csvimport") or self.has_add_permission(request)):
            raise PermissionDenied

    def _url(self, view: str, *args: object) -> str:
        name = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return reverse(name, args=args)

    def _import_page(self, upload: CsvImport) -> str:
        return reverse(f"{self.admin_site.name}:orders_csvimport_change", args=[upload.pk])


def _missing(mapping: Mapping) -> list[Field]:
    """Required fields without a column in this mapping."""
    return [field for field in FIELDS if is_required(field, mapping) and field.path not in mapping]


def _done_message(upload: CsvImport) -> str:
    """What an import that ran in the request did, for the message after it."""
    outcome = done_orders_outcome(upload)
    said = [
        f"Imported {upload.orders_created} orders ({upload.lines_created} lines) from "
        f"{upload.file_name}.",
        "" if outcome.startswith("None") else outcome,
    ]
    if upload.orders_known:
        said.append(f"{upload.orders_known} skipped: the hub has them already.")
    if upload.orders_refused:
        said.append(
            f"{upload.orders_refused} refused: their problems are listed below, and their rows "
            "can be downloaded to fix and upload again."
        )
    return " ".join(text for text in said if text)


def _safe(stem: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:100]


@admin.register(CsvImport, site=tenant_admin)
class CsvImportAdmin(WorkItemAdminMixin, ReadOnlyAdmin):
    """Uploaded order files: mapping, progress (polled by the page), counts, every problem."""

    change_form_template = "admin/orders/csv/import_change_form.html"
    list_display = [
        "file_name", "uploaded_by", "created_at", "progress", "rows", "sales_channel",
        "orders_created", "orders_refused", "orders_known",
    ]  # fmt: skip
    list_filter = ["state", "sales_channel"]
    readonly_fields = [
        "file_name", "uploaded_by", "created_at", "progress", "rows", "mapped_as",
        "sales_channel", "all_or_nothing", "result", "orders_created", "lines_created",
        "orders_refused", "orders_known", "orders_already_done", "problem_list", "finished_at",
        *WORK_FIELDS,
    ]  # fmt: skip
    fields = readonly_fields

    @admin.display(description="State")
    def progress(self, obj: CsvImport) -> str:
        """The state, or how far a running import is."""
        return status(obj)["text"]

    @admin.display(description="Result")
    def result(self, obj: CsvImport) -> str:
        """Imported, refused, skipped as already in the hub."""
        return result_text(obj)

    @admin.display(description="Orders already done")
    def orders_already_done(self, obj: CsvImport) -> str:
        """Fulfilled, cancelled or refunded when imported: kept as history, or skipped."""
        return done_orders_outcome(obj)

    @admin.display(description="Problems")
    def problem_list(self, obj: CsvImport) -> str:
        if not obj.problems:
            return "—"
        return format_html_join("\n", "<div>{}</div>", ((p,) for p in obj.problems))


@admin.register(SalesChannel, site=tenant_admin)
class SalesChannelAdmin(admin.ModelAdmin):
    """The shops order files come from: renamed here; one with orders cannot be deleted."""

    list_display = ["name", "created_at"]
    search_fields = ["name"]
    fields = ["name", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(CsvMapping, site=tenant_admin)
class CsvMappingAdmin(admin.ModelAdmin):
    """Saved column mappings: seen by all, removed by those allowed to."""

    list_display = ["name", "mapped_columns", "saved_by", "created_at", "last_used_at"]
    readonly_fields = ["name", "mapped_columns", "saved_by", "created_at", "last_used_at"]
    fields = readonly_fields

    @admin.display(description="Columns")
    def mapped_columns(self, obj: CsvMapping) -> str:
        labels = {field.path: field.label for field in FIELDS}
        return "; ".join(
            f"{labels.get(path, path)} ← {header}" for path, header in obj.columns.items()
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
