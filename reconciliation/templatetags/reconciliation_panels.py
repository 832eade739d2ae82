"""The platform front page's reconciliation table: the tenants whose last run found mismatches,
from the figures stored per tenant in public (`TenantFigures`, key "reconciliation", written
when the sweeper visits the tenant), so the panel costs two queries whatever the number of
tenants."""

from __future__ import annotations

from django import template
from django.db.models import Count, F, Q
from django.utils.dateparse import parse_datetime

from core.sweeper import active_tenants
from reconciliation.models import Finding
from tenants.models import TenantFigures

register = template.Library()

LISTED = 20


@register.inclusion_tag("admin/reconciliation/platform_panel.html")
def reconciliation_platform_panel() -> dict:
    labels = dict(Finding.Kind.choices)
    stored = TenantFigures.objects.filter(tenant__in=active_tenants())
    mismatching = stored.filter(figures__reconciliation__mismatches__gt=0)
    rows = []
    for name, run in mismatching.order_by(
        F("figures__reconciliation__mismatches").desc(), "tenant__name"
    ).values_list("tenant__name", "figures__reconciliation")[:LISTED]:
        kinds = [(labels.get(k, k), n) for k, n in sorted(run["counts"].items())]
        finished = parse_datetime(run["finished_at"]) if run["finished_at"] else None
        rows.append({"tenant": name, "run": {**run, "finished_at": finished}, "kinds": kinds})
    totals = stored.aggregate(
        run=Count("pk", filter=Q(figures__reconciliation__mismatches__isnull=False)),
        mismatching=Count("pk", filter=Q(figures__reconciliation__mismatches__gt=0)),
    )
    return {
        "rows": rows,
        "more": totals["mismatching"] - len(rows),
        "clean": totals["run"] - totals["mismatching"],
    }
