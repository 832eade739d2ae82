"""The order page is assembled by the portal from what each app offers: nothing patches another
app's admin (ARCHITECTURE §3)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from django.urls import reverse
from django_tenants.utils import schema_context

from core.admin_sites import tenant_admin
from orders.changes.admin import OrderChangeInline
from orders.models import Order

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "inbox", "tenants", "tenant_settings", "orders", "catalog", "shipping",
        "invoicing", "operations", "portal", "demo"]  # fmt: skip
ORDERS_OWN_ACTIONS = ["retry_orders", "replay_orders", "cancel_orders"]
PORTAL_ACTIONS = ["mark_erp_batches_checked"]


def test_importing_the_lower_apps_admin_leaves_orders_admin_as_orders_wrote_it():
    from orders.admin import OrderAdmin

    for module in ("shipping.admin", "invoicing.admin", "catalog.admin"):
        importlib.import_module(module)
    assert OrderAdmin.inlines == [OrderChangeInline]
    assert OrderAdmin.actions == ORDERS_OWN_ACTIONS


def test_the_portal_registers_the_assembled_order_admin_on_the_tenant_site():
    from invoicing.admin import InvoiceInline, generate_invoices
    from orders.admin import OrderAdmin
    from portal.admin import PortalOrderAdmin
    from shipping.admin import ShipmentInline

    registered = tenant_admin.get_model_admin(Order)
    assert type(registered) is PortalOrderAdmin and issubclass(PortalOrderAdmin, OrderAdmin)
    assert registered.inlines == [OrderChangeInline, ShipmentInline, InvoiceInline]
    assert registered.actions == [*ORDERS_OWN_ACTIONS, generate_invoices, *PORTAL_ACTIONS]
    assert Order._meta.app_label == "orders"
    for name, args in [
        ("changelist", []), ("change", [1]), ("add", []), ("needs_attention", []),
        ("skus", []), ("upload_csv", []),
    ]:  # fmt: skip
        assert reverse(f"tenant_admin:orders_order_{name}", args=args).startswith(
            "/admin/orders/order/"
        )


def test_the_order_page_shows_what_shipping_and_invoicing_offer(acme_admin, acme):
    with schema_context("acme"):
        order = Order.objects.create(
            source=Order.Source.API, store_order_id="ASM-1", order_number="ASM-1"
        )
    page = acme_admin.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    inlines = [formset.opts.model._meta.label for formset in page.context["inline_admin_formsets"]]
    assert inlines == ["orders.OrderChange", "shipping.Shipment", "invoicing.Invoice"]
    actions = [name for name, _ in page.context["action_choices"]]
    assert actions == [*ORDERS_OWN_ACTIONS, "generate_invoices", *PORTAL_ACTIONS]


MUTATORS = {"append", "extend", "insert"}


def _changed(node: ast.AST) -> list[ast.AST]:
    """What a statement or call changes in place: assignment targets, setattr's object, the list
    an append/extend/insert grows."""
    if isinstance(node, ast.Assign | ast.Delete):
        return list(node.targets)
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    if not isinstance(node, ast.Call):
        return []
    func = node.func
    if isinstance(func, ast.Name) and func.id in {"setattr", "delattr"} and node.args:
        return [ast.Attribute(value=node.args[0], attr="?")]
    if isinstance(func, ast.Attribute) and func.attr in MUTATORS:
        return [func.value]
    return []


def _root(node: ast.AST) -> str | None:
    """The name an attribute or item chain starts from: `OrderAdmin` in `OrderAdmin.inlines`."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _patches(path: Path, package: str) -> Iterator[str]:
    """Changes a module makes to what it imported from another app (its attributes or items)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    foreign: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top = node.module.split(".")[0]
            if top in APPS and top != package:
                foreign |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in APPS and top != package:
                    foreign.add(alias.asname or top)
    for node in ast.walk(tree):
        for target in _changed(node):
            rebinds = isinstance(target, ast.Name) and not isinstance(node, ast.Call)
            if not rebinds and _root(target) in foreign:
                yield f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}"


def test_no_app_changes_what_it_imports_from_another_app():
    found = [
        patch
        for package in APPS
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for patch in _patches(path, package)
    ]
    assert found == []
