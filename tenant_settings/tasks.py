"""Background checks of a tenant's connection settings."""

from __future__ import annotations

from core.tenant_tasks import tenant_task
from tenant_settings.models import ConnectionSettings
from tenant_settings.services import test_connection
from tenants.activity import record_activity


@tenant_task(name="tenant_settings.check_connection")
def check_connection() -> bool:
    """Runs the same test as the portal button, e.g. after credentials were rotated."""
    report = test_connection(ConnectionSettings.load())
    record_activity(
        "connection.tested",
        actor="worker",
        outcome="success" if report.ok else "failure",
        message="; ".join(report.lines),
    )
    return report.ok
