"""Platform portal: tenants, stores, SKU owners and the activity of every tenant."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from connectors.errors import UpstreamError
from core.admin import ReadOnlyAdmin
from core.admin_sites import platform_admin, tenant_admin
from tenants.activity import record_activity
from tenants.forms import (
    Api2CartAccountForm,
    ConnectStoreForm,
    StoreForm,
    TenantProvisioningForm,
)
from tenants.models import (
    ActivityEvent,
    Api2CartAccount,
    Domain,
    SkuOwnership,
    Store,
    StoreMembership,
    StoreWebhook,
    Tenant,
)
from tenants.provisioning import portal_url, provision_tenant
from tenants.store_connection import (
    StoreConnectionError,
    connect_new_store,
    explain,
    register_webhooks,
    supported_platforms,
)

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
        form = super().get_form(request, obj, **kwargs)
        if obj is None and "slug" in form.base_fields:
            form.base_fields["slug"].help_text = (
                "Lowercase letters, digits and hyphens; it names the tenant's portal, e.g. "
                f"initech → {portal_url('initech')}"
            )
        return form

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
        return format_html('<a href="{}">{}</a>', portal_url(obj.slug), domain.domain)

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
        context = {
            **self.admin_site.each_context(request),
            "result": result,
            "opts": self.opts,
            "portal_url": portal_url(result.tenant.slug),
        }
        return TemplateResponse(request, "admin/tenants/tenant/provisioned.html", context)


@admin.register(Api2CartAccount, site=platform_admin)
class Api2CartAccountAdmin(admin.ModelAdmin):
    form = Api2CartAccountForm
    list_display = ["name", "base_url", "created_at"]


StorePageView = Callable[[HttpRequest, Store], HttpResponse]
STORE_PAGES: dict[str, tuple[str, StorePageView]] = {}


def add_store_page(name: str, label: str, view: StorePageView) -> None:
    """A page an upper app offers about one store (orders: "Import orders", a backfill), at
    `<store>/<name>/` and linked from the store's page; this app knows none of them."""
    STORE_PAGES[name] = (label, view)


