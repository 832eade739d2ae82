"""Tenant portal: users and roles, API tokens and connection settings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from core.admin_sites import tenant_admin
from tenant_settings.forms import ConnectionSettingsForm
from tenant_settings.models import ApiToken, ConnectionSettings
from tenant_settings.services import CONNECTED, NOT_CHECKED, test_connection
from tenants.activity import record_activity


@admin.register(User, site=tenant_admin)
class TenantUserAdmin(UserAdmin):
    """Tenant admins manage their own users; superuser flags and raw permissions stay hidden."""

    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "roles",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_active", "groups"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "fields": (
                    "username",
                    "email",
                    "usable_password",
                    "password1",
                    "password2",
                    "groups",
                )
            },
        ),
    )
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).filter(is_superuser=False).prefetch_related("groups")

    @admin.display(description="Roles")
    def roles(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or "—"

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        obj.is_staff = True
        obj.is_superuser = False
        super().save_model(request, obj, form, change)

    def get_deleted_objects(self, objs, request: HttpRequest):
        """A person's API tokens go with them: the token admin deletes none on its own (tokens
        are revoked), which would otherwise forbid deleting anyone who was ever issued one."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(ApiToken._meta.verbose_name)
        return deleted, counts, perms_needed, protected


@admin.register(Group, site=tenant_admin)
class RoleAdmin(GroupAdmin):
    """Roles are seeded by the hub; tenant admins assign them but do not redefine them."""

    list_display = ["name", "member_count"]

    @admin.display(description="Users")
    def member_count(self, obj: Group) -> int:
        return obj.user_set.count()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ApiToken, site=tenant_admin)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_prefix", "created_at", "last_used_at", "status"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["key_prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None):
        return ["name", "user"] if obj is None else ["name", "user", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None):
        return self.readonly_fields if obj is None else ["user", *self.readonly_fields]

    @admin.display(description="Status")
    def status(self, obj: ApiToken) -> str:
        return "Active" if obj.is_active else "Revoked"

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        if not change:
            request._issued_token = obj.issue()
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
        if not change:
            record_activity("api_token.issued", obj=obj, request=request)

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "token": obj,
            "secret": request._issued_token,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/tenant_settings/apitoken/issued.html", context)

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = 0
        for token in queryset.active():
            token.revoke()
            record_activity("api_token.revoked", obj=token, request=request)
            revoked += 1
        messages.success(request, f"Revoked {revoked} token(s).")


@admin.register(ConnectionSettings, site=tenant_admin)
class ConnectionSettingsAdmin(admin.ModelAdmin):
    form = ConnectionSettingsForm
    readonly_fields = ["erp_summary", "shipstation_summary", "last_tested_at", "last_test_result"]
    fieldsets = (
        (
            "ERP (Infor M3 via ION API)",
            {
                "fields": (
                    "erp_summary",
                    "ionapi_file",
                    "ionapi_text",
                    "erp_company",
                    "erp_division",
                    "erp_warehouse",
                    "erp_order_type",
                    "erp_customer_template",
                    "erp_default_customer",
                    "missing_customer_policy",
                    "sku_is_erp_item",
                )
            },
        ),
        (
            "ShipStation",
            {
                "fields": (
                    "shipstation_summary",
                    "shipstation_base_url",
                    "shipstation_api_key",
                    "shipstation_api_secret",
                )
            },
        ),
        ("Personal data", {"fields": ("personal_data_retention_days",)}),
        ("Reconciliation", {"fields": ("reconciliation_hour",)}),
        (
            "Alerts",
            {
                "fields": (
                    "alert_emails",
                    "alert_chat_webhook_url",
                    "alert_daily_digest",
                    "alert_attention_threshold",
                )
            },
        ),
        ("Connection test", {"fields": ("last_tested_at", "last_test_result")}),
    )
    change_form_template = "admin/tenant_settings/connectionsettings/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """There is one settings row per tenant: go straight to it."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        settings_row = ConnectionSettings.load()
        url = reverse(
            "tenant_admin:tenant_settings_connectionsettings_change", args=[settings_row.pk]
        )
        return HttpResponseRedirect(url)

    def get_urls(self):
        test_url = path(
            "<int:pk>/test/",
            self.admin_site.admin_view(require_POST(self.connection_test_view)),
            name="tenant_settings_connectionsettings_test",
        )
        return [test_url, *super().get_urls()]

    def connection_test_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        """Calls the ERP and ShipStation with the stored credentials and reports per upstream."""
        if not request.user.has_perm("tenant_settings.test_connection"):
            raise PermissionDenied
        settings_row = ConnectionSettings.load()
        report = test_connection(settings_row)
        levels = {CONNECTED: messages.SUCCESS, NOT_CHECKED: messages.INFO}
        for check in report.checks:
            messages.add_message(request, levels.get(check.outcome, messages.WARNING), check.line)
        record_activity(
            "connection.tested",
            obj=settings_row,
            outcome="success" if report.ok else "failure",
            message="; ".join(report.lines),
            request=request,
        )
        return HttpResponseRedirect(
            reverse(
                "tenant_admin:tenant_settings_connectionsettings_change", args=[settings_row.pk]
            )
        )

    def save_model(self, request: HttpRequest, obj: ConnectionSettings, form, change) -> None:
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name not in ("ionapi_text",)]
        record_activity(
            "connection.updated",
            obj=obj,
            message="Changed: " + (", ".join(changed) or "nothing"),
            request=request,
        )
