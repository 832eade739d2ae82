"""Platform admin forms: tenant provisioning and store connection."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from connectors.api2cart import SupportedPlatform
from core.forms import WriteOnlySecretsForm
from core.upstream_urls import check_upstream_url
from tenants.models import Api2CartAccount, Store, Tenant
from tenants.provisioning import check_new_slug
from tenants.store_connection import StoreConnectionError, validate_store_key

SECRET_WORDS = ("key", "secret", "token", "password")


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

    def clean_base_url(self) -> str:
        """In production the hub calls only public https addresses (see core.upstream_urls)."""
        base_url = self.cleaned_data["base_url"]
        try:
            check_upstream_url(base_url, label="The API2Cart base URL")
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return base_url


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
            "poll_interval_minutes",
            "signature_mode",
            "signature_secret",
        ]

    def clean(self) -> dict[str, Any]:
        """A new or changed store key (or account) must answer `cart.info` before it is saved."""
        cleaned = super().clean()
        account, store_key = cleaned.get("account"), cleaned.get("store_key")
        unchanged = (
            self.instance.pk is not None
            and store_key == self.instance.store_key
            and account is not None
            and account.pk == self.instance.account_id
        )
        if account is None or not store_key or unchanged:
            return cleaned
        try:
            validate_store_key(account, store_key)
        except StoreConnectionError as exc:
            self.add_error("store_key", str(exc))
        return cleaned


class ConnectStoreForm(forms.Form):
    """Connect a store through the platform's API2Cart account with the store's credentials.

    One optional field per credential API2Cart lists for any platform; `clean` checks that a
    complete alternative set of the chosen platform's required parameters was given.
    """

    name = forms.SlugField(max_length=60, help_text="Short unique name, e.g. northwind.")
    display_name = forms.CharField(max_length=200)
    cart_id = forms.ChoiceField(label="Platform")
    store_url = forms.URLField(label="Store URL")

    def __init__(self, *args: Any, platforms: list[SupportedPlatform], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.platforms = {p.cart_id: p for p in platforms}
        self.fields["cart_id"].choices = [(p.cart_id, p.cart_name) for p in platforms]
        self.credential_names: list[str] = []
        for platform in platforms:
            for name in [
                *(n for option in platform.required for n in option),
                *platform.additional,
            ]:
                if name == "store_url" or name in self.credential_names:
                    continue
                self.credential_names.append(name)
                secret = any(word in name for word in SECRET_WORDS)
                self.fields[name] = forms.CharField(
                    required=False,
                    label=name,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                    if secret
                    else forms.TextInput(),
                )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Store.objects.filter(name=name).exists():
            raise forms.ValidationError("A store with this name exists already.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        platform = self.platforms.get(cleaned.get("cart_id", ""))
        if platform is None:
            return cleaned
        given = {name for name in self.credential_names if cleaned.get(name)} | {"store_url"}
        options = [set(option) for option in platform.required] or [set()]
        if not any(option <= given for option in options):
            alternatives = " or ".join(
                ", ".join(sorted(option - {"store_url"})) or "nothing" for option in options
            )
            raise forms.ValidationError(f"{platform.cart_name} needs: {alternatives}.")
        return cleaned

    def credentials(self) -> dict[str, str]:
        """The credentials filled in that the chosen platform knows about."""
        platform = self.platforms[self.cleaned_data["cart_id"]]
        known = {n for option in platform.required for n in option} | set(platform.additional)
        return {
            name: self.cleaned_data[name]
            for name in self.credential_names
            if name in known and self.cleaned_data.get(name)
        }
