"""The erasure page's search: one customer, by e-mail address or by store customer id."""

from __future__ import annotations

from typing import Any

from django import forms

from privacy.erasure import Person


class CustomerSearchForm(forms.Form):
    tenant = forms.ModelChoiceField(
        queryset=None, required=False, help_text="Whose customer (platform staff choose)."
    )
    email = forms.EmailField(label="E-mail address", required=False, max_length=254)
    customer_id = forms.CharField(
        label="Store customer id", required=False, max_length=100, strip=True
    )

    def __init__(self, *args: Any, tenants: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if tenants is None:
            del self.fields["tenant"]
        else:
            self.fields["tenant"].queryset = tenants
            self.fields["tenant"].required = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        email, customer_id = cleaned.get("email") or "", cleaned.get("customer_id") or ""
        if bool(email) == bool(customer_id) and not self.errors:
            raise forms.ValidationError(
                "Give the customer's e-mail address or the store's customer id (one of them)."
            )
        return cleaned

    def person(self) -> Person:
        return Person(
            email=self.cleaned_data.get("email") or "",
            customer_id=self.cleaned_data.get("customer_id") or "",
        )
