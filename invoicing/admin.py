"""Invoices in the tenant portal: the ERP mirror, printing, generate invoice, store statuses.

Orders may not import invoicing (layers), so the invoices inline and the "Generate invoice"
action are offered in the plain lists at the end (`ORDER_INLINES`, `ORDER_ACTIONS`, with
`WORKLIST_SOURCES` and `FLOW_PROBES` for the front pages): the portal, above this app, imports
them and assembles the order page; nothing here changes another app's admin.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models import Count, Min, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from connectors.api2cart.records import OrderStatus
from connectors.errors import UpstreamError
from core.admin import WORK_FIELDS, ReadOnlyAdmin, WorkItemAdminMixin, retry_parked_action
from core.admin_sites import tenant_admin
from invoicing.documents import invoice_html, invoice_pdf, pdf_filename, seller_details
from invoicing.models import Invoice, StoreStatusMapping, StoreStatusUpdate
from invoicing.services import generate_invoice
from orders.models import Order
from tenants.models import Store
from tenants.store_clients import api2cart_for_store
from tenants.store_order_parts import other_parts_summary

GENERATE_PERMISSION = "invoicing.generate_invoice"


def print_links(invoice: Invoice) -> str:
    return format_html(
        '<a href="{}" target="_blank">Print</a> · <a href="{}">PDF</a>',
        reverse("tenant_admin:invoicing_invoice_print", args=[invoice.pk]),
        reverse("tenant_admin:invoicing_invoice_pdf", args=[invoice.pk]),
    )


def store_refunds(invoice: Invoice) -> str:
    """The store's own refunds on the invoiced order: the hub records them, the ERP may still
    need a credit note (the hub writes none)."""
    refunded = invoice.order.refunded_amount
    return f"{refunded} {invoice.currency}" if refunded else "—"


@admin.register(Invoice, site=tenant_admin)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "erp_invoice_number",
        "year",
        "order",
        "invoice_date",
        "due_date",
        "amount",
        "remaining_amount",
        "store_refunds",
        "currency",
        "paid_at",
        "document",
    ]
    list_filter = [("paid_at", admin.EmptyFieldListFilter)]
    search_fields = ["erp_invoice_number", "order__order_number", "order__erp_order_number"]
    list_select_related = ["order"]

    @admin.display(description="Document")
    def document(self, obj: Invoice) -> str:
        return print_links(obj)

    @admin.display(description="Refunded by the store")
    def store_refunds(self, obj: Invoice) -> str:
        return store_refunds(obj)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        """Where invoices are printed, say what the seller block lacks (docs/vat-invoices.md)."""
        for warning in seller_details().warnings:
            message = f"{warning}; printed invoices carry a warning until then."
            self.message_user(request, message, messages.WARNING)
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/print/", view(self.print_view), name="invoicing_invoice_print"),
            path("<int:pk>/pdf/", view(self.pdf_view), name="invoicing_invoice_pdf"),
            *super().get_urls(),
        ]

    def _viewable(self, request: HttpRequest, pk: int) -> Invoice:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Invoice.objects.select_related("order"), pk=pk)

    def print_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return HttpResponse(invoice_html(self._viewable(request, pk)))

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self._viewable(request, pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{pdf_filename(invoice)}"'
        return response


class StatusChoiceField(forms.ChoiceField):
    """The store's order statuses; an id or a name (any letter case) selects one, kept as its id."""

    def __init__(self, *, statuses: list[OrderStatus], **kwargs) -> None:
        self.by_key = {s.id.strip().lower(): s.id for s in statuses}
        for status in statuses:
            self.by_key.setdefault(status.name.strip().lower(), status.id)
        choices = [("", "---------")] + [
            (s.id, f"{s.name} ({s.id})" if s.name and s.name != s.id else s.id) for s in statuses
        ]
        offered = ", ".join(s.name or s.id for s in statuses) or "none"
        kwargs.setdefault("error_messages", {})["invalid_choice"] = (
            f"The store has no order status '%(value)s' (it offers: {offered})."
        )
        super().__init__(choices=choices, **kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        return self.by_key.get(value.strip().lower(), value) if value else value


class StoreStatusMappingForm(forms.ModelForm):
    """`invoiced_status` is one of the store's `order.status.list` statuses: offered as choices
    once the store is known, checked against the store when saved."""

    class Meta:
        model = StoreStatusMapping
        fields = ["store", "invoiced_status"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.store_error = ""
        self.store = self._chosen_store()
        self.statuses = self._statuses(self.store) if self.store is not None else None
        if self.statuses is not None:
            old = self.fields["invoiced_status"]
            self.fields["invoiced_status"] = StatusChoiceField(
                statuses=self.statuses,
                label=old.label,
                help_text=f"One of the order statuses of store {self.store.display_name}.",
            )
        elif self.store is None:
            self.fields["invoiced_status"].help_text = (
                "Choose the store and save: its order statuses (order.status.list) are then "
                "offered; an id or a name is accepted."
            )

    def _chosen_store(self) -> Store | None:
        store_field = self.fields.get("store")
        if self.is_bound:
            pk = self.data.get(self.add_prefix("store"))
        else:
            pk = self.initial.get("store") or self.instance.store_id
        if not pk or store_field is None:
            return None
        try:
            return store_field.queryset.filter(pk=pk).first()
        except (TypeError, ValueError, DjangoValidationError):
            return None

    def _statuses(self, store: Store) -> list[OrderStatus] | None:
        try:
            return api2cart_for_store(store).order_statuses()
        except (UpstreamError, OSError) as exc:
            self.store_error = (
                f"Store {store.display_name} could not be reached to read its order statuses "
                f"({exc}); try again later."
            )
            return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        store = cleaned.get("store")
        if store is None or "invoiced_status" in self.errors:
            return cleaned
        if store != self.store:  # not expected: the store was read from the same data
            self.store, self.store_error = store, ""
            self.statuses = self._statuses(store)
        if self.statuses is None:
            raise forms.ValidationError(self.store_error)
        wanted = (cleaned.get("invoiced_status") or "").strip().lower()
        matches = [s.id for s in self.statuses if wanted in (s.id.lower(), s.name.lower())]
        if not matches:
            offered = ", ".join(s.name or s.id for s in self.statuses) or "none"
            self.add_error(
                "invoiced_status",
                f"Store {store.display_name} has no order status "
                f"'{cleaned.get('invoiced_status')}' (it offers: {offered}).",
            )
        else:
            cleaned["invoiced_status"] = matches[0]
        return cleaned


@admin.register(StoreStatusMapping, site=tenant_admin)
class StoreStatusMappingAdmin(admin.ModelAdmin):
    """Filled with a default from the store's `order.status.list` on first use; editable, only
    to one of the store's statuses (`StoreStatusMappingForm`)."""

    form = StoreStatusMappingForm
    list_display = ["store", "invoiced_status", "updated_at"]

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "store":
            kwargs["queryset"] = Store.objects.filter(memberships__tenant=connection.tenant)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(StoreStatusUpdate, site=tenant_admin)
class StoreStatusUpdateAdmin(WorkItemAdminMixin, ReadOnlyAdmin):
    """A part of a store order split between tenants waits for the others (shown as counts
    only); retrying a waiting update makes it look at the other parts again."""

    list_display = ["order", "invoice", "state", "order_status", "sent_at", "attempts"]
    list_filter = ["state"]
    fields = ["order", "invoice", "state", "other_parts", "order_status", "comment", "sent_at",
              *WORK_FIELDS]  # fmt: skip
    readonly_fields = fields
    actions = [
        retry_parked_action(
            "retry_updates",
            description="Retry telling the store",
            activity="store_status.retry",
            noun="store status update(s)",
            pending=StoreStatusUpdate.State.PENDING,
            parked=[
                StoreStatusUpdate.State.NEEDS_ATTENTION,
                StoreStatusUpdate.State.FAILED,
                StoreStatusUpdate.State.WAITING,
            ],
        )
    ]

    @admin.display(description="Other parts of the store order")
    def other_parts(self, obj: StoreStatusUpdate) -> str:
        return other_parts_summary(obj.order) or "None (the store order is this order alone)"

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(GENERATE_PERMISSION)


def payment_of(invoice: Invoice) -> str:
    """An invoice's payment in words: the ERP's remaining amount (RAFC) explained."""
    money = f"{invoice.currency} " if invoice.currency else ""
    if invoice.remaining_amount <= 0:
        when = f" on {invoice.paid_at:%Y-%m-%d}" if invoice.paid_at else ""
        return f"Paid in full{when}."
    due = f", due {invoice.due_date:%Y-%m-%d}" if invoice.due_date else ""
    if invoice.remaining_amount < invoice.amount:
        return (
            f"Part paid: {money}{invoice.remaining_amount} of {invoice.amount} still to pay{due}."
        )
    return f"Invoiced, not paid yet: {money}{invoice.remaining_amount} to pay{due}."


def payment_state(order: Order) -> str:
    """Paid, part paid, unpaid or not invoiced, over the order's invoices (prefetch them)."""
    invoices = list(order.invoices.all())
    if not invoices:
        return ""
    remaining = sum(invoice.remaining_amount for invoice in invoices)
    if remaining <= 0:
        return "Paid"
    if remaining < sum(invoice.amount for invoice in invoices):
        return "Part paid"
    return "Unpaid"


class InvoiceInline(admin.TabularInline):
    model = Invoice
    extra = 0
    can_delete = False
    fields = ["erp_invoice_number", "year", "invoice_date", "due_date", "amount",
              "remaining_amount", "payment", "store_refunds", "currency", "document"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Payment")
    def payment(self, obj: Invoice) -> str:
        return payment_of(obj) if obj.pk else ""

    @admin.display(description="Document")
    def document(self, obj: Invoice) -> str:
        return print_links(obj) if obj.pk else ""

    @admin.display(description="Refunded by the store")
    def store_refunds(self, obj: Invoice) -> str:
        return store_refunds(obj)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.action(description="Generate invoice (ask the ERP to invoice what is ready)")
def generate_invoices(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]
) -> None:
    """Finance (or a tenant admin) only: anyone else gets a 403."""
    if not request.user.has_perm(GENERATE_PERMISSION):
        raise PermissionDenied
    for order in queryset:
        outcome = generate_invoice(order, request.user.get_username())
        level = messages.SUCCESS if outcome.ok else messages.WARNING
        modeladmin.message_user(request, f"{order}: {outcome.message}", level)


def parked_status_updates(limit: int) -> list[dict[str, Any]]:
    """Invoiced orders whose store has not been told, for the worklist
    (`portal.worklist.parked_item`'s keywords: the page shows the hint they were parked with)."""
    parked = StoreStatusUpdate.objects.filter(
        state__in=[StoreStatusUpdate.State.NEEDS_ATTENTION, StoreStatusUpdate.State.FAILED]
    ).select_related("order")[:limit]
    return [
        dict(
            item=update,
            kind="Store status update",
            title=f"{update.order} (Invoiced)",
            url=reverse("tenant_admin:invoicing_storestatusupdate_change", args=[update.pk]),
            problem=update.last_error,
            retry_step="Fix what the message names, then run 'Retry telling the store'.",
            retry_action="retry_updates",
        )
        for update in parked
    ]


def invoiced_to_store(tenant) -> dict[str, Any]:
    """Invoiced orders whose store has not been told yet (`portal.flow_lag.FlowLag`'s keywords)."""
    figures = StoreStatusUpdate.objects.filter(state=StoreStatusUpdate.State.PENDING).aggregate(
        waiting=Count("pk"), oldest=Min("created_at")
    )
    return {"name": "Invoiced → store", **figures}


# What invoicing offers the portal, which imports these lists (it sits above invoicing).
ORDER_INLINES = [InvoiceInline]
"""Inlines of the order page."""
ORDER_ACTIONS = [generate_invoices]
"""Actions on orders (the order page and its list)."""
WORKLIST_SOURCES = [parked_status_updates]
"""Parked rows for the needs-attention worklist: `source(limit)` → one dict per row."""
FLOW_PROBES = [invoiced_to_store]
"""Flows whose lag the front pages show: `probe(tenant)` → name, waiting, oldest."""
