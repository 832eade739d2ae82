"""Platform profiles: how a store's platform shapes API2Cart's answers and which rules it adds.

API2Cart passes each platform's habits through (contract §1.8, §7.13, §7.15-22). The fake keeps
every document in one clean shape and a store's profile reshapes answers on the way out, so a
store can switch profile at any time (`store-settings` control action, `DemoStore.profile`).
`clean` changes nothing; `ebay`, `amazon`, `walmart`, `etsy` and `bol` each reproduce a share of
the quirks, the money ones included: eBay's wrapped lines (§7.19), Walmart's tax-inclusive line
totals (§7.20), Etsy's subtotal after the discount (§7.21) and Bol's sentence for a shipment id
(§7.22).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sandbox.api2cart.shared import A2C_FORMAT, A2CError, RawItems, csv, invalid, money, text


@dataclass(frozen=True)
class Profile:
    name: str
    wrap_objects: bool = False
    """customer, addresses, totals, currency and shipment tracking in one-element arrays."""
    plain_dates: bool = False
    """Dates as "Y-m-d H:i:s" strings instead of `{value, format}` objects."""
    date_offset_minutes: int = 0
    """Date objects written in this UTC offset (e.g. +0200) instead of +0000."""
    string_booleans: tuple[str, str] | None = None
    """(true, false) texts every boolean is written as, e.g. ("True", "False")."""
    empty_id: bool = False
    totals_null: bool = False
    """`totals` null, the money only under `total`."""
    null_optional: bool = False
    """billing address, payment and shipping method and address state null."""
    int_store_id: bool = False
    variant_model: str | None = "keep"
    """A variant line's `model`: "keep", "" or None (null)."""
    null_modified: bool = False
    wrap_stores_info: bool = False
    """cart.info `stores_info` as `[{store_info: [...]}]`."""
    max_window_days: int | None = None
    max_lookback_days: int | None = None
    modified_to_required: bool = False
    validate_carriers: bool = False
    pending_jobs: bool = False
    """Unfinished batch jobs read `pending`; their result answers code 12."""
    errors_result_list: bool = False
    """Errors carry `result: []` instead of `{}`."""
    batch_methods: bool = True
    """Offers API2Cart's batch product methods; without them `cart.methods` lists none and a
    batch call answers code 107, so products are updated one by one."""
    line_wrapper: str | None = None
    """Each `order_products` entry of an `order.info`/`order.list` answer asked with
    `params=*` (or `{*}`) sent as `{line_wrapper: [line]}` (§7.19)."""
    gross_line_totals: bool = False
    """A line's `total_price` includes its tax; `price` and `totals.subtotal` stay net (§7.20)."""
    subtotal_after_discount: bool = False
    """`totals.subtotal` and `total.subtotal_ex_tax` reported with the discount taken off;
    the discount is still in `totals.discount` (§7.21)."""
    shipment_added_answer: str | None = None
    """`order.shipment.add` answers this text as `shipment_id` instead of the new shipment's id;
    `order.shipment.list` lists the shipment with its id (§7.22)."""


PROFILES = {
    "clean": Profile("clean"),
    "ebay": Profile(
        "ebay",
        wrap_objects=True,
        plain_dates=True,
        string_booleans=("True", "False"),
        empty_id=True,
        int_store_id=True,
        variant_model="",
        max_window_days=30,
        max_lookback_days=90,
        errors_result_list=True,
        wrap_stores_info=True,
        line_wrapper="product",
    ),
    "amazon": Profile(
        "amazon",
        date_offset_minutes=120,
        totals_null=True,
        null_optional=True,
        variant_model=None,
        null_modified=True,
        pending_jobs=True,
        errors_result_list=True,
    ),
    "walmart": Profile(
        "walmart",
        string_booleans=("1", "0"),
        int_store_id=True,
        null_modified=True,
        modified_to_required=True,
        validate_carriers=True,
        pending_jobs=True,
        errors_result_list=True,
        gross_line_totals=True,
    ),
    "etsy": Profile("etsy", subtotal_after_discount=True),
    "bol": Profile("bol", modified_to_required=True, shipment_added_answer="shipment created"),
    "basic": Profile("basic", batch_methods=False),
}
BATCH_METHODS = ("product.update.batch", "product.variant.update.batch")
CARRIERS = ("ups", "usps", "fedex", "dhl")
WRAPPED_ORDER_FIELDS = ("customer", "billing_address", "shipping_address", "totals", "currency")


