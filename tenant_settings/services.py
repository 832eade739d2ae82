"""Checking a tenant's upstream credentials from the portal."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from connectors.errors import AddressNotAllowedError, UpstreamError
from core.upstream_urls import REFUSED_UPSTREAM_MESSAGE
from tenant_settings.connection_clients import erp_client, shipstation_client
from tenant_settings.models import ConnectionSettings


@dataclass
class ConnectionReport:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def add(self, ok: bool, line: str) -> None:
        self.ok = self.ok and ok
        self.lines.append(line)


def _describe(exc: Exception) -> str:
    """The upstream's words, except for refused addresses: one text for all of them, so the
    test cannot be used to probe which internal hosts and ports exist."""
    if isinstance(exc, AddressNotAllowedError):
        return f"{REFUSED_UPSTREAM_MESSAGE}."
    hint = getattr(exc, "hint", "")
    text = str(exc)
    return f"{text} — {hint}" if hint and hint != getattr(exc, "message", "") else text


def test_connection(settings_row: ConnectionSettings) -> ConnectionReport:
    """Ask each upstream something cheap; record the outcome on the settings row."""
    report = ConnectionReport()
    try:
        erp = erp_client(settings_row)
        erp.execute("CRS610MI", "LstByNumber", max_records=1)
        report.add(True, f"ERP: connected to ION tenant {erp.credentials.tenant}.")
    except (UpstreamError, ValueError) as exc:
        report.add(False, f"ERP: not reachable: {_describe(exc)}")
    try:
        stores = shipstation_client(settings_row).list_stores()
        report.add(True, f"ShipStation: connected ({len(stores)} store(s) on the account).")
    except UpstreamError as exc:
        report.add(False, f"ShipStation: not reachable: {_describe(exc)}")
    settings_row.last_tested_at = timezone.now()
    settings_row.last_test_result = "\n".join(report.lines)
    settings_row.save(update_fields=["last_tested_at", "last_test_result"])
    return report
