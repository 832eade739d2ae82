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
    place.add_argument(
        "--quiet",
        action="store_true",
        help="fire no webhook: an order the hub never heard of (for backfill and reconciliation)",
    )
    place.add_argument("--days-ago", type=float, help="placed that many days ago")
    place.add_argument("--status", help="the order's status (default Pending), e.g. Completed")
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
    _add_disagreement_commands(subs)
    _add_onboarding_commands(subs)
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


def _add_disagreement_commands(subs: argparse._SubParsersAction) -> None:
    """The fakes made to disagree with the hub on purpose, for reconciliation to find."""
    delete = subs.add_parser("delete-shipstation-order", help="remove a ShipStation order")
    delete.add_argument("order", help="ShipStation order number, orderKey or orderId")
    total = subs.add_parser("set-shipstation-total", help="change a ShipStation orderTotal")
    total.add_argument("order", help="ShipStation order number, orderKey or orderId")
    total.add_argument("total")
    duplicate = subs.add_parser(
        "duplicate-erp-order", help="a second M3 order under the same customer order ref (CUOR)"
    )
    duplicate.add_argument("order", help="M3 order number (ORNO) or CUOR")
    duplicate.add_argument("--tenant", required=True, help="the tenant slug whose M3 it is")


DISAGREEMENTS = {
    "delete-shipstation-order": ("shipstation", "delete-order"),
    "set-shipstation-total": ("shipstation", "set-order-total"),
    "duplicate-erp-order": ("m3", "duplicate-order"),
}


def _disagreement_call(action: str, options: dict) -> tuple[str, str, dict]:
    upstream, control_action = DISAGREEMENTS[action]
    payload = {"order": options["order"]}
    for name in ("total", "tenant"):
        if options.get(name) is not None:
            payload[name] = options[name]
    return upstream, control_action, payload


def _add_onboarding_commands(subs: argparse._SubParsersAction) -> None:
    """What a new tenant brings along: a shop, an M3 and a ShipStation account."""
    store = subs.add_parser(
        "add-store", help="a new shop with products, customers and stock, in API2Cart"
    )
    store.add_argument("name", help="short name, e.g. initech-shop")
    store.add_argument("--platform", default="Shopify", help="API2Cart cart_id (default Shopify)")
    store.add_argument("--display-name")
    store.add_argument("--products", type=int, default=20, help="how many (default 20)")
    store.add_argument("--currency", default="USD", help="USD, EUR, GBP, CAD or SEK")
    store.add_argument("--sku-prefix", help="default: the name's first three letters")
    erp = subs.add_parser("add-erp-tenant", help="a new ION tenant (M3) and its .ionapi file")
    erp.add_argument("name", help="the tenant's slug, e.g. initech")
    erp.add_argument("--store", help="create an M3 item for every SKU this store sells")
    erp.add_argument("--display-name")
    erp.add_argument("--company", help="CONO, three digits (default 500)")
    erp.add_argument("--division", help="DIVI (default: the name's first three letters)")
    erp.add_argument("--warehouse", help="main WHLO, three digits (default 500)")
    erp.add_argument(
        "--ionapi-out", type=Path, help="where to write the .ionapi file (default ./NAME.ionapi)"
    )
    account = subs.add_parser("add-shipstation-account", help="a new ShipStation account")
    account.add_argument("name", help="the tenant's slug, e.g. initech")
    for sub in (store, erp, account):
        sub.add_argument("--json", action="store_true", help="print the control API's answer")


ONBOARDING = {
    "add-store": ("api2cart", "add-store", ("name", "platform", "display_name", "products",
                                            "currency", "sku_prefix")),
    "add-erp-tenant": ("m3", "add-tenant", ("name", "store", "display_name", "company",
                                            "division", "warehouse")),
    "add-shipstation-account": ("shipstation", "add-account", ("name",)),
}  # fmt: skip


def run_onboarding(options: dict[str, Any]) -> None:
    """Create it, then say what to type into the hub (or print the answer with --json)."""
    upstream, control_action, fields = ONBOARDING[options["action"]]
    payload = {name: options[name] for name in fields if options.get(name) is not None}
    if "products" in payload:
        payload["products"] = options["products"]
    try:
        answer = control_request(options["url"], f"{upstream}/{control_action}", payload)
    except SandboxError as exc:
        raise CommandError(str(exc)) from None
    if options["action"] == "add-erp-tenant":
        path = options.get("ionapi_out") or Path(f"{answer['tenant']}.ionapi")
        path.write_text(json.dumps(answer["ionapi"], indent=2) + "\n")
        answer["ionapi_path"] = str(path.resolve())
    if options["json"]:
        print(json.dumps(answer, indent=2))
        return
    print(_onboarding_text(options["action"], answer))


def _onboarding_text(action: str, answer: dict[str, Any]) -> str:
    if action == "add-store":
        labels = answer["credential_labels"]
        return "\n".join([
            f"Store {answer['store']} ({answer['platform_name']}, {answer['currency']}): "
            f"{answer['products']} products ({answer['skus']} SKUs), "
            f"{answer['customers']} customers.",
            "Platform admin › Stores › Connect a new store:",
            f"  Platform: {answer['platform_name']}",
            f"  Store URL: {answer['url']}",
            *(f"  {answer['platform_name']} {labels[name]}: {value}"
              for name, value in answer["credentials"].items()),
            "or Platform admin › Stores › Add store, with",
            f"  Store key: {answer['store_key']}",
            "then add the tenant as a member and run Register webhooks.",
        ])  # fmt: skip
    if action == "add-erp-tenant":
        return "\n".join([
            f"ION tenant {answer['ion_tenant']}: {answer['items']} items in warehouses "
            f"{', '.join(answer['warehouses'])}.",
            "Tenant portal › Connection settings › ERP:",
            f"  Upload .ionapi file: {answer['ionapi_path']}",
            f"  ERP company (CONO): {answer['company']}",
            f"  ERP division (DIVI): {answer['division']}",
            f"  Default warehouse (WHLO): {answer['warehouse']}",
            f"  Order type (ORTP): {answer['order_type']}",
            f"  Customer template (CUNO): {answer['customer_template']}",
            f"  Default customer (CUNO): {answer['default_customer']}",
        ])  # fmt: skip
    return "\n".join([
        f"ShipStation account {answer['account']}.",
        "Tenant portal › Connection settings › ShipStation:",
        f"  ShipStation base URL: {answer['base_url']}",
        f"  ShipStation API key: {answer['api_key']}",
        f"  ShipStation API secret: {answer['api_secret']}",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    options = vars(build_parser().parse_args(argv))
    if options["action"] == "serve":
        run_serve(options)
        return 0
    try:
        if options["action"] in ONBOARDING:
            run_onboarding(options)
        else:
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
    if action in DISAGREEMENTS:
        return _disagreement_call(action, options)
    if action == "place-orders":
        payload = {"store": options["store"], "count": options["count"]}
        if options["quiet"]:
            payload["quiet"] = True
        for name in ("days_ago", "status"):
            if options[name] is not None:
                payload[name] = options[name]
        return "api2cart", action, payload
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
