"""Catalog in the tenant portal: bindings, per-store syncs and runs, the unmatched report."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from catalog import bindings, sync
from catalog.models import ItemBinding, PushBatch, StoreSync, SyncRun, UnmatchedProduct
from core.admin import WORK_FIELDS, WorkItemAdminMixin
from core.admin_sites import tenant_admin
from core.dispatch import dispatch
from tenants.activity import current_tenant, record_activity
from tenants.models import Store, sku_key

PushState = ItemBinding.PushState
OPEN_RUN = (SyncRun.State.PENDING, SyncRun.State.PUSHING)


def member_stores() -> QuerySet[Store]:
    """Only the stores this tenant sells through; other tenants' stores stay invisible."""
    return Store.objects.filter(memberships__tenant=current_tenant())


class ItemBindingForm(forms.ModelForm):
    """SKU and ERP item only: the store product is found by matching the store's catalog, so
    nobody can point a binding at a product the store shows under another SKU."""

    class Meta:
        model = ItemBinding
        fields = ["store", "sku", "erp_item_number"]

    def clean(self):
        data = super().clean()
        store, sku = data.get("store"), data.get("sku")
        if store and sku and (self.instance.pk is None or self.moves_to_another_product()):
            try:
                bindings.claim_sku(store, sku)
            except bindings.SkuClaimRefused as exc:
                raise forms.ValidationError({"sku": str(exc)}) from exc
        return data

    def moves_to_another_product(self) -> bool:
        return bool({"store", "sku"} & set(self.changed_data))


@admin.register(ItemBinding, site=tenant_admin)
class ItemBindingAdmin(admin.ModelAdmin):
    form = ItemBindingForm
    list_display = [
        "sku",
        "erp_item_number",
        "store",
        "price",
        "quantity",
        "push_state",
        "pushed_at",
        "push_error",
    ]
    list_filter = ["push_state", ("store", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sku", "erp_item_number"]
    list_select_related = ["store"]
    readonly_fields = [
        "store_product_id",
        "store_variant_id",
        "erp_price",
        "erp_special_price",
        "erp_stock",
        "price",
        "special_price",
        "quantity",
        "pushed_price",
        "pushed_special_price",
        "pushed_quantity",
        "pushed_at",
        "push_state",
        "push_failures",
        "push_error",
        "batch",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "store":
            kwargs["queryset"] = member_stores()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ItemBinding, form, change: bool) -> None:
        """A binding given another SKU or store waits for the next catalog match to find its
        product, and its old claim goes."""
        if change and form.moves_to_another_product():
            before = ItemBinding.objects.select_related("store").get(pk=obj.pk)
            obj.store_product_id = obj.store_variant_id = ""
            super().save_model(request, obj, form, change)
            if (before.store_id, sku_key(before.sku)) != (obj.store_id, sku_key(obj.sku)):
                bindings.release_skus(before.store, [before.sku])
            return
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: ItemBinding) -> None:
        super().delete_model(request, obj)
        bindings.release_skus(obj.store, [obj.sku])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ItemBinding]) -> None:
        gone = list(queryset.select_related("store"))
        super().delete_queryset(request, queryset)
        for binding in gone:
            bindings.release_skus(binding.store, [binding.sku])


