"""Checking a tenant's upstream credentials from the portal.

Each upstream gets one of four outcomes, so a person knows what to do: *not configured*
(nothing entered yet), *refused* (the upstream answered no: wrong key, unknown company or
customer), *not reachable* (no answer, a timeout, a 5xx, or an address the hub may not call),
or connected. Beyond the credentials the ERP check reads what the M3 contract offers a read for:
the customer template with `CRS610MI/GetBasicData`, which also proves the company (the call is
made for it) and names the template's division. The contract lists no read of a warehouse or an
order type, so those are shown as not checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from connectors.errors import (
    AddressNotAllowedError,
    M3TransactionError,
    PermanentError,
    UpstreamError,
)
from connectors.m3 import M3Client
from core.upstream_urls import REFUSED_UPSTREAM_MESSAGE
from tenant_settings.connection_clients import erp_client, shipstation_client
from tenant_settings.models import ConnectionSettings

CONNECTED, NOT_CONFIGURED, REFUSED, UNREACHABLE, NOT_CHECKED = (
    "connected", "not configured", "refused", "not reachable", "not checked"
)  # fmt: skip
NO_READ = "not checked: the M3 contract lists no transaction that reads one"


@dataclass
class Check:
    """One thing the test looked at, and what became of it."""

    upstream: str
    subject: str
    outcome: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in (CONNECTED, NOT_CHECKED)

    @property
    def line(self) -> str:
        subject = f"{self.upstream} {self.subject}".strip()
        return f"{subject}: {self.detail}" if self.detail else f"{subject}: {self.outcome}."


@dataclass
class ConnectionReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def lines(self) -> list[str]:
        return [check.line for check in self.checks]

    def add(self, upstream: str, subject: str, outcome: str, detail: str = "") -> None:
        self.checks.append(Check(upstream, subject, outcome, detail))


def _describe(exc: Exception) -> str:
    """The upstream's words, except for refused addresses: one text for all of them, so the
    test cannot be used to probe which internal hosts and ports exist."""
    if isinstance(exc, AddressNotAllowedError):
        return f"{REFUSED_UPSTREAM_MESSAGE}."
    hint = getattr(exc, "hint", "")
    text = str(exc)
    return f"{text} — {hint}" if hint and hint != getattr(exc, "message", "") else text


def _failure(exc: UpstreamError) -> str:
    """Refused when the upstream said no; not reachable when it did not answer (or the hub
    may not call the address)."""
    if isinstance(exc, PermanentError) and not isinstance(exc, AddressNotAllowedError):
        return REFUSED
    return UNREACHABLE


def _outcome_line(outcome: str, exc: Exception) -> str:
    return f"{outcome}: {_describe(exc)}"


def check_erp(row: ConnectionSettings, report: ConnectionReport) -> None:
    """Credentials, then the customer template (with the company and its division)."""
    if not row.erp_ionapi:
        report.add("ERP", "", NOT_CONFIGURED, "not configured: upload the tenant's .ionapi file.")
        return
    try:
        erp = erp_client(row)
    except ValueError as exc:
        report.add("ERP", "", REFUSED, f"refused: the stored .ionapi file is unreadable ({exc}).")
        return
    try:
        erp.execute("CRS610MI", "LstByNumber", max_records=1)
    except M3TransactionError as exc:
        if row.erp_company and (exc.code == "XAU0008" or exc.field == "CONO"):
            report.add("ERP", f"company {row.erp_company}", REFUSED, _outcome_line(REFUSED, exc))
            return
        report.add("ERP", "", REFUSED, _outcome_line(REFUSED, exc))
        return
    except UpstreamError as exc:
        report.add("ERP", "", _failure(exc), _outcome_line(_failure(exc), exc))
        return
    report.add("ERP", "", CONNECTED, f"connected to ION tenant {erp.credentials.tenant}.")
    _check_template(erp, row, report)
    for subject, value in (("warehouse", row.erp_warehouse), ("order type", row.erp_order_type)):
        report.add("ERP", f"{subject} {value}".strip(), NOT_CHECKED, f"{NO_READ}.")


def _check_template(erp: M3Client, row: ConnectionSettings, report: ConnectionReport) -> None:
    template = row.erp_customer_template
    if not template:
        detail = "not configured: enter the customer template new web customers are made from."
        report.add("ERP", "customer template", NOT_CONFIGURED, detail)
        report.add("ERP", "company and division", NOT_CHECKED, "not checked without a template.")
        return
    try:
        customer = erp.get_customer(template)
    except UpstreamError as exc:
        outcome = _failure(exc)
        report.add("ERP", f"customer template {template}", outcome, _outcome_line(outcome, exc))
        return
    if customer is None:
        detail = f"refused: the ERP has no customer {template} (CRS610MI/GetBasicData)."
        report.add("ERP", f"customer template {template}", REFUSED, detail)
        return
    report.add("ERP", f"customer template {template}", CONNECTED, "found (CRS610MI/GetBasicData).")
    company = customer.raw.get("CONO", "")
    if row.erp_company and company and company != row.erp_company:
        detail = f"refused: the template belongs to company {company}."
        report.add("ERP", f"company {row.erp_company}", REFUSED, detail)
    elif row.erp_company:
        report.add("ERP", f"company {row.erp_company}", CONNECTED, "the template answered for it.")
    _check_division(customer.raw.get("DIVI", ""), row.erp_division, report)


def _check_division(answered: str, configured: str, report: ConnectionReport) -> None:
    subject = f"division {configured}".strip()
    if not configured:
        return
    if not answered:
        report.add("ERP", subject, NOT_CHECKED, "not checked: the template names no division.")
    elif answered != configured:
        detail = f"refused: the customer template belongs to division {answered}."
        report.add("ERP", subject, REFUSED, detail)
    else:
        report.add("ERP", subject, CONNECTED, "the customer template belongs to it.")


def check_shipstation(row: ConnectionSettings, report: ConnectionReport) -> None:
    """`GET /stores`: the cheapest authenticated read."""
    if not (row.shipstation_api_key and row.shipstation_api_secret):
        detail = "not configured: enter the ShipStation API key and secret."
        report.add("ShipStation", "", NOT_CONFIGURED, detail)
        return
    try:
        stores = shipstation_client(row).list_stores()
    except UpstreamError as exc:
        outcome = _failure(exc)
        report.add("ShipStation", "", outcome, _outcome_line(outcome, exc))
        return
    detail = f"connected ({len(stores)} store(s) on the account)."
    report.add("ShipStation", "", CONNECTED, detail)


def test_connection(settings_row: ConnectionSettings) -> ConnectionReport:
    """Ask each upstream something cheap; record the outcome on the settings row."""
    report = ConnectionReport()
    check_erp(settings_row, report)
    check_shipstation(settings_row, report)
    settings_row.last_tested_at = timezone.now()
    settings_row.last_test_result = "\n".join(report.lines)
    settings_row.save(update_fields=["last_tested_at", "last_test_result"])
    return report
