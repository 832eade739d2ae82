"""The portal's tenant task: measure the visited tenant and store its figures (thin)."""

from __future__ import annotations

from core.tenant_tasks import tenant_task
from portal import flow_lag


@tenant_task(name=flow_lag.REFRESH_TASK)
def refresh_tenant_figures() -> str:
    row = flow_lag.refresh_figures()
    return f"figures of tenant {row.tenant_id} as of {row.as_of:%H:%M:%S}"
