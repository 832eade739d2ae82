"""Admin form support for credentials: write-only inputs that keep the stored value when blank."""

from __future__ import annotations

from typing import Any

from django import forms


class WriteOnlySecretsForm(forms.ModelForm):
    """Renders `secret_fields` as empty password inputs; blank input keeps the stored secret."""

    secret_fields: tuple[str, ...] = ()
    required_secrets: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        is_new = self.instance.pk is None
        for name in self.secret_fields:
            if name not in self.fields:
                continue
            stored = bool(getattr(self.instance, name, ""))
            self.fields[name] = forms.CharField(
                label=self.fields[name].label,
                required=is_new and name in self.required_secrets,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text="Stored encrypted. "
                + ("Leave blank to keep the stored value." if stored else "Not set yet."),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.secret_fields:
            if name in cleaned and not cleaned[name] and self.instance.pk is not None:
                cleaned[name] = getattr(self.instance, name)
        return cleaned
