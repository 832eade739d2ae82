"""`python -m sandbox`: serve the upstream fakes, or drive a running sandbox over HTTP.

The sandbox is a program of its own (docs/adr-0004-sandbox-package.md), so its command line
needs no Django: defaults come from the environment variables the hub's settings read too
(`SANDBOX_URL`, `SANDBOX_STATE_DIR`, `HUB_PUBLIC_URL`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from sandbox.core import serve
from sandbox.testing import SandboxError, control_request

DEFAULT_URL = "http://127.0.0.1:8900"
HEADING = "36;1"  # bold cyan, as Django's MIGRATE_HEADING style printed the upstream names
ERROR = "31;1"


class CommandError(Exception):
    """Bad input or a refused control action: printed on stderr, exit status 1."""


def _sandbox_url() -> str:
    return os.environ.get("SANDBOX_URL") or DEFAULT_URL


def _default_port() -> int:
    url = os.environ.get("SANDBOX_URL")
    return (urlsplit(url).port if url else None) or 8900


def _styled(text: str, code: str, stream: TextIO) -> str:
    """Colour only a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _order_or_all(sub: argparse.ArgumentParser, name: str, help_text: str) -> None:
    sub.add_argument(name, nargs="?", help=f"{help_text} number")
    sub.add_argument("--all", action="store_true", help="every pending one")


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def build_parser() -> argparse.ArgumentParser:
    """`serve`, and the control commands (the same sub-commands and options as before the move)."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve the API2Cart, ION/M3 and ShipStation fakes, or control a running "
        "sandbox over HTTP (see docs/sandbox-design.md).",
    )
    parser.add_argument(
        "--url",
        default=_sandbox_url(),
        help=f"sandbox base URL for the control commands (default: $SANDBOX_URL or {DEFAULT_URL})",
    )
    subs = parser.add_subparsers(dest="action", required=True)

    serve_cmd = subs.add_parser("serve", help="run the fakes in the foreground")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument(
        "--port",
        type=int,
        default=_default_port(),
        help="default: the port of $SANDBOX_URL, else 8900; 0 picks a free port",
    )
    serve_cmd.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("SANDBOX_STATE_DIR") or "var/sandbox"),
        help="default: $SANDBOX_STATE_DIR or var/sandbox",
    )
    serve_cmd.add_argument(
        "--hub-url",
        default=os.environ.get("HUB_PUBLIC_URL") or "http://localhost:8000",
        help="the hub's own address (default: $HUB_PUBLIC_URL or http://localhost:8000)",
    )
    serve_cmd.add_argument("--log-level", default="INFO")

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
    _add_order_change_commands(subs)
    status = subs.add_parser("status", help="counts of every fake")
    status.add_argument("--json", action="store_true")
    subs.add_parser("reset", help="drop all sandbox state and reseed the demo data")
    return parser


def _add_order_change_commands(subs: argparse._SubParsersAction) -> None:
    """What a store does to an order after it was placed; each fires order.update."""

    def order_change(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = subs.add_parser(name, help=help_text)
        sub.add_argument("order_id", help="the order number or id that place-orders printed")
        sub.add_argument("--store", help="store name or key (default: the one with that order)")
        return sub

    cancel = order_change("cancel", "the store cancels an order")
    cancel.add_argument("--reason", help="comment on the status history entry")
    refund = order_change("refund", "the store refunds an order (all of it without options)")
    refund.add_argument("--amount", help="the refund's total")
    refund.add_argument("--line", action="append", metavar="SKU=QTY", help="refund lines")
    refund.add_argument("--shipping", help="shipping refunded")
    refund.add_argument("--comment")
    readdress = order_change("readdress", "the store changes the shipping address")
    for field in ("name", "address1", "address2", "city", "postcode", "country", "region"):
        readdress.add_argument(f"--{field}")
    edit = order_change("edit-lines", "the store changes line quantities (0 removes a line)")
    edit.add_argument("--set", action="append", required=True, metavar="SKU=QTY", dest="lines")


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    options = vars(build_parser().parse_args(argv))
    if options["action"] == "serve":
        run_serve(options)
        return 0
    try:
        run_control(options)
    except CommandError as exc:
        print(_styled(f"CommandError: {exc}", ERROR, sys.stderr), file=sys.stderr)
        return 1
    return 0


def run_serve(options: dict[str, Any]) -> None:
    """Serve until SIGINT or SIGTERM (both stop it cleanly)."""
    logging.basicConfig(
        level=options["log_level"].upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    serve(
        host=options["host"],
        port=options["port"],
        state_dir=options["state_dir"],
        hub_url=options["hub_url"],
    )


def run_control(options: dict[str, Any]) -> None:
    """One control call; the sandbox must be running (`python -m sandbox serve`)."""
    url = options["url"]
    action = options["action"]
    try:
        if action == "status":
            _print_status(control_request(url, "status"), options["json"])
            return
        if action == "reset":
            answer = control_request(url, "reset", {})
        else:
            upstream, control_action, payload = _control_call(action, options)
            answer = control_request(url, f"{upstream}/{control_action}", payload)
    except SandboxError as exc:
        raise CommandError(str(exc)) from None
    print(json.dumps(answer, indent=2))


ORDER_CHANGES = {
    "cancel": ("cancel-order", ("reason",)),
    "refund": ("refund-order", ("amount", "shipping", "comment", "line")),
    "readdress": (
        "readdress-order",
        ("name", "address1", "address2", "city", "postcode", "country", "region"),
    ),
    "edit-lines": ("edit-order-lines", ("lines",)),
}


def _order_change_call(action: str, options: dict) -> tuple[str, str, dict]:
    """`cancel|refund|readdress|edit-lines ORDER_ID ...` as an api2cart control action."""
    control_action, fields = ORDER_CHANGES[action]
    payload: dict[str, Any] = {"order_id": options["order_id"]}
    if options["store"]:
        payload["store"] = options["store"]
    for name in fields:
        if options.get(name) is None:
            continue
        if name in ("line", "lines"):
            payload["lines"] = [_sku_quantity(action, item) for item in options[name]]
        else:
            payload[name] = options[name]
    return "api2cart", control_action, payload


def _sku_quantity(action: str, item: str) -> dict:
    sku, sep, quantity = item.partition("=")
    if not sep or not sku or not quantity.strip().isdigit():
        raise CommandError(f"{action}: expected SKU=QTY with a whole quantity, got {item!r}")
    return {"sku": sku, "quantity": int(quantity)}


def _control_call(action: str, options: dict) -> tuple[str, str, dict]:
    if action in ORDER_CHANGES:
        return _order_change_call(action, options)
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


def _print_status(status: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status))
        return
    width = max((len(key) for counts in status.values() for key in counts), default=10)
    for upstream, counts in status.items():
        print(_styled(upstream, HEADING, sys.stdout))
        for key, value in counts.items():
            if isinstance(value, dict):  # a breakdown, e.g. M3 calls by transaction
                print(f"  {key}")
                names = max((len(name) for name in value), default=0)
                for name, count in sorted(value.items()):
                    print(f"    {name:<{names}}  {count:>8}")
                continue
            print(f"  {key:<{width}}  {value:>8}")
