"""Erase (or export) one customer of one tenant, as the portal's erasure page does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from privacy.erasure import Person, counts_text, erase, export_customer, find_customer
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Find one customer of a tenant by e-mail or store customer id, show what the hub "
        "holds and what outside systems still hold, optionally export it as JSON, and erase it "
        "after confirmation (audited). Running it again finds nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--email")
        who.add_argument("--customer-id", dest="customer_id")
        parser.add_argument("--dry-run", action="store_true", help="Show, export; erase nothing.")
        parser.add_argument("--yes", action="store_true", help="Erase without asking.")
        parser.add_argument("--export", metavar="FILE", help="Write what the hub holds as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"], is_template=False).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {options['tenant']!r}.")
        try:
            person = Person(email=options["email"] or "", customer_id=options["customer_id"] or "")
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        with schema_context(tenant.schema_name):
            findings = find_customer(person)
            self.stdout.write(f"Found in {tenant.slug}: {counts_text(findings.records)}.")
            if findings.open_orders:
                self.stdout.write(
                    f"Warning: {findings.open_orders} of the orders are still on their way; "
                    "erasing removes their address, so they cannot be sent on."
                )
            if findings.shared_inbox_waiting:
                self.stdout.write(
                    f"{findings.shared_inbox_waiting} shared-store deliveries wait for other "
                    "tenants' parts: left alone (cut once every part is accepted)."
                )
            for held in findings.outside:
                self.stdout.write(
                    f"Still held by {held.system}: {', '.join(held.references)}. {held.what_to_do}"
                )
            if options["export"]:
                Path(options["export"]).write_text(
                    json.dumps(export_customer(findings), indent=2, default=str)
                )
                self.stdout.write(f"Exported to {options['export']}.")
            if options["dry_run"] or not findings.found_anything:
                self.stdout.write("Nothing erased.")
                return
            if not options["yes"] and input("Erase it? Type 'yes': ").strip() != "yes":
                self.stdout.write("Nothing erased.")
                return
            erasure = erase(findings, actor="manage.py erase_customer", via="command")
            self.stdout.write(
                self.style.SUCCESS(f"Erased ({erasure.summary}); audit #{erasure.pk}.")
            )