@admin.register(Store, site=platform_admin)
class StoreAdmin(admin.ModelAdmin):
    form = StoreForm
    list_display = ["display_name", "name", "platform", "webhook_mode", "status", "members"]
    list_filter = ["platform", "webhook_mode", "status"]
    search_fields = ["name", "display_name", "url"]
    readonly_fields = [
        "status",
        "status_message",
        "status_changed_at",
        "callback_path",
        "poll_watermark",
        "last_polled_at",
        "next_poll_at",
    ]
    inlines = [MembershipInline]
    actions = ["register_webhooks", "rotate_webhook_token"]
    change_list_template = "admin/tenants/store/change_list.html"
    change_form_template = "admin/tenants/store/change_form.html"

    def has_delete_permission(self, request: HttpRequest, obj: Store | None = None) -> bool:
        """Tenant orders keep pointing at their store; disconnect or remove members instead."""
        return False

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

    def save_model(self, request: HttpRequest, obj: Store, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            record_activity(
                "store.connected", obj=obj, request=request, message="Store key pasted."
            )

    @admin.action(description="Register webhooks (order add/update) at API2Cart")
    def register_webhooks(self, request: HttpRequest, queryset: QuerySet[Store]) -> None:
        for store in queryset.select_related("account"):
            try:
                report = register_webhooks(store)
            except UpstreamError as exc:
                message = f"{store}: webhooks not registered. {explain(exc)}"
                record_activity(
                    "store.webhooks_registered",
                    obj=store,
                    request=request,
                    outcome=ActivityEvent.Outcome.FAILURE,
                    message=message,
                )
                messages.error(request, message)
                continue
            record_activity(
                "store.webhooks_registered", obj=store, request=request, message=report.summary()
            )
            level = messages.WARNING if report.switched_to_poll else messages.SUCCESS
            messages.add_message(request, level, report.summary())

    def get_urls(self):
        connect = path(
            "connect/",
            self.admin_site.admin_view(self.connect_view),
            name="tenants_store_connect",
        )
        pages = [
            path(f"<int:pk>/{name}/", self.admin_site.admin_view(self._store_page(view)),
                 name=f"tenants_store_{name}")
            for name, (_, view) in STORE_PAGES.items()
        ]  # fmt: skip
        return [connect, *pages, *super().get_urls()]

    def _store_page(self, view: StorePageView) -> Callable[..., HttpResponse]:
        def page(request: HttpRequest, pk: int) -> HttpResponse:
            if not self.has_change_permission(request):
                raise PermissionDenied
            return view(request, get_object_or_404(Store, pk=pk))

        return page

    def change_view(self, request, object_id, form_url="", extra_context=None):
        links = [
            (label, reverse(f"platform_admin:tenants_store_{name}", args=[object_id]))
            for name, (label, _) in STORE_PAGES.items()
        ]
        extra_context = {**(extra_context or {}), "store_pages": links}
        return super().change_view(request, object_id, form_url, extra_context)

    def connect_view(self, request: HttpRequest) -> HttpResponse:
        """Connect a new store with its platform credentials (`account.cart.add`)."""
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("platform_admin:index"))
        accounts = list(Api2CartAccount.objects.order_by("name"))
        wanted = request.GET.get("account") or request.POST.get("account")
        account = next(
            (a for a in accounts if str(a.pk) == wanted), accounts[0] if accounts else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Connect a new store",
            "accounts": accounts,
            "account": account,
            "form": None,
        }
        if account is None:
            messages.error(request, "Add an API2Cart account first.")
            return TemplateResponse(request, "admin/tenants/store/connect.html", context)
        try:
            platforms = supported_platforms(account)
        except StoreConnectionError as exc:
            messages.error(request, str(exc))
            return TemplateResponse(request, "admin/tenants/store/connect.html", context)
        data = request.POST if request.method == "POST" else None
        form = ConnectStoreForm(data, platforms=platforms, platform=request.GET.get("platform"))
        context["form"] = form
        if data is not None and form.is_valid():
            store = self.connect_store(request, account, form)
            if store is not None:
                return HttpResponseRedirect(
                    reverse("platform_admin:tenants_store_change", args=[store.pk])
                )
        return TemplateResponse(request, "admin/tenants/store/connect.html", context)

    def connect_store(
        self, request: HttpRequest, account: Api2CartAccount, form: ConnectStoreForm
    ) -> Store | None:
        cart_id, store_url = form.cleaned_data["cart_id"], form.cleaned_data["store_url"]
        try:
            store_key = connect_new_store(account, cart_id, store_url, form.credentials())
        except StoreConnectionError as exc:
            form.add_error(None, str(exc))
            record_activity(
                "store.connected",
                request=request,
                outcome=ActivityEvent.Outcome.FAILURE,
                object_type="tenants.store",
                object_repr=store_url,
                message=str(exc),
            )
            return None
        store = Store.objects.create(
            name=form.cleaned_data["name"],
            display_name=form.cleaned_data["display_name"],
            platform=cart_id,
            url=store_url,
            account=account,
            store_key=store_key,
        )
        record_activity(
            "store.connected",
            obj=store,
            request=request,
            message=f"Connected through account.cart.add ({cart_id}).",
        )
        messages.success(
            request,
            f'Connected {store}. Add its member tenants, then run "Register webhooks".',
        )
        return store

    @admin.action(description="Rotate the webhook token (re-register webhooks afterwards)")
    def rotate_webhook_token(self, request: HttpRequest, queryset: QuerySet[Store]) -> None:
        for store in queryset:
            store.rotate_webhook_token()
            store.save(update_fields=["webhook_token", "webhook_token_hash"])
            record_activity("store.webhook_token_rotated", obj=store, request=request)
        messages.success(request, f"Rotated the webhook token of {queryset.count()} store(s).")


@admin.register(SkuOwnership, site=platform_admin)
class SkuOwnershipAdmin(admin.ModelAdmin):
    list_display = ["sku", "store", "tenant", "source", "store_product_id", "updated_at"]
    readonly_fields = ["store_product_id", "store_variant_id"]
    list_filter = ["store", "tenant", "source"]
    search_fields = ["sku"]
    list_select_related = ["store", "tenant"]


class ActivityKind(admin.SimpleListFilter):
    """Sign-ins (every `login…` action) apart from changes, so logins do not drown the log."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("changes", "Changes and work"), ("sign_ins", "Sign-ins")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "sign_ins":
            return queryset.filter(action__startswith="login")
        if self.value() == "changes":
            return queryset.exclude(action__startswith="login")
        return queryset


class ActivityAdminBase(ReadOnlyAdmin):
    """Read-only view of the append-only log."""

    list_display = ["created_at", "actor", "action", "outcome", "object_repr", "message"]
    list_filter = [ActivityKind, "outcome", "action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["actor", "action", "object_repr", "message"]
    date_hierarchy = "created_at"
    list_per_page = 100


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


@admin.register(StoreWebhook, site=platform_admin)
class StoreWebhookAdmin(admin.ModelAdmin):
    """The webhooks the hub registered at API2Cart (read-only; managed by "Register webhooks")."""

    list_display = ["store", "entity", "action", "remote_id", "created_at"]
    list_filter = ["store", "entity", "action"]
    list_select_related = ["store"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StoreWebhook | None = None) -> bool:
        return False
