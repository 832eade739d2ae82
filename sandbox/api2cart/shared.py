"""What the API2Cart fake's modules share: constants, errors, argument parsing, the registry.

Also field selection (`params`, `exclude`, `response_fields`), page cursors, webhook filtering
conditions and signatures, and the JSON encoding of answers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake


A2C_FORMAT = "Y-m-d\\TH:i:sO"
STORAGE_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"
MAX_COUNT = 250
CURSOR_PREFIX = "a2c/v1/"  # the "/" makes the URL-encoding of pagination.next visible
DEFAULT_COUNT = 10
IDEMPOTENCY_TTL = timedelta(minutes=15)
FAILED_WEBHOOK_TTL = timedelta(hours=24)
WEBHOOK_MAX_FAILURES = 5

MESSAGES = {
    1: "Service not available",
    2: "Incorrect API Key",
    3: "Method not specified",
    4: "Store access denied",
    7: "Store request limit exceeded. Please wait until the previous requests are processed",
    8: "Store already exists",
    9: "Internal service error",
    10: "Account request limit exceeded. Please wait until the previous requests are processed",
    100: "Store API access error. Please check the store URL and credentials",
    101: "Store not found",
    109: "Incorrect parameters",
    111: "Too many items requested",
    112: "Item not found",
    113: "Entity already exists",
    114: "Required parameter is not specified",
}

ORDER_STATUSES = (
    "Pending",
    "Processing",
    "Shipped",
    "Completed",
    "Canceled",
    "Refunded",
    "On Hold",
)
FINANCIAL_STATUSES = (
    "pending",
    "authorized",
    "paid",
    "partially_paid",
    "partially_refunded",
    "refunded",
    "voided",
)
FULFILLMENT_STATUSES = ("unfulfilled", "partially_fulfilled", "fulfilled")
WEBHOOK_ENTITIES = ("order", "product", "customer", "category")
WEBHOOK_ACTIONS = ("add", "update", "delete")

# Arguments that steer the response rather than select rows; they may accompany a page_cursor.
PRESENTATION_ARGS = {
    "page_cursor",
    "count",
    "params",
    "response_fields",
    "exclude",
    "api_key",
    "store_key",
    "rounding_precision",
    "lang_id",
    "currency_id",
    "use_latest_api_version",
    "enable_cache",
    "disable_cache",
}
NOT_FILTERS = PRESENTATION_ARGS | {"start", "idempotency_key"}


class A2CError(Exception):
    """An API2Cart error: answered with HTTP 200 and this return code."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "Error"))
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")


def required(name: str) -> A2CError:
    return A2CError(114, f"Required parameter '{name}' is not specified")


def not_found(entity: str, value: Any) -> A2CError:
    return A2CError(112, f"{entity} with id {value} not found")


def invalid(name: str, detail: str = "") -> A2CError:
    return A2CError(109, f"Parameter '{name}' is not valid. {detail}".strip())


# --- dates ---------------------------------------------------------------------------------


def stored(moment: datetime) -> str:
    """UTC timestamps in one fixed format, so SQL string comparison orders them correctly."""
    return moment.astimezone(UTC).strftime(STORAGE_FORMAT)


def a2c_date(value: str | None) -> dict[str, str] | None:
    return None if value is None else {"value": value, "format": A2C_FORMAT}


