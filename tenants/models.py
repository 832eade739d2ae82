"""Public-schema records: tenants, their domains, the store registry and the activity log."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from core.fields import EncryptedTextField

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,28}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "admin",
        "api",
        "static",
        "media",
        "webhooks",
        "healthz",
        "sandbox",
        "template",
        "tenant-template",
        "localhost",
        "mail",
        "root",
        "postgres",
        "hub",
        "information-schema",
        "pg-catalog",
        "pg-toast",
    }
)


def validate_tenant_slug(slug: str) -> None:
    if not SLUG_PATTERN.match(slug or ""):
        raise ValidationError(
            "Use 2-30 lowercase letters, digits or hyphens, starting with a letter "
            "and not ending with a hyphen."
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise ValidationError(f"'{slug}' is reserved; choose another slug.")


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


class Tenant(TenantMixin):
    """A business partner of the distribution group, with its own PostgreSQL schema."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=30, unique=True, validators=[validate_tenant_slug])
    is_template = models.BooleanField(
        default=False, help_text="The migrated schema new tenants are cloned from."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shipstation_webhook_token = EncryptedTextField(blank=True, editable=False)
    shipstation_webhook_token_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def rotate_shipstation_webhook_token(self) -> str:
        """A new secret for `/webhooks/shipstation/<token>/`; only its hash is looked up."""
        token = secrets.token_urlsafe(32)
        self.shipstation_webhook_token = token
        self.shipstation_webhook_token_hash = hash_webhook_token(token)
        return token

    @classmethod
    def for_shipstation_webhook_token(cls, token: str) -> Tenant | None:
        return cls.objects.filter(
            shipstation_webhook_token_hash=hash_webhook_token(token), is_active=True
        ).first()


class Domain(DomainMixin):
    """A host name that routes requests to a tenant's schema."""


class Api2CartAccount(models.Model):
    """The platform's API2Cart account: one API key that reaches many stores."""

    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(default="https://api.api2cart.com/v1.1")
    api_key = EncryptedTextField(help_text="Stored encrypted; never shown back.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API2Cart account"

    def __str__(self) -> str:
        return self.name


def hash_webhook_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store(models.Model):
    """An e-commerce site reached through API2Cart; shared by its member tenants."""

    class WebhookMode(models.TextChoices):
        PUSH = "push", "Webhooks (push)"
        POLL = "poll", "Polling"

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        DISCONNECTED = "disconnected", "Disconnected"

    class SignatureMode(models.TextChoices):
        OFF = "off", "Off (path token only)"
        LOG_ONLY = "log_only", "Check and log mismatches, accept anyway"
        ENFORCE = "enforce", "Enforce (refuse unsigned or wrongly signed webhooks)"

    name = models.SlugField(max_length=60, unique=True)
    display_name = models.CharField(max_length=200)
    platform = models.CharField(max_length=60, help_text="API2Cart cart_id, e.g. Shopify.")
    url = models.URLField()
    account = models.ForeignKey(Api2CartAccount, on_delete=models.PROTECT, related_name="stores")
    store_key = EncryptedTextField(help_text="API2Cart store key; stored encrypted.")
    webhook_mode = models.CharField(
        max_length=10, choices=WebhookMode.choices, default=WebhookMode.PUSH
    )
    webhook_token = EncryptedTextField(editable=False)
    webhook_token_hash = models.CharField(max_length=64, unique=True, editable=False)
    signature_mode = models.CharField(
        max_length=10,
        choices=SignatureMode.choices,
        default=SignatureMode.OFF,
        help_text="API2Cart's webhook signature scheme is unconfirmed (contract §6.3); "
        "try log-only before enforcing.",
    )
    signature_secret = EncryptedTextField(
        blank=True,
        help_text="Key for webhook signatures; blank uses the API2Cart account's API key.",
    )
    poll_interval_minutes = models.PositiveIntegerField(
        default=5, help_text="Order polling interval (a safety net for push-mode stores)."
    )
    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_watermark = models.DateTimeField(
        null=True, blank=True, help_text="Orders modified up to here have been fetched."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    status_message = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    webhooks_checked_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Last webhook health check (webhook.list)."
    )
    webhooks_degraded_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Set while a check finds order webhooks disabled or missing at API2Cart: "
        "orders arrive only by polling until a later check finds them all active.",
    )
    webhook_problem = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        if not self.webhook_token_hash:
            self.rotate_webhook_token()
        super().save(*args, **kwargs)

    def rotate_webhook_token(self) -> str:
        token = secrets.token_urlsafe(32)
        self.webhook_token = token
        self.webhook_token_hash = hash_webhook_token(token)
        return token

    @classmethod
    def for_webhook_token(cls, token: str) -> Store | None:
        return cls.objects.filter(webhook_token_hash=hash_webhook_token(token)).first()

    @property
    def polling_only(self) -> bool:
        """A push store whose order webhooks are off: degraded, orders come only by polling."""
        return (
            self.webhook_mode == self.WebhookMode.PUSH and self.webhooks_degraded_since is not None
        )


class StoreMembership(models.Model):
    """A tenant selling through a store (N:M)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="store_memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "tenant"], name="unique_store_membership")
        ]

    def __str__(self) -> str:
        return f"{self.tenant} @ {self.store}"


def sku_key(sku: str) -> str:
    """A SKU as ownership compares it: `gx-1035 ` and `GX-1035` are one SKU."""
    return sku.strip().casefold()


class SkuOwnership(models.Model):
    """Routing and write index for shared stores: which tenant owns a SKU sold on a store, and
    which store product carries it (as the store's own catalog says).

    Both are unique per store, so two tenants can never own one SKU (in any letter case) nor
    write to one store product; price and stock pushes check the product claim at send time.
    """

    class Source(models.TextChoices):
        CATALOG = "catalog", "Catalog binding"
        MANUAL = "manual", "Set by staff"
        DEMO = "demo", "Demo seed"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sku_owners")
    sku = models.CharField(max_length=128)
    sku_key = models.CharField(max_length=128, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="owned_skus")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    store_product_id = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Set from the store's catalog."
    )
    store_variant_id = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SKU owner"
        constraints = [
            models.UniqueConstraint(fields=["store", "sku_key"], name="unique_store_sku_key"),
            models.UniqueConstraint(
                fields=["store", "store_product_id", "store_variant_id"],
                condition=~models.Q(store_product_id=""),
                name="one_owner_per_store_product",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store.name}:{self.sku} → {self.tenant.slug}"

    def save(self, *args, **kwargs) -> None:
        self.sku_key = sku_key(self.sku)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not (self.store_id and self.sku):
            return
        if (
            self.tenant_id
            and not StoreMembership.objects.filter(
                store_id=self.store_id, tenant_id=self.tenant_id
            ).exists()
        ):
            raise ValidationError({"tenant": "The tenant is not a member of this store."})
        taken = SkuOwnership.objects.filter(store_id=self.store_id, sku_key=sku_key(self.sku))
        if taken.exclude(pk=self.pk).exists():
            raise ValidationError({"sku": "This SKU (in any letter case) already has an owner."})


class ActivityEvent(models.Model):
    """Append-only audit trail across tenants (an UPDATE/DELETE trigger enforces it)."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    tenant = models.ForeignKey(
        Tenant,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Empty for platform-level events.",
    )
    actor = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    message = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"


class StoreWebhook(models.Model):
    """A webhook the hub registered at API2Cart.

    `account.failed_webhooks` names only the webhook id, so this is how a missed delivery is
    traced back to its store. The callback URL holds the secret path token: only its hash is kept.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="registered_webhooks")
    remote_id = models.PositiveBigIntegerField(help_text="API2Cart's webhook id.")
    entity = models.CharField(max_length=30)
    action = models.CharField(max_length=30)
    callback_url_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "remote_id"], name="unique_store_webhook")
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.entity}.{self.action} #{self.remote_id}"


class StoreOrderPart(models.Model):
    """How far one tenant's part of a store order split between tenants has come: a state only,
    never its lines or money.

    Kept in public beside the store order so its status is written to the store once, for all
    parts together (`tenants.store_order_parts`), and each tenant sees how far the others are
    as counts. A store order served by one tenant has no rows.
    """

    class State(models.TextChoices):
        ROUTED = "routed", "Routed"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"
        INVOICED = "invoiced", "Invoiced"
        CANCELLED = "cancelled", "Cancelled"
        HISTORY = "history", "History only (never sent)"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    store_order_id = models.CharField(max_length=100, help_text="The store's own order id.")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=20, choices=State.choices, default=State.ROUTED)
    status_claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this part took the writing of the store order's status (one part does).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "store order part"
        constraints = [
            models.UniqueConstraint(
                fields=["store", "store_order_id", "tenant"], name="unique_store_order_part"
            ),
            models.UniqueConstraint(
                fields=["store", "store_order_id"],
                condition=models.Q(status_claimed_at__isnull=False),
                name="one_status_writer_per_store_order",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.store_id}:{self.store_order_id} part of tenant {self.tenant_id}: {self.state}"
        )


class TenantFigures(models.Model):
    """A tenant's health and metric figures as of its last refresh, kept in public so the
    platform front page and `/metrics` read every tenant with one query, whatever their number.

    The portal writes the row from inside the tenant's schema when the sweeper visits it (at
    most once a minute, so an idle tenant costs nothing). Figures that depend on the time of
    reading are kept as moments and per-hour or per-minute counts (`figures`), and turned into
    "last 24 h", "oldest waiting for" and "behind" when read. The columns are what the front
    page sorts and searches by; `figures` holds the rest, shaped by its writer.
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="figures"
    )
    as_of = models.DateTimeField(help_text="When the figures were measured.")
    waiting = models.PositiveIntegerField(default=0, help_text="Orders on their way.")
    needs_attention = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    oldest_waiting = models.DateTimeField(
        null=True, blank=True, help_text="Since when the oldest order on its way has waited."
    )
    oldest_in_flows = models.DateTimeField(
        null=True, blank=True, help_text="Since when the oldest item in any flow has waited."
    )
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "tenant figures"
        verbose_name_plural = "tenant figures"

    def __str__(self) -> str:
        return f"figures of tenant {self.tenant_id} as of {self.as_of:%Y-%m-%d %H:%M}"
