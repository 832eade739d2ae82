"""Tenant-schema settings: upstream credentials and API tokens for the order API."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from connectors.ionapi import IonApiCredentials, parse_ionapi
from core.deletion import cascade_where_present
from core.fields import EncryptedTextField


class ConnectionSettings(models.Model):
    """The tenant's ERP and ShipStation connection; one row per tenant schema."""

    class MissingCustomerPolicy(models.TextChoices):
        CREATE = "create", "Create the customer in the ERP from the template"
        DEFAULT = "default", "Use the store's default customer number"

    erp_ionapi = EncryptedTextField(blank=True, help_text="The .ionapi file; stored encrypted.")
    erp_company = models.CharField("ERP company (CONO)", max_length=3, blank=True)
    erp_division = models.CharField("ERP division (DIVI)", max_length=3, blank=True)
    erp_warehouse = models.CharField("Default warehouse (WHLO)", max_length=3, blank=True)
    erp_order_type = models.CharField("Order type (ORTP)", max_length=3, blank=True)
    erp_customer_template = models.CharField(
        "Customer template (CUNO)",
        max_length=10,
        blank=True,
        help_text="Existing ERP customer copied when a new customer is created.",
    )
    erp_default_customer = models.CharField(
        "Default customer (CUNO)",
        max_length=10,
        blank=True,
        help_text="Used for orders whose customer is not found, when the policy says so.",
    )
    missing_customer_policy = models.CharField(
        max_length=10, choices=MissingCustomerPolicy.choices, default=MissingCustomerPolicy.CREATE
    )
    sku_is_erp_item = models.BooleanField(
        "SKU is the ERP item number",
        default=True,
        help_text="When no catalog binding exists, use the store SKU as the ERP item number.",
    )
    erp_cancel_line_transaction = models.CharField(
        "ERP transaction cancelling an order's lines",
        max_length=40,
        blank=True,
        help_text="PROGRAM/TRANSACTION, e.g. OIS100MI/DelLine or OIS100MI/CloLine "
        "(docs/m3-order-changes.md). Empty: a person cancels the lines in M3 when the store "
        "cancels after the ERP step.",
    )
    erp_delivery_address_transaction = models.CharField(
        "ERP transaction changing an order's delivery address",
        max_length=40,
        blank=True,
        help_text="PROGRAM/TRANSACTION, e.g. OIS100MI/ChgLineBatchEnt: the address is added to "
        "the customer and each open line pointed at it (docs/m3-order-changes.md). Empty: a "
        "person updates the address in M3 when the store changes the ship-to after the ERP "
        "step.",
    )
    done_orders_on_arrival = models.CharField(
        "Orders that arrive already done",
        max_length=10,
        choices=[
            ("history", "Keep as history only (never sent)"),
            ("skip", "Skip them"),
        ],
        default="history",
        help_text="Store and API orders already fulfilled, cancelled or refunded when the hub "
        "first sees them are never sent to the ERP or ShipStation.",
    )
    reconciliation_hour = models.PositiveSmallIntegerField(
        "Nightly reconciliation at (hour, UTC)",
        null=True,
        blank=True,
        default=2,
        validators=[MaxValueValidator(23)],
        help_text="Each night at this hour (0-23, UTC) the store, hub, ERP and ShipStation orders "
        "of the last 7 days are compared. Empty: only when someone asks.",
    )
    erp_line_prices = models.CharField(
        "Line prices sent to the ERP",
        max_length=10,
        choices=[
            ("as_order", "As the store's order has them (with or without tax)"),
            ("net", "Net of tax"),
            ("gross", "Including tax"),
        ],
        default="net",
        help_text="How this tenant's M3 price lists are kept: M3 adds tax to net prices, so "
        "gross prices would be taxed twice unless the customer's tax code says otherwise "
        "(docs/adr-0006).",
    )
    seller_name = models.CharField(
        "Seller name on invoices", max_length=200, blank=True, help_text="The legal name."
    )
    seller_address = models.TextField(
        "Seller address on invoices", blank=True, help_text="As printed: one line per line."
    )
    seller_vat_number = models.CharField(
        "Seller VAT number",
        max_length=20,
        blank=True,
        help_text="Printed on every invoice, e.g. GB123456789.",
    )
    personal_data_retention_days = models.PositiveIntegerField(
        "Keep shoppers' personal data for (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Days after an order is done (invoiced, cancelled or failed) before its "
        "shopper's name, address, e-mail, phone and raw store payload are removed; amounts, "
        "lines and references stay. Empty: the platform's default "
        "(HUB_PERSONAL_DATA_RETENTION_DAYS).",
    )
    alert_emails = models.TextField(
        "Alert e-mail addresses",
        blank=True,
        help_text="Who hears when a store disconnects or takes orders by polling only, an "
        "upstream refuses the credentials, needs attention grows or a flow falls behind. One "
        "address per line or comma-separated; empty: nobody in this tenant is e-mailed.",
    )
    alert_chat_webhook_url = EncryptedTextField(
        "Alert chat webhook URL",
        blank=True,
        help_text="A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, …); "
        "stored encrypted and never shown again.",
    )
    alert_daily_digest = models.BooleanField(
        "Alerts as one daily digest",
        default=False,
        help_text="Collect the day's alerts into one message instead of one message each.",
    )
    alert_attention_threshold = models.PositiveIntegerField(
        "Alert when this many items need attention",
        default=10,
        help_text="0: never alert on the needs-attention count.",
    )
    shipstation_base_url = models.URLField(default="https://ssapi.shipstation.com")
    shipstation_api_key = EncryptedTextField(blank=True)
    shipstation_api_secret = EncryptedTextField(blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_result = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "connection settings"
        verbose_name_plural = "connection settings"
        permissions = [("test_connection", "Can test the ERP and ShipStation connection")]

    def __str__(self) -> str:
        return "Connection settings"

    @classmethod
    def load(cls) -> ConnectionSettings:
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row

    @property
    def retention_days(self) -> int:
        """Days personal data is kept after an order is done, for this tenant."""
        return self.personal_data_retention_days or settings.HUB_PERSONAL_DATA_RETENTION_DAYS

    @property
    def ionapi(self) -> IonApiCredentials | None:
        return parse_ionapi(self.erp_ionapi) if self.erp_ionapi else None

    @property
    def erp_summary(self) -> str:
        creds = self.ionapi
        if creds is None:
            return "Not configured"
        grant = "service account" if creds.uses_password_grant else "client credentials"
        return f"ION tenant {creds.tenant}, client {mask(creds.client_id)}, {grant}"

    @property
    def shipstation_summary(self) -> str:
        if not self.shipstation_api_key:
            return "Not configured"
        return f"API key {mask(self.shipstation_api_key)}"


def alert_addresses(text: str) -> list[str]:
    """The alert e-mail addresses as typed: one per line or comma-separated."""
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def mask(secret: str) -> str:
    """Enough of a credential to recognise it, never enough to use it."""
    if len(secret) <= 8:
        return "••••"
    return f"{secret[:4]}…{secret[-2:]}"


TOKEN_PREFIX = "hub"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the order API; only its hash is stored, the secret is shown once."""

    name = models.CharField(max_length=100, help_text="What uses this token, e.g. 'B2B portal'.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # Deleted with the user; a platform user (public schema: no token table) has none.
        on_delete=cascade_where_present,
        related_name="api_tokens",
        help_text="Requests made with the token act as this user, with this user's roles.",
    )
    key_prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def issue(self) -> str:
        """Generate the secret; returns the full token, which is not stored anywhere."""
        self.key_prefix = secrets.token_hex(4)
        raw = f"{TOKEN_PREFIX}_{self.key_prefix}_{secrets.token_urlsafe(32)}"
        self.key_hash = hash_token(raw)
        return raw

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        token = cls.objects.active().select_related("user").filter(key_prefix=parts[1]).first()
        if token is None or not secrets.compare_digest(token.key_hash, hash_token(raw)):
            return None
        return token
