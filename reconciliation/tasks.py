"""Tenant tasks of reconciliation (thin: the work is in the services)."""

from __future__ import annotations

from core import work
from core.tenant_tasks import tenant_task
from reconciliation import fixes, services
from reconciliation.models import Finding, ReconciliationRun


@tenant_task(name="reconciliation.reconcile")
def reconcile(run_id: int) -> str:
    return work.process(ReconciliationRun, run_id, services.reconcile)


@tenant_task(name="reconciliation.fix")
def fix(finding_id: int) -> str:
    return work.process(Finding, finding_id, fixes.fix)
