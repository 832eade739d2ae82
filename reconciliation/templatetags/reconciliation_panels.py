"""The platform front page's reconciliation table: each tenant's last run, from its stored
counts (one query per tenant, whatever the number of orders)."""

from __future__ import annotations

from django import template
from django_tenants.utils import schema_context

from core.sweeper import active_tenants
from reconciliation.models import Finding, ReconciliationRun

register = template.Library()


@register.inclusion_tag("admin/reconciliation/platform_panel.html")
def reconciliation_platform_panel() -> dict:
    labels = dict(Finding.Kind.choices)
    rows = []
    for tenant in active_tenants().order_by("name"):
        with schema_context(tenant.schema_name):
            run = ReconciliationRun.objects.filter(state=ReconciliationRun.State.DONE).first()
        kinds = [(labels.get(k, k), n) for k, n in sorted((run.counts if run else {}).items())]
        rows.append({"tenant": tenant, "run": run, "kinds": kinds})
    return {"rows": rows}