@admin.register(StoreSync, site=tenant_admin)
class StoreSyncAdmin(admin.ModelAdmin):
    """Per store: the mapping, the schedule, last sync, pending and failed items, the runs."""

    list_display = [
        "store",
        "price_list",
        "currency",
        "warehouses",
        "interval_minutes",
        "last_sync_at",
        "pending",
        "failed",
        "running",
    ]
    actions = ["sync_now", "full_resync", "match_catalog"]
    readonly_fields = [
        "watermark",
        "last_sync_at",
        "next_sync_at",
        "next_full_at",
        "batch_updates",
        "pending",
        "failed",
        "running",
        "history",
    ]
    fieldsets = (
        (None, {"fields": ["store", "enabled"]}),
        (
            "Prices",
            {
                "fields": [
                    "price_list",
                    "currency",
                    "rounding",
                    "push_special_prices",
                    "special_price_list",
                ]
            },
        ),
        ("Stock", {"fields": ["warehouses", "safety_stock"]}),
        (
            "Schedule",
            {
                "fields": [
                    "interval_minutes",
                    "nightly_full_hour",
                    "next_sync_at",
                    "next_full_at",
                    "watermark",
                    "last_sync_at",
                ]
            },
        ),
        ("Now", {"fields": ["pending", "failed", "running", "batch_updates", "history"]}),
    )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "store":
            kwargs["queryset"] = member_stores()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: StoreSync, form, change: bool) -> None:
        """A new mapping is applied to every binding at once by a full run."""
        super().save_model(request, obj, form, change)
        if obj.enabled and obj.applied_mapping and obj.applied_mapping != obj.mapping_key():
            sync.request_run(obj.store, SyncRun.Mode.FULL, actor=request.user.get_username())

    def _bindings_link(self, obj: StoreSync, state: str) -> str:
        count = ItemBinding.objects.filter(store_id=obj.store_id, push_state=state).count()
        url = reverse("tenant_admin:catalog_itembinding_changelist")
        return format_html(
            '<a href="{}?store__id__exact={}&push_state__exact={}">{}</a>',
            url,
            obj.store_id,
            state,
            count,
        )

    @admin.display(description="Items pending")
    def pending(self, obj: StoreSync) -> str:
        return self._bindings_link(obj, PushState.PENDING)

    @admin.display(description="Failed items")
    def failed(self, obj: StoreSync) -> str:
        return self._bindings_link(obj, PushState.FAILED)

    @admin.display(description="Running sync (items done / total)")
    def running(self, obj: StoreSync) -> str:
        run = SyncRun.objects.filter(store_id=obj.store_id, state__in=OPEN_RUN).first()
        if run is None:
            return "—"
        return f"{run.get_mode_display()}: {run.get_state_display()}, {run.progress}"

    @admin.display(description="Runs")
    def history(self, obj: StoreSync) -> str:
        url = reverse("tenant_admin:catalog_syncrun_changelist")
        return format_html('<a href="{}?store__id__exact={}">Run history</a>', url, obj.store_id)

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.run_price_sync")

    def _request(self, request: HttpRequest, queryset, mode: str) -> None:
        started = 0
        for mapping in queryset.select_related("store"):
            run = sync.request_run(mapping.store, mode, actor=request.user.get_username())
            if run is not None:
                started += 1
                record_activity(f"catalog.sync_{mode}", actor=request.user.get_username(), obj=run)
        self.message_user(
            request, f"{started} sync(s) started; a store already reading the ERP is left as is."
        )

    @admin.action(description="Sync now (changes)", permissions=["run"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[StoreSync]) -> None:
        self._request(request, queryset, SyncRun.Mode.CHANGES)

    @admin.action(description="Full resync", permissions=["run"])
    def full_resync(self, request: HttpRequest, queryset: QuerySet[StoreSync]) -> None:
        self._request(request, queryset, SyncRun.Mode.FULL)

    @admin.action(description="Match products by SKU", permissions=["run"])
    def match_catalog(self, request: HttpRequest, queryset: QuerySet[StoreSync]) -> None:
        for mapping in queryset:
            dispatch("catalog.match_store_catalog", mapping.store_id)
        self.message_user(
            request, "Matching started; see Item bindings and Unmatched products when it ends."
        )


@admin.register(SyncRun, site=tenant_admin)
class SyncRunAdmin(WorkItemAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "store",
        "state",
        "progress",
        "changed",
        "erp_rows",
        "batch_jobs",
        "created_at",
        "finished_at",
        "requested_by",
    ]
    list_filter = ["state", "mode", ("store", admin.RelatedOnlyFieldListFilter)]
    fields = [
        "store",
        "mode",
        "state",
        "requested_by",
        "read_since",
        "erp_rows",
        "changed",
        "items_total",
        "items_done",
        "items_failed",
        "batch_jobs",
        "started_at",
        "finished_at",
        *WORK_FIELDS,
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(PushBatch, site=tenant_admin)
class PushBatchAdmin(WorkItemAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "store",
        "run",
        "state",
        "job_id",
        "succeeded",
        "failed",
        "submitted_at",
        "finished_at",
    ]
    list_filter = ["state", "kind"]
    fields = [
        "store",
        "run",
        "kind",
        "state",
        "job_id",
        "succeeded",
        "failed",
        "outcomes",
        "items",
        "submitted_at",
        "finished_at",
        *WORK_FIELDS,
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(UnmatchedProduct, site=tenant_admin)
class UnmatchedProductAdmin(admin.ModelAdmin):
    """The unmatched report: store products no ERP item was found for, and why."""

    list_display = [
        "sku",
        "name",
        "store",
        "store_product_id",
        "store_variant_id",
        "reason",
        "seen_at",
    ]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sku", "name"]
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