def profile(name: str | None) -> Profile:
    return PROFILES.get(name or "clean", PROFILES["clean"])


# --- rules checked before a method runs ---------------------------------------------------


def check_rules(rules: Profile, method: str, args: dict, now: datetime) -> None:
    """The platform's own refusals (code 109), as API2Cart passes them through."""
    if method in BATCH_METHODS and not rules.batch_methods:
        raise A2CError(107, f"Method {method} is not supported by this cart.")
    if method in ("order.list", "order.count") and not text(args, "page_cursor"):
        check_order_dates(rules, args, now)
    if method == "order.shipment.add" and rules.validate_carriers:
        for tracking in args.get("tracking_numbers") or []:
            carrier = str((tracking or {}).get("carrier_id") or "")
            if carrier not in CARRIERS:
                raise invalid(
                    "carrier_id",
                    f"Carrier '{carrier}' is not supported. Valid carriers: {', '.join(CARRIERS)}.",
                )


def check_order_dates(rules: Profile, args: dict, now: datetime) -> None:
    start, end = _input_date(args, "modified_from"), _input_date(args, "modified_to")
    if rules.modified_to_required and start and not end:
        raise invalid("modified_to", "It is required together with modified_from.")
    if rules.max_window_days and start:
        span = (end or now) - start
        if span > timedelta(days=rules.max_window_days):
            raise invalid(
                "modified_from",
                f"The modified_from..modified_to range must not exceed "
                f"{rules.max_window_days} days.",
            )
    if rules.max_lookback_days:
        oldest = now - timedelta(days=rules.max_lookback_days)
        for name in ("modified_from", "created_from"):
            moment = _input_date(args, name)
            if moment and moment < oldest:
                raise invalid(name, f"It must not be older than {rules.max_lookback_days} days.")


def _input_date(args: dict, name: str) -> datetime | None:
    raw = text(args, name)
    if raw is None:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = datetime.strptime(raw.strip(), pattern)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None  # the method's own parsing answers the format error


def job_not_ready(rules: Profile, result: dict) -> None:
    """Code 12 for the result of an unfinished job, on platforms that answer so (§7.18)."""
    if rules.pending_jobs and result.get("status") not in (None, "processed"):
        raise A2CError(12, f"Job {result.get('job_id')} is not processed yet")


# --- answers reshaped on the way out ------------------------------------------------------


def shape_result(rules: Profile, method: str, result: Any, args: dict | None = None) -> Any:
    """A method's `result` (or list page) as the store's platform would have it; `args` are
    the call's arguments (some platforms answer differently to different `params`)."""
    if rules.name == "clean":
        return result
    if method == "cart.methods" and not rules.batch_methods:
        result["method"] = [name for name in result["method"] if name not in BATCH_METHODS]
    if method == "order.list":
        page = result["result"]
        page["order"] = [answered_order(rules, order, args) for order in _docs(page["order"])]
    elif method == "order.info":
        result = answered_order(rules, result, args)
    elif method == "order.shipment.add" and rules.shipment_added_answer is not None:
        result = {"shipment_id": rules.shipment_added_answer}
    elif method == "cart.info" and rules.wrap_stores_info and "stores_info" in result:
        result["stores_info"] = [{"store_info": result["stores_info"]}]
    elif method.startswith("batch.job.") and rules.pending_jobs:
        _pending_jobs(rules, method, result)
    return shape_values(rules, _decoded(result))


def _pending_jobs(rules: Profile, method: str, result: dict) -> None:
    """Unfinished jobs read `pending`, and their result is not ready (§7.18)."""
    if method == "batch.job.list":
        for job in result["result"]["jobs"]:
            if job.get("status") == "in_progress":
                job["status"] = "pending"
    elif method == "batch.job.result":
        job_not_ready(rules, result)


STAR_PARAMS = frozenset({"*", "{*}", "force_all"})
"""`params` values asking for every field, as the hub always does: eBay then wraps each line."""


