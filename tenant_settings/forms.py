"""Tenant portal forms: connection settings with an .ionapi upload, API token issue."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from connectors.ionapi import IonApiFileError, parse_ionapi
from core.forms import WriteOnlySecretsForm
from core.upstream_urls import check_upstream_url
from tenant_settings.models import ConnectionSettings, alert_addresses

MAX_IONAPI_BYTES = 64 * 1024


class WriteOnlyTextarea(forms.Textarea):
    """A pasted credential file is never sent back to the browser, not even after an error."""

    def format_value(self, value: object) -> None:
        return None


class ConnectionSettingsForm(WriteOnlySecretsForm):
    secret_fields = ("shipstation_api_key", "shipstation_api_secret", "alert_chat_webhook_url")

    ionapi_file = forms.FileField(
        label="Upload .ionapi file",
        required=False,
        help_text="From ION API > Authorized Apps > Backend Service > Download Credentials.",
    )
    ionapi_text = forms.CharField(
        label="…or paste its contents",
        required=False,
        max_length=MAX_IONAPI_BYTES,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="Leave both empty to keep the stored ERP credentials.",
    )

    class Meta:
        model = ConnectionSettings
        fields = [
            "erp_company",
            "erp_division",
            "erp_warehouse",
            "erp_order_type",
            "erp_customer_template",
            "erp_default_customer",
            "missing_customer_policy",
            "sku_is_erp_item",
            "shipstation_base_url",
            "shipstation_api_key",
            "shipstation_api_secret",
            "personal_data_retention_days",
            "reconciliation_hour",
            "alert_emails",
            "alert_chat_webhook_url",
            "alert_daily_digest",
            "alert_attention_threshold",
        ]

    def clean_alert_emails(self) -> str:
        """Each address checked, stored one per line."""
        addresses = alert_addresses(self.cleaned_data.get("alert_emails", ""))
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError as exc:
                raise ValidationError(f"{address!r} is not an e-mail address.") from exc
        return "\n".join(addresses)

    def clean_alert_chat_webhook_url(self) -> str:
        url = (self.cleaned_data.get("alert_chat_webhook_url") or "").strip()
        if url:
            URLValidator(schemes=["https", "http"])(url)
            check_upstream_url(url, label="Alert chat webhook URL")
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("ionapi_file")
        text = (cleaned.get("ionapi_text") or "").strip()
        if upload is not None:
            if upload.size > MAX_IONAPI_BYTES:
                self.add_error("ionapi_file", "The file is too large for an .ionapi file.")
                return cleaned
            text = upload.read().decode("utf-8", errors="replace")
        if text:
            field = "ionapi_file" if upload is not None else "ionapi_text"
            try:
                credentials = parse_ionapi(text)
                check_upstream_url(credentials.gateway_url, label="The .ionapi 'iu' URL")
                check_upstream_url(credentials.auth_url, label="The .ionapi 'pu' URL")
            except IonApiFileError as exc:
                self.add_error(field, str(exc))
            except ValidationError as exc:
                self.add_error(field, exc.messages)
            else:
                cleaned["erp_ionapi"] = text
        base_url = cleaned.get("shipstation_base_url")
        if base_url:
            try:
                check_upstream_url(base_url, label="The ShipStation URL")
            except ValidationError as exc:
                self.add_error("shipstation_base_url", exc.messages)
        return cleaned

    def save(self, commit: bool = True) -> ConnectionSettings:
        instance = super().save(commit=False)
        if self.cleaned_data.get("erp_ionapi"):
            instance.erp_ionapi = self.cleaned_data["erp_ionapi"]
        if commit:
            instance.save()
        return instance