def parse_input_date(name: str, raw: str) -> str:
    """Accept `Y-m-d H:i:s` (read as UTC) and `Y-m-d\\TH:i:sO`; anything else is code 109."""
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = datetime.strptime(raw.strip(), pattern)
        except ValueError:
            continue
        return stored(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    raise invalid(
        name,
        "The required type of parameter is a date string in 'Y-m-d\\TH:i:sO' ISO_8601 format.",
    )


def money(value: Decimal | float) -> float:
    return float(round(Decimal(str(value)), 2))


# --- argument helpers ---------------------------------------------------------------------


def uint(args: dict, name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise invalid(name, "The required type of parameter is unsigned integer.")


def number(args: dict, name: str) -> float | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise invalid(name, "The required type of parameter is number.") from None


def boolean(args: dict, name: str, default: bool | None = None) -> bool | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise invalid(name, "The required type of parameter is boolean.")


def csv(args: dict, name: str) -> list[str]:
    raw = args.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def text(args: dict, name: str) -> str | None:
    raw = args.get(name)
    return None if raw is None or raw == "" else str(raw)


def need(args: dict, name: str) -> str:
    value = text(args, name)
    if value is None:
        raise required(name)
    return value


# --- params / exclude / response_fields ----------------------------------------------------


EVERY_FIELD = frozenset({"force_all", "*", "{*}"})
"""`params` values asking for every field: `force_all`, or `*` / `{*}` as some clients send."""


def select_fields(
    doc: dict, args: dict, default: str, groups: dict[str, tuple[str, ...]] | None = None
) -> dict:
    """Apply `params` (field groups or every field) and `exclude` (every field only)."""
    if args.get("response_fields"):
        return doc
    requested = csv(args, "params") or default.split(",")
    if EVERY_FIELD & set(requested):
        excluded = set(csv(args, "exclude"))
        return {key: value for key, value in doc.items() if key not in excluded}
    wanted: list[str] = []
    for name in requested:
        wanted.extend((groups or {}).get(name, (name,)))
    return {key: doc[key] for key in wanted if key in doc}


def parse_response_fields(spec: str) -> dict | None:
    """Parse the brace syntax `{a,b{c,d}}` into {name: subtree or None}; `*` means everything."""
    tokens = re.findall(r"[{},]|[^{},\s]+", spec)
    position = 0

    def group() -> dict | None:
        nonlocal position
        if position >= len(tokens) or tokens[position] != "{":
            raise invalid("response_fields")
        position += 1
        fields: dict[str, dict | None] = {}
        wildcard = False
        while position < len(tokens) and tokens[position] != "}":
            name = tokens[position]
            if name == ",":
                position += 1
                continue
            position += 1
            subtree = group() if position < len(tokens) and tokens[position] == "{" else None
            if name == "*":
                wildcard = True
            else:
                fields[name] = subtree
        if position >= len(tokens):
            raise invalid("response_fields")
        position += 1
        return None if wildcard else fields

    tree = group()
    if position != len(tokens):
        raise invalid("response_fields")
    return tree


def project(value: Any, tree: dict | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [project(item, tree) for item in value]
    if isinstance(value, dict):
        return {key: project(value[key], sub) for key, sub in tree.items() if key in value}
    return value


# --- cursors ------------------------------------------------------------------------------


def encode_cursor(method: str, filters: dict, offset: int, count: int) -> str:
    """Opaque, and URL-encoded in the JSON as API2Cart does (the client decodes it once)."""
    raw = json.dumps({"m": method, "f": filters, "o": offset, "c": count}, separators=(",", ":"))
    return quote(CURSOR_PREFIX + base64.b64encode(raw.encode()).decode(), safe="")


def decode_cursor(method: str, cursor: str) -> tuple[dict, int, int]:
    try:
        if not cursor.startswith(CURSOR_PREFIX):
            raise ValueError
        data = json.loads(base64.b64decode(cursor[len(CURSOR_PREFIX) :].encode(), validate=True))
        if data["m"] != method:
            raise ValueError
        return dict(data["f"]), int(data["o"]), int(data["c"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid(
            "page_cursor", "The cursor is not valid or belongs to another method."
        ) from None


# --- webhook filtering_conditions ---------------------------------------------------------


def matches(condition: dict | None, entity: dict, depth: int = 1) -> bool:
    """Evaluate a filtering_conditions tree against the delivered entity."""
    if not condition:
        return True
    if depth > 5:
        return False
    if "and" in condition:
        return all(matches(c, entity, depth + 1) for c in condition["and"])
    if "or" in condition:
        return any(matches(c, entity, depth + 1) for c in condition["or"])
    if "not" in condition:
        return not matches(condition["not"], entity, depth + 1)
    actual: Any = entity
    for part in str(condition.get("field", "")).split("."):
        actual = actual.get(part) if isinstance(actual, dict) else None
    if isinstance(actual, dict) and "value" in actual:
        actual = actual["value"]
    if isinstance(actual, dict) and "id" in actual:
        actual = actual["id"]
    expected = condition.get("value")
    operator = condition.get("operator")
    try:
        if operator == "eq":
            return actual == expected or str(actual) == str(expected)
        if operator == "neq":
            return not (actual == expected or str(actual) == str(expected))
        if operator in ("in", "not_in"):
            found = str(actual) in {str(v) for v in (expected or [])}
            return found if operator == "in" else not found
        if operator in ("like", "not_like"):
            pattern = re.escape(str(expected)).replace("%", ".*").replace("_", ".")
            found = re.fullmatch(pattern, str(actual), re.IGNORECASE) is not None
            return found if operator == "like" else not found
        compare = {"gt": float.__gt__, "gte": float.__ge__, "lt": float.__lt__, "lte": float.__le__}
        if operator in compare:
            return compare[operator](float(actual), float(expected))
    except (TypeError, ValueError):
        return False
    return False


def webhook_signature(headers: dict[str, str], body: bytes, key: str) -> str:
    """The contract's best guess (§6.3): HMAC-SHA256 over PHP json_encode(sorted headers) + body."""
    signed = {name: headers[name] for name in sorted(headers) if name != "X-Webhook-Signature"}
    encoded = json.dumps(signed, separators=(",", ":")).replace("/", "\\/")
    digest = hmac.new(key.encode(), encoded.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- field groups and the method registry --------------------------------------------------

ORDER_DEFAULT_PARAMS = "order_id,customer,totals,address,items,bundles,status"
ORDER_GROUPS = {"address": ("billing_address", "shipping_address"), "items": ("order_products",)}
CART_GROUPS = {"store_name": ("name",), "store_url": ("url",)}


@dataclass
class Call:
    """One API call: the merged arguments and the store it addresses (None for account calls)."""

    method: str
    args: dict[str, Any]
    store: dict | None


class ConcurrencyGate:
    """The account (10) and per-store (5) limits on calls in flight."""

    def __init__(self, per_store: int = 5, per_account: int = 10) -> None:
        self.per_store = per_store
        self.per_account = per_account
        self._lock = threading.Lock()
        self._stores: Counter[str] = Counter()
        self._account = 0
        self.refused = 0

    @contextmanager
    def slot(self, store_key: str | None) -> Iterator[None]:
        with self._lock:
            if store_key and self._stores[store_key] >= self.per_store:
                self.refused += 1
                raise A2CError(7)
            if self._account >= self.per_account:
                self.refused += 1
                raise A2CError(10)
            self._account += 1
            if store_key:
                self._stores[store_key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._account -= 1
                if store_key:
                    self._stores[store_key] -= 1


Handler = Callable[["Api2CartFake", Call], dict]
METHODS: dict[str, tuple[str, Handler]] = {}
LIST_METHODS: set[str] = set()


def method(name: str, scope: str = "store", paginated: bool = False) -> Callable:
    """Register an API method; scope "account" needs only the API key."""

    def register(func: Handler) -> Handler:
        METHODS[name] = (scope, func)
        if paginated:
            LIST_METHODS.add(name)
        return func

    return register


# --- documents and answers -----------------------------------------------------------------

COUNTRIES = {
    "GB": ("GBR", "United Kingdom"),
    "FR": ("FRA", "France"),
    "SE": ("SWE", "Sweden"),
    "US": ("USA", "United States"),
    "PT": ("PRT", "Portugal"),
}

CURRENCY = {
    "id": "USD",
    "name": "US Dollar",
    "iso3": "USD",
    "symbol_left": "$",
    "symbol_right": "",
    "rate": 1.0,
    "avail": True,
    "default": True,
}


class RawItems:
    """A page of stored JSON documents spliced into the answer without decoding them.

    `params=force_all` asks for the whole stored document, so decoding and re-encoding every
    order would only burn CPU; this keeps large order pages cheap.
    """

    def __init__(self, docs: Iterable[str]) -> None:
        self.docs = list(docs)

    def __len__(self) -> int:
        return len(self.docs)


RAW_MARKER = "\x00a2c-raw-items\x00"


def wants_stored_docs(args: dict) -> bool:
    return (
        csv(args, "params") == ["force_all"]
        and not args.get("exclude")
        and not args.get("response_fields")
        and not args.get("idempotency_key")
    )


def encode_envelope(envelope: dict) -> bytes:
    raw: list[RawItems] = []

    def mark(value: Any) -> str:
        if isinstance(value, RawItems):
            raw.append(value)
            return RAW_MARKER
        return str(value)

    encoded = json.dumps(envelope, default=mark, separators=(",", ":"))
    for items in raw:
        encoded = encoded.replace(json.dumps(RAW_MARKER), "[" + ",".join(items.docs) + "]", 1)
    return encoded.encode()


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


# --- SQL filters shared by the list and count methods --------------------------------------


def date_clauses(filters: dict, mapping: dict[str, str]) -> tuple[list[str], list[Any]]:
    """created_from/created_to/modified_from/modified_to on the storage columns."""
    clauses, params = [], []
    for prefix, column in mapping.items():
        for suffix, operator in (("from", ">="), ("to", "<=")):
            name = f"{prefix}_{suffix}"
            if (raw := text(filters, name)) is not None:
                clauses.append(f"{column} {operator} ?")
                params.append(parse_input_date(name, raw))
    return clauses, params


def in_clause(column: str, values: list[str]) -> tuple[str, list[str]]:
    return f"{column} IN ({','.join('?' * len(values))})", values


def common_clauses(filters: dict, *, ids_param: str) -> tuple[list[str], list[Any]]:
    """The created/modified date range, an id list and `since_id`, shared by list methods."""
    clauses, params = date_clauses(filters, {"created": "created_at", "modified": "modified_at"})
    if values := csv(filters, ids_param):
        clause, values = in_clause("id", values)
        clauses.append(clause)
        params.extend(values)
    if text(filters, "since_id") is not None:
        clauses.append("id > ?")
        params.append(uint(filters, "since_id", 0))
    return clauses, params


def count_in_store(fake: Api2CartFake, call: Call, table: str, filters: Any) -> int:
    """`*.count` methods: the list method's filters, counted in the addressed store."""
    clauses, params = filters(call.args)
    where = " AND ".join(["store_key = ?", *clauses])
    sql = f"SELECT COUNT(*) FROM {table} WHERE {where}"
    return int(fake.db.scalar(sql, [call.store["store_key"], *params]) or 0)
