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


CREDENTIALS: dict[str, tuple[str, str]] = {
    "shopify_access_token": (
        "Admin API access token",
        "Shopify admin › Settings › Apps and sales channels › Develop apps › your app › "
        "API credentials; it starts with shpat_.",
    ),
    "shopify_api_key": ("API key", "From the store's private app (older Shopify stores)."),
    "shopify_api_password": ("API password", "From the same private app as the API key."),
    "shopify_shared_secret": ("API shared secret", "From the same private app as the API key."),
    "wc_consumer_key": (
        "REST API consumer key",
        "WooCommerce › Settings › Advanced › REST API › Add key (read/write); it starts with ck_.",
    ),
    "wc_consumer_secret": ("REST API consumer secret", "Shown with the consumer key; cs_…"),
    "store_key": (
        "bridge store key",
        "The key of the API2Cart bridge uploaded to the store (bridge2cart/config.php).",
    ),
    "magento_access_token": (
        "integration access token",
        "Magento admin › System › Extensions › Integrations › your integration.",
    ),
    "magento_consumer_key": ("integration consumer key", "From the same integration."),
    "magento_consumer_secret": ("integration consumer secret", "From the same integration."),
    "magento_token_secret": ("integration access token secret", "From the same integration."),
    "bigcommerceapi_access_token": (
        "API access token",
        "BigCommerce › Settings › Store-level API accounts › Create API account.",
    ),
    "bigcommerceapi_client_id": ("API client ID", "From the same store-level API account."),
    "bigcommerceapi_context": (
        "store hash",
        "The part after /stores/ in the account's API path, e.g. stores/abc123.",
    ),
    "prestashop_webservice_key": (
        "webservice key",
        "PrestaShop › Advanced parameters › Webservice › Add new webservice key.",
    ),
    "custom_label": ("Label in API2Cart", "Optional: how the store is named in API2Cart."),
}
"""Readable labels and where to find each `account.cart.add` credential (contract §2)."""
UNPREFIXED = ("custom_label",)


def credential_label(platform: SupportedPlatform, name: str) -> tuple[str, str]:
    """ "Shopify Admin API access token" for `shopify_access_token`; unknown names are spelt
    out from the parameter name."""
    label, help_text = CREDENTIALS.get(name, ("", ""))
    if not label:
        words = name.split("_")
        if words[0].lower() in platform.cart_id.lower():
            words = words[1:]
        label = " ".join(words) or name
    if name in UNPREFIXED:
        return label, help_text
    return f"{platform.cart_name} {label}", help_text


class ConnectStoreForm(forms.Form):
    """Connect a store through the platform's API2Cart account with the store's credentials.

    Only the chosen platform's credentials are fields (from `account.supported_platforms`), so
    only they are validated and sent; a platform with one set of required credentials requires
    each of them, one with alternatives is checked in `clean`.
    """

    name = forms.SlugField(max_length=60, help_text="Short unique name, e.g. northwind.")
    display_name = forms.CharField(max_length=200)
    cart_id = forms.ChoiceField(label="Platform", widget=forms.HiddenInput)
    store_url = forms.URLField(label="Store URL", help_text="The shop's address, with https://.")

    def __init__(
        self,
        *args: Any,
        platforms: list[SupportedPlatform],
        platform: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.platforms = {p.cart_id: p for p in platforms}
        self.fields["cart_id"].choices = [(p.cart_id, p.cart_name) for p in platforms]
        wanted = (self.data.get("cart_id") if self.is_bound else None) or platform
        self.platform = self.platforms.get(wanted or "") or (platforms[0] if platforms else None)
        self.credential_names: list[str] = []
        if self.platform is None:
            return
        self.initial["cart_id"] = self.platform.cart_id
        required = self.platform.required
        for name in [*(n for option in required for n in option), *self.platform.additional]:
            if name == "store_url" or name in self.credential_names:
                continue
            self.credential_names.append(name)
            label, help_text = credential_label(self.platform, name)
            secret = any(word in name for word in SECRET_WORDS)
            self.fields[name] = forms.CharField(
                required=len(required) == 1 and name in required[0],
                label=label,
                help_text=help_text,
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
        platform = self.platform
        if platform is None or cleaned.get("cart_id") != platform.cart_id:
            return cleaned
        given = {name for name in self.credential_names if cleaned.get(name)} | {"store_url"}
        options = [set(option) for option in platform.required] or [set()]
        if len(options) > 1 and not any(option <= given for option in options):
            alternatives = " or ".join(
                ", ".join(credential_label(platform, n)[0] for n in sorted(o - {"store_url"}))
                or "nothing"
                for o in options
            )
            raise forms.ValidationError(f"{platform.cart_name} needs: {alternatives}.")
        return cleaned

    def credentials(self) -> dict[str, str]:
        """The chosen platform's credentials that were filled in."""
        return {
            name: self.cleaned_data[name]
            for name in self.credential_names
            if self.cleaned_data.get(name)
        }
