"""Platform portal: tenants, stores, SKU owners and the activity of every tenant."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

from integration_hub.admin_sites import platform_admin, tenant_admin
from tenants.activity import record_activity
from tenants.forms import Api2CartAccountForm, StoreForm, TenantProvisioningForm
from tenants.models import (
    ActivityEvent,
    Api2CartAccount,
    Domain,
    SkuOwnership,
    Store,
    StoreMembership,
    Tenant,
)
from tenants.provisioning import provision_tenant

platform_admin.register(User, UserAdmin)
platform_admin.register(Group, GroupAdmin)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]


class MembershipInline(admin.TabularInline):
    model = StoreMembership
    extra = 0
    autocomplete_fields = ["tenant"]


@admin.register(Tenant, site=platform_admin)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "portal", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    readonly_fields = ["slug", "schema_name", "created_at"]
    fields = ["name", "slug", "schema_name", "is_active", "created_at"]
    inlines = [DomainInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return super().get_queryset(request).filter(is_template=False).exclude(schema_name="public")

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, **kwargs):
        if obj is None:
            kwargs["form"] = TenantProvisioningForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None):
        return ["name", "slug", "admin_email"] if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Tenant | None):
        return [] if obj is None else self.inlines

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False

    @admin.display(description="Portal")
    def portal(self, obj: Tenant) -> str:
        domain = obj.get_primary_domain()
        if domain is None:
            return "—"
        url = f"http://{domain.domain}:{getattr(settings, 'HUB_PUBLIC_PORT', '8000')}/admin/"
        return format_html('<a href="{}">{}</a>', url, domain.domain)

    def save_model(self, request: HttpRequest, obj: Tenant, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        result = provision_tenant(
            slug=form.cleaned_data["slug"],
            name=form.cleaned_data["name"],
            admin_email=form.cleaned_data["admin_email"],
            actor=request.user.get_username(),
        )
        obj.pk, obj.schema_name = result.tenant.pk, result.tenant.schema_name
        obj._state.adding = False
        request._provisioned_tenant = result

    def response_add(self, request: HttpRequest, obj: Tenant, post_url_continue=None):
        result = getattr(request, "_provisioned_tenant", None)
        if result is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "result": result, "opts": self.opts}
        return TemplateResponse(request, "admin/tenants/tenant/provisioned.html", context)


@admin.register(Api2CartAccount, site=platform_admin)
class Api2CartAccountAdmin(admin.ModelAdmin):
    form = Api2CartAccountForm
    list_display = ["name", "base_url", "created_at"]


@admin.register(Store, site=platform_admin)
class StoreAdmin(admin.ModelAdmin):
    form = StoreForm
    list_display = ["display_name", "name", "platform", "webhook_mode", "status", "members"]
    list_filter = ["platform", "webhook_mode", "status"]
    search_fields = ["name", "display_name", "url"]
    readonly_fields = ["status", "status_message", "status_changed_at", "callback_path"]
    inlines = [MembershipInline]
    actions = ["rotate_webhook_token"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Store]:
        return super().get_queryset(request).prefetch_related("memberships__tenant")

    @admin.display(description="Member tenants")
    def members(self, obj: Store) -> str:
        return ", ".join(m.tenant.slug for m in obj.memberships.all()) or "—"

    @admin.display(description="Webhook callback")
    def callback_path(self, obj: Store) -> str:
        if not obj.pk:
            return "Assigned when the store is saved."
        return f"/webhooks/api2cart/{obj.webhook_token[:4]}…/ (token kept secret)"

    @admin.action(description="Rotate the webhook token (re-register webhooks afterwards)")
    def rotate_webhook_token(self, request: HttpRequest, queryset: QuerySet[Store]) -> None:
        for store in queryset:
            store.rotate_webhook_token()
            store.save(update_fields=["webhook_token", "webhook_token_hash"])
            record_activity("store.webhook_token_rotated", obj=store, request=request)
        messages.success(request, f"Rotated the webhook token of {queryset.count()} store(s).")


@admin.register(SkuOwnership, site=platform_admin)
class SkuOwnershipAdmin(admin.ModelAdmin):
    list_display = ["sku", "store", "tenant", "source", "updated_at"]
    list_filter = ["store", "tenant", "source"]
    search_fields = ["sku"]
    list_select_related = ["store", "tenant"]


class ActivityAdminBase(admin.ModelAdmin):
    """Read-only view of the append-only log."""

    list_display = ["created_at", "actor", "action", "outcome", "object_repr", "message"]
    list_filter = ["outcome", "action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["actor", "action", "object_repr", "message"]
    date_hierarchy = "created_at"
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ActivityEvent, site=platform_admin)
class PlatformActivityAdmin(ActivityAdminBase):
    list_display = ["created_at", "tenant", *ActivityAdminBase.list_display[1:]]
    list_filter = ["tenant", *ActivityAdminBase.list_filter]
    list_select_related = ["tenant"]


@admin.register(ActivityEvent, site=tenant_admin)
class TenantActivityAdmin(ActivityAdminBase):
    """A tenant sees only its own rows: the filter is on the queryset, not the UI."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[ActivityEvent]:
        return super().get_queryset(request).filter(tenant_id=connection.tenant.pk)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("tenants.view_activityevent")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)
