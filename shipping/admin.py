"""Shipments, carrier mappings and the ShipStation webhook in the tenant portal.

What shipping offers the portal's order page and front page is in the plain lists at the end
(`ORDER_INLINES`, `ORDER_ACTIONS`, `WORKLIST_SOURCES`, `FLOW_PROBES`): the portal, above this app,
imports them; nothing here changes another app's admin.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import connection
from django.db.models import Count, Min, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from connectors.errors import UpstreamError
from core.admin import WORK_FIELDS, WorkItemAdminMixin, retry_parked_action
from core.admin_sites import tenant_admin
from shipping import subscriptions
from shipping.models import CarrierMapping, Shipment, ShipmentLine, ShipStationSubscription
from tenants.activity import record_activity
from tenants.models import Store

SHIPMENT_FIELDS = [
    "order",
    "origin",
    "source_id",
    "state",
    "note",
    "carrier_code",
    "service",
    "tracking_numbers",
    "shipped_on",
    "voided",
    "store_carrier_id",
    "store_shipment_id",
    "posted_at",
    "created_at",
]


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    fields = ["order_line", "quantity"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Shipment, site=tenant_admin)
class ShipmentAdmin(WorkItemAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "order",
        "state",
        "carrier_code",
        "tracking",
        "shipped_on",
        "store_shipment_id",
    ]
    list_filter = ["state", "origin", "voided"]
    search_fields = ["source_id", "order__order_number", "store_shipment_id"]
    list_select_related = ["order"]
    inlines = [ShipmentLineInline]
    actions = [
        retry_parked_action(
            "retry_shipments",
            description="Retry posting to the store",
            activity="shipment.retry",
            noun="shipment(s)",
            pending=Shipment.State.PENDING,
            parked=[Shipment.State.NEEDS_ATTENTION, Shipment.State.FAILED],
            where={"voided": False},
        )
    ]
    fieldsets = (
        (None, {"fields": SHIPMENT_FIELDS}),
        ("Work", {"fields": WORK_FIELDS}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Shipment | None = None):
        return [*SHIPMENT_FIELDS, *WORK_FIELDS]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        """A shipment mirrors ShipStation or the ERP; "Retry posting" is the way to act on it."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Tracking")
    def tracking(self, obj: Shipment) -> str:
        return ", ".join(obj.tracking_numbers)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("shipping.retry_shipment")


class ShipmentInline(admin.TabularInline):
    """The order page's shipments (offered in `ORDER_INLINES`; the portal assembles the page)."""

    model = Shipment
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "origin",
        "source_id",
        "state",
        "carrier_code",
        "service",
        "tracking",
        "shipped_on",
        "store_shipment_id",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Tracking")
    def tracking(self, obj: Shipment) -> str:
        return ", ".join(obj.tracking_numbers) or "—"


def parked_shipments(limit: int) -> list[dict[str, Any]]:
    """Shipments the store has not got, for the worklist (`portal.worklist.parked_item`'s
    keywords: the page shows the hint they were parked with)."""
    parked = Shipment.objects.filter(
        state__in=[Shipment.State.NEEDS_ATTENTION, Shipment.State.FAILED], voided=False
    ).select_related("order")[:limit]
    return [
        dict(
            item=shipment,
            kind="Shipment",
            title=f"{shipment} of {shipment.order}",
            url=reverse("tenant_admin:shipping_shipment_change", args=[shipment.pk]),
            problem=shipment.last_error or shipment.note,
            retry_step="Fix what the message names, then run 'Retry posting to the store'.",
            retry_action="retry_shipments",
        )
        for shipment in parked
    ]


class CarrierMappingForm(forms.ModelForm):
    """Never a mapping without a target: the store's carrier id is required, not blank."""

    class Meta:
        model = CarrierMapping
        fields = ["store", "origin", "code", "store_carrier_id"]

    def clean_store_carrier_id(self) -> str:
        value = (self.cleaned_data.get("store_carrier_id") or "").strip()
        if not value:
            raise forms.ValidationError("Enter the store's carrier id this carrier maps to.")
        return value


@admin.register(CarrierMapping, site=tenant_admin)
class CarrierMappingAdmin(admin.ModelAdmin):
    """Only for the stores this tenant belongs to, and never with an empty target."""

    form = CarrierMappingForm
    list_display = ["store", "origin", "code", "store_carrier_id", "source", "updated_at"]
    list_filter = ["origin", "source"]
    list_editable = ["store_carrier_id"]
    search_fields = ["code", "store_carrier_id"]
    fields = ["store", "origin", "code", "store_carrier_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CarrierMapping]:
        return super().get_queryset(request).filter(store__memberships__tenant=connection.tenant)

    def get_changelist_form(self, request: HttpRequest, **kwargs):
        kwargs.setdefault("form", CarrierMappingForm)
        return super().get_changelist_form(request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "store":
            kwargs["queryset"] = Store.objects.filter(memberships__tenant=connection.tenant)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: CarrierMapping, form, change: bool) -> None:
        obj.source = CarrierMapping.Source.MANUAL
        super().save_model(request, obj, form, change)


@admin.register(ShipStationSubscription, site=tenant_admin)
class ShipStationSubscriptionAdmin(admin.ModelAdmin):
    """Add = subscribe SHIP_NOTIFY at ShipStation; delete = unsubscribe."""

    list_display = ["event", "webhook_id", "subscribed_at"]
    actions = ["unsubscribe"]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        changelist = reverse("tenant_admin:shipping_shipstationsubscription_changelist")
        if request.method != "POST":
            return super().add_view(request, form_url, extra_context)
        try:
            subscription = subscriptions.subscribe()
        except UpstreamError as exc:
            self.message_user(request, f"ShipStation refused: {exc}", messages.ERROR)
            return HttpResponseRedirect(changelist)
        record_activity(
            "shipstation.webhook_subscribed", actor=request.user.get_username(), obj=subscription
        )
        self.message_user(request, f"Subscribed: {subscription}.")
        return HttpResponseRedirect(changelist)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_unsubscribe_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("shipping.delete_shipstationsubscription")

    @admin.action(description="Unsubscribe at ShipStation", permissions=["unsubscribe"])
    def unsubscribe(
        self, request: HttpRequest, queryset: QuerySet[ShipStationSubscription]
    ) -> None:
        done = 0
        for subscription in queryset:
            try:
                subscriptions.unsubscribe(subscription)
            except UpstreamError as exc:
                self.message_user(request, f"ShipStation refused: {exc}", messages.ERROR)
                continue
            record_activity(
                "shipstation.webhook_unsubscribed",
                actor=request.user.get_username(),
                obj=subscription,
            )
            done += 1
        self.message_user(request, f"{done} webhook(s) unsubscribed.")


def shipments_to_store(tenant) -> dict[str, Any]:
    """Shipments not yet posted to the store (`portal.flow_lag.FlowLag`'s keywords)."""
    figures = Shipment.objects.filter(state=Shipment.State.PENDING).aggregate(
        waiting=Count("pk"), oldest=Min("created_at")
    )
    return {"name": "Shipments → store", **figures}


# What shipping offers the portal, which imports these lists (it sits above shipping).
ORDER_INLINES = [ShipmentInline]
"""Inlines of the order page."""
ORDER_ACTIONS: list = []
"""Actions on orders (the order page and its list)."""
WORKLIST_SOURCES = [parked_shipments]
"""Parked rows for the needs-attention worklist: `source(limit)` → one dict per row."""
FLOW_PROBES = [shipments_to_store]
"""Flows whose lag the front pages show: `probe(tenant)` → name, waiting, oldest."""
