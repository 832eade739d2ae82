"""Checking a tenant's upstream credentials from the portal."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from workspace.models import ConnectionSettings


@dataclass
class ConnectionReport:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def add(self, ok: bool, line: str) -> None:
        self.ok = self.ok and ok
        self.lines.append(line)


def test_connection(settings_row: ConnectionSettings) -> ConnectionReport:
    """Ask each configured upstream something cheap; record the outcome on the settings row."""
    report = ConnectionReport()
    report.add(False, "ERP: not reachable (the ION API connector is not installed yet).")
    settings_row.last_tested_at = timezone.now()
    settings_row.last_test_result = "\n".join(report.lines)
    settings_row.save(update_fields=["last_tested_at", "last_test_result"])
    return report
