"""`manage.py sandbox ...`: drive a running sandbox (place orders, ship, pay, inject faults)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration_hub.sandbox.testing import SandboxError, control_request


def _order_or_all(sub: CommandParser, name: str, help_text: str) -> None:
    sub.add_argument(name, nargs="?", help=f"{help_text} number")
    sub.add_argument("--all", action="store_true", help="every pending one")


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Command(BaseCommand):
    help = "Control the local sandbox over HTTP (it must be running: manage.py run_sandbox)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default=getattr(settings, "SANDBOX_URL", "http://127.0.0.1:8900"),
            help="sandbox base URL (default: settings.SANDBOX_URL)",
        )
        subs = parser.add_subparsers(dest="action", required=True)
        place = subs.add_parser("place-orders", help="create shop orders and fire order.add")
        place.add_argument("--store", required=True)
        place.add_argument("--count", type=int, default=1)
        price = subs.add_parser("set-price", help="change an M3 sales price")
        price.add_argument("sku")
        price.add_argument("amount")
        stock = subs.add_parser("set-stock", help="change M3 stock on hand")
        stock.add_argument("sku")
        stock.add_argument("warehouse")
        stock.add_argument("qty", type=int)
        _order_or_all(subs.add_parser("deliver", help="deliver M3 orders"), "order", "ERP order")
        _order_or_all(
            subs.add_parser("ship", help="ship ShipStation orders"), "order", "ShipStation order"
        )
        _order_or_all(subs.add_parser("pay", help="pay M3 invoices"), "invoice", "invoice number")
        faults = subs.add_parser("faults", help="set or clear faults of one upstream")
        faults.add_argument("upstream", choices=("api2cart", "m3", "shipstation"))
        faults.add_argument("fault_values", nargs="*", metavar="key=value")
        faults.add_argument("--clear", action="store_true")
        status = subs.add_parser("status", help="counts of every fake")
        status.add_argument("--json", action="store_true")
        subs.add_parser("reset", help="drop all sandbox state and reseed the demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"]
        action = options["action"]
        try:
            if action == "status":
                self._status(control_request(url, "status"), options["json"])
                return
            if action == "reset":
                answer = control_request(url, "reset", {})
            else:
                upstream, control_action, payload = self._control_call(action, options)
                answer = control_request(url, f"{upstream}/{control_action}", payload)
        except SandboxError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(answer, indent=2))

    def _control_call(self, action: str, options: dict) -> tuple[str, str, dict]:
        if action == "place-orders":
            return "api2cart", action, {"store": options["store"], "count": options["count"]}
        if action == "set-price":
            return "m3", action, {"sku": options["sku"], "amount": options["amount"]}
        if action == "set-stock":
            payload = {"sku": options["sku"], "warehouse": options["warehouse"]}
            return "m3", action, {**payload, "qty": options["qty"]}
        if action in ("deliver", "ship", "pay"):
            key = "invoice" if action == "pay" else "order"
            if not options[key] and not options["all"]:
                raise CommandError(f"{action}: give the {key} number, or --all")
            upstream = "shipstation" if action == "ship" else "m3"
            return upstream, action, {key: options[key], "all": options["all"]}
        if options["clear"]:
            return options["upstream"], "faults", {"clear": True}
        if not options["fault_values"]:
            raise CommandError("faults: give key=value settings or --clear")
        payload = {}
        for item in options["fault_values"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"faults: expected key=value, got {item!r}")
            payload[key] = _parse_value(value)
        return options["upstream"], "faults", payload

    def _status(self, status: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(status))
            return
        width = max((len(key) for counts in status.values() for key in counts), default=10)
        for upstream, counts in status.items():
            self.stdout.write(self.style.MIGRATE_HEADING(upstream))
            for key, value in counts.items():
                self.stdout.write(f"  {key:<{width}}  {value:>8}")
