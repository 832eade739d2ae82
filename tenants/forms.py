"""Platform admin forms: tenant provisioning and store connection."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from integration_hub.core.forms import WriteOnlySecretsForm
from tenants.models import Api2CartAccount, Store, Tenant
from tenants.provisioning import check_new_slug


class TenantProvisioningForm(forms.ModelForm):
    admin_email = forms.EmailField(
        label="First admin's e-mail",
        help_text="Becomes the tenant admin's user name; a password is generated and shown once.",
    )

    class Meta:
        model = Tenant
        fields = ["name", "slug"]
        help_texts = {"slug": "Lowercase; the tenant's portal is <slug>.<hub domain>."}

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        try:
            check_new_slug(slug)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return slug

    def validate_unique(self) -> None:
        """Uniqueness is checked by check_new_slug with a clearer message."""


class Api2CartAccountForm(WriteOnlySecretsForm):
    secret_fields = ("api_key",)
    required_secrets = ("api_key",)

    class Meta:
        model = Api2CartAccount
        fields = ["name", "base_url", "api_key"]


class StoreForm(WriteOnlySecretsForm):
    secret_fields = ("store_key", "signature_secret")
    required_secrets = ("store_key",)

    class Meta:
        model = Store
        fields = [
            "name",
            "display_name",
            "platform",
            "url",
            "account",
            "store_key",
            "webhook_mode",
            "signature_secret",
        ]