def answered_order(rules: Profile, order: dict, args: dict | None) -> dict:
    """An order in an `order.info`/`order.list` answer: its platform shape, and eBay's
    wrapped lines where `params` asked for `*` (§7.19)."""
    order = shape_order(rules, order)
    asked = set(csv(args or {}, "params"))
    if rules.line_wrapper and asked & STAR_PARAMS and isinstance(order.get("order_products"), list):
        order["order_products"] = [{rules.line_wrapper: [line]} for line in order["order_products"]]
    return order


def shape_order(rules: Profile, order: dict) -> dict:
    """One order document (answer or webhook body) in the platform's shape."""
    if rules.name == "clean":
        return order
    order = json.loads(json.dumps(order))
    _shape_lines_and_totals(rules, order)
    if rules.empty_id and "id" in order:
        order["id"] = ""
    if rules.int_store_id and order.get("store_id") not in (None, ""):
        order["store_id"] = int(order["store_id"])
    if rules.null_modified and "modified_at" in order:
        order["modified_at"] = None
    if rules.totals_null and "totals" in order:
        order["totals"] = None
    if rules.null_optional:
        _null_optional_fields(order)
    if rules.wrap_objects:
        for name in WRAPPED_ORDER_FIELDS:
            if isinstance(order.get(name), dict):
                order[name] = [order[name]]
    return shape_values(rules, order)


def _shape_lines_and_totals(rules: Profile, order: dict) -> None:
    """Lines and totals as the platform reports them: the variant line's `model`, tax in the
    line totals (§7.20), the subtotal after the discount (§7.21)."""
    lines = [line for line in order.get("order_products") or [] if isinstance(line, dict)]
    for line in lines:
        if rules.variant_model != "keep" and line.get("variant_id"):
            line["model"] = rules.variant_model
        if rules.gross_line_totals and line.get("total_price") is not None:
            tax = line.get("tax_value_after_discount", line.get("tax_value"))
            line["total_price"] = money(_decimal(line["total_price"]) + _decimal(tax))
    if rules.subtotal_after_discount:
        _less(order.get("totals"), "subtotal", "discount")
        _less(order.get("total"), "subtotal_ex_tax", "total_discount")


def _less(values: Any, name: str, taken_off: str) -> None:
    """`values[name]` with `values[taken_off]` (if any) taken off, where `values[name]` is there."""
    if isinstance(values, dict) and values.get(name) is not None:
        values[name] = money(_decimal(values[name]) - abs(_decimal(values.get(taken_off))))


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _null_optional_fields(order: dict) -> None:
    """What some platforms leave out: addresses, methods and the ship-to state as null."""
    for name in ("billing_address", "payment_method", "shipping_method"):
        if name in order:
            order[name] = None
    if isinstance(order.get("shipping_address"), dict):
        order["shipping_address"]["state"] = None


def shape_values(rules: Profile, value: Any) -> Any:
    """Dates and booleans everywhere in a document, as the platform writes them."""
    if isinstance(value, bool):
        if rules.string_booleans:
            return rules.string_booleans[0] if value else rules.string_booleans[1]
        return value
    if isinstance(value, dict):
        if set(value) == {"value", "format"} and isinstance(value["value"], str):
            return _date(rules, value)
        return {key: shape_values(rules, item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape_values(rules, item) for item in value]
    return value


def _date(rules: Profile, value: dict) -> Any:
    try:
        moment = datetime.strptime(value["value"], "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return value
    if rules.plain_dates:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if rules.date_offset_minutes:
        zone = timezone(timedelta(minutes=rules.date_offset_minutes))
        return {
            "value": moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S%z"),
            "format": A2C_FORMAT,
        }
    return value


def _docs(items: Any) -> list:
    if isinstance(items, RawItems):
        return [json.loads(doc) for doc in items.docs]
    return list(items)


def _decoded(value: Any) -> Any:
    """Stored documents spliced raw (`RawItems`) decoded, so they can be reshaped."""
    if isinstance(value, RawItems):
        return _docs(value)
    if isinstance(value, dict):
        return {key: _decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value
