"""Orders typed in by a person in the tenant portal.

The form only collects text: the API's `OrderInputSerializer` is the one rule book, so an order
typed here is accepted or refused exactly as the same order sent to the API would be, and then
goes through the same intake and pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db import transaction

from catalog.models import ItemBinding
from orders.intake.accept import accept_order
from orders.intake.api import manual_order_numbered
from orders.intake.serializers import OrderInputSerializer, error_paths
from orders.models import Order

SHIP_TO_FIELDS = ("name", "company", "street1", "street2", "city", "state", "postal_code",
                  "country", "phone")  # fmt: skip
LINE_FIELDS = ("sku", "name", "quantity", "unit_price")


class OrderHeadForm(forms.Form):
    order_number = forms.CharField(max_length=100, required=False)
    email = forms.CharField(label="Customer e-mail", max_length=254, required=False)
    currency = forms.CharField(
        required=False, initial="USD", help_text="ISO 4217 code, e.g. USD or EUR."
    )


class ShipToForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    company = forms.CharField(max_length=200, required=False)
    street1 = forms.CharField(label="Street", max_length=200, required=False)
    street2 = forms.CharField(label="Street (2nd line)", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(label="State / region", max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.CharField(required=False, help_text="Two-letter ISO code, e.g. US, GB, DE.")
    phone = forms.CharField(max_length=50, required=False)


class LineForm(forms.Form):
    sku = forms.CharField(
        label="SKU",
        max_length=128,
        required=False,
        widget=forms.TextInput(attrs={"list": "tenant-skus", "autocomplete": "off"}),
    )
    name = forms.CharField(max_length=300, required=False)
    quantity = forms.CharField(max_length=20, required=False)
    unit_price = forms.CharField(label="Unit price", max_length=20, required=False)

    def is_blank(self) -> bool:
        return not any(str(self.cleaned_data.get(name, "")).strip() for name in LINE_FIELDS)


LineFormSet = forms.formset_factory(LineForm, extra=3, max_num=500)


@dataclass(frozen=True)
class SkuChoice:
    sku: str
    erp_item_number: str


PICKER_SIZE = 200
"""SKUs listed with the form; typing asks the server for more (`sku_choices(search)`)."""


def sku_choices(search: str = "", limit: int = PICKER_SIZE) -> list[SkuChoice]:
    """The SKUs this tenant sells (its catalog bindings) containing `search`, for the picker."""
    bindings = ItemBinding.objects.all()
    if search.strip():
        bindings = bindings.filter(sku__icontains=search.strip())
    rows = bindings.order_by("sku").values_list("sku", "erp_item_number").distinct("sku")[:limit]
    return [SkuChoice(sku, item) for sku, item in rows]


@dataclass
class ManualOrderForms:
    head: OrderHeadForm
    ship_to: ShipToForm
    lines: Any
    problems: list[str] = field(default_factory=list)

    @classmethod
    def bind(cls, data: Any = None) -> ManualOrderForms:
        return cls(
            head=OrderHeadForm(data),
            ship_to=ShipToForm(data, prefix="ship_to"),
            lines=LineFormSet(data, prefix="lines"),
        )

    def payload(self) -> tuple[dict[str, Any], list[LineForm]]:
        """The order as the API would receive it, and the line forms it was made of."""
        head, ship_to = self.head.cleaned_data, self.ship_to.cleaned_data
        used = [form for form in self.lines.forms if form.has_changed() and not form.is_blank()]
        data = {
            "order_number": head["order_number"].strip(),
            "email": head["email"].strip(),
            "currency": head["currency"].strip(),
            "ship_to": {name: ship_to[name].strip() for name in SHIP_TO_FIELDS},
            "lines": [{name: form.cleaned_data[name].strip() for name in LINE_FIELDS}
                      for form in used],
        }  # fmt: skip
        return data, used

    def place(self, actor: str) -> Order | None:
        """The order, accepted and queued; None with the problems put on the fields."""
        if not (self.head.is_valid() and self.ship_to.is_valid() and self.lines.is_valid()):
            return None
        data, used = self.payload()
        serializer = OrderInputSerializer(data=data)
        if not serializer.is_valid():
            self._show(error_paths(serializer.errors), used)
            return None
        if taken := manual_order_numbered(serializer.validated_data["order_number"]):
            self.head.add_error(
                "order_number", f"Order {taken.order_number} already exists (id {taken.pk})."
            )
            return None
        incoming = serializer.to_incoming(source=Order.Source.MANUAL, payload=data)
        with transaction.atomic():
            order, created = accept_order(incoming, actor=actor)
        if not created:
            self.head.add_error("order_number", f"Order {order.order_number} already exists.")
            return None
        return order

    def _show(self, errors: dict[str, list[str]], used: list[LineForm]) -> None:
        """Each serializer message goes next to the field it is about."""
        for path, messages in errors.items():
            text = " ".join(messages)
            head, _, rest = path.partition(".")
            if path in self.head.fields:
                self.head.add_error(path, text)
            elif head == "ship_to" and rest in self.ship_to.fields:
                self.ship_to.add_error(rest, text)
            elif path.startswith("lines[") and "]." in path:
                index, _, name = path[len("lines[") :].partition("].")
                if index.isdigit() and int(index) < len(used) and name in LineForm.base_fields:
                    used[int(index)].add_error(name, text)
                else:
                    self.problems.append(f"{path}: {text}")
            elif path == "lines":
                self.problems.append(f"Lines: {text}")
            else:
                self.problems.append(f"{path}: {text}")
