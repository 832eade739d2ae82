"""`manage.py backfill_orders`: a store's orders of a date range, into one tenant.

Counts first (what the portal's confirmation page shows); without `--dry-run` imports at once,
in this process, on the work-item core like a worker would (lease, attempts, position saved
page by page: run it again after a crash and it resumes).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from datetime import time as day_time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from core import work
from orders.intake import backfill as service
from orders.models import Backfill
from tenants.models import Store, StoreMembership, Tenant


def _day(value: str, end: bool) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, day_time.max if end else day_time.min, tzinfo=UTC)


class Command(BaseCommand):
    help = "Import a store's orders created between two dates into a tenant (a backfill)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--store", required=True, type=int, help="store id")
        parser.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (inclusive)")
        parser.add_argument("--dry-run", action="store_true", help="count only")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--history-only", action="store_true", help="keep every order as history only"
        )
        mode.add_argument(
            "--full",
            action="store_true",
            help="open orders go through the pipeline (the default; done orders: history only)",
        )

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}")
        store = Store.objects.select_related("account").filter(pk=options["store"]).first()
        if store is None or not StoreMembership.objects.filter(store=store, tenant=tenant).exists():
            raise CommandError(f"Store {options['store']} is not a store of {tenant.slug}")
        start, end = _day(options["start"], False), _day(options["end"], True)
        mode = Backfill.Mode.HISTORY if options["history_only"] else Backfill.Mode.FULL
        with schema_context(tenant.schema_name):
            if options["dry_run"]:
                counted = service.dry_run(store, start, end)
                self._print_dry_run(counted.orders, counted.known, counted.done,
                                    counted.reached.unreachable)  # fmt: skip
                return
            try:
                backfill = service.request_backfill(
                    store, start, end, mode=mode, requested_by="manage.py backfill_orders"
                )
            except service.BadRange as exc:
                raise CommandError(str(exc)) from None
            self._run(backfill)

    def _run(self, backfill: Backfill) -> None:
        work.process(Backfill, backfill.pk, service.step)
        backfill.refresh_from_db()
        if backfill.state != Backfill.State.COUNTED:
            raise CommandError(f"Counting failed: {backfill.last_error}")
        self._print_dry_run(backfill.orders_total, backfill.orders_known, backfill.orders_done,
                            backfill.unreachable)  # fmt: skip
        service.confirm(backfill)
        clock = time.monotonic()
        work.process(Backfill, backfill.pk, service.step)
        backfill.refresh_from_db()
        seconds = time.monotonic() - clock
        if backfill.state != Backfill.State.DONE:
            raise CommandError(
                f"Backfill #{backfill.pk} is {backfill.get_state_display()}: "
                f"{backfill.last_error} (a worker resumes it where it stopped)"
            )
        rate = backfill.orders_read / seconds if seconds else 0
        self.stdout.write(
            f"Backfill #{backfill.pk}: {backfill.orders_read} read, {backfill.orders_new} new, "
            f"{backfill.orders_existing} already in the hub, {backfill.orders_refused} not "
            f"imported, in {seconds:.1f} s ({rate:.0f} orders/s)."
        )

    def _print_dry_run(self, orders: int, known: int, done: int, unreachable: str) -> None:
        self.stdout.write(
            f"{orders} orders in the range, {known} already in the hub, {done} already done "
            "in the store (history only)."
        )
        if unreachable:
            self.stdout.write(f"Not reachable: {unreachable}")
