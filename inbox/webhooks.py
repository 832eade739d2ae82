"""Inbound API2Cart webhooks: authenticate, persist raw in the inbox, acknowledge.

Persist, then acknowledge (ARCHITECTURE §4.1): the secret path token (and the signature when the
store enables it) authenticates the call, one INSERT stores headers and raw body under a unique
dedupe key, and the answer is 200. Workers do the rest. Bad input gets a 4xx naming the problem
and a log line; nothing a sender can put in a request produces a 500.

This is the hub's hottest path (docs/benchmarks.md, webhook ingest): it skips Django's request
cycle (`WebhookLane`) and the portal's middleware (`WebhookFastPath`), reads the store without
decrypting its secrets, stores the event
in one autocommitted statement and hands the new ids to workers in batches (`BatchedPublisher`)
instead of one broker message per request. A store's deliveries are capped per minute
(`webhook_rate`: counted in Redis, a round trip per batch of deliveries far below the
cap and per delivery near it; 429 past it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_tenants.utils import get_public_schema_name
from psycopg.errors import InvalidSqlStatementName

from connectors.api2cart import UnreadableWebhook, read_webhook_ids
from core.dispatch import BatchedPublisher
from core.json_limits import MAX_JSON_DEPTH, too_deep
from inbox.models import InboxItem
from inbox.signatures import SIGNATURE_HEADER, signature_matches
from inbox.store_status import mark_disconnected, mark_reconnected
from inbox.webhook_rate import webhook_rate
from tenants.models import Store, hash_webhook_token

logger = logging.getLogger("hub.webhooks")

MAX_BODY_BYTES = 1024 * 1024
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{0,29}$")
KEPT_META = frozenset({"CONTENT_TYPE", "HTTP_USER_AGENT"})
HEADER_NAMES: dict[str, str] = {}
HEADER_NAMES_REMEMBERED = 256
ERROR_HEADER_PREFIX = "X-Webhook-Error-"
# What the webhook reads of a store; the encrypted columns load (and decrypt) only when used.
STORE_FIELDS = ("id", "name", "display_name", "status", "signature_mode", "account_id")
# A publish costs about 1 ms of CPU (Celery builds and sends the message), so at most four a
# second per process: a worker hears of a new item within 0.25 s (the row is already stored).
new_items = BatchedPublisher("inbox.process_items", interval=0.25, batch_size=100)


class StoresByToken:
    """The store a webhook token belongs to, remembered for `SECONDS` per process.

    A store saved or deleted in this process is forgotten at once; other processes see a
    rotated token, a new signature mode or a deleted store within `SECONDS`. Unknown tokens are
    looked up every time.
    """

    SECONDS = 5.0

    def __init__(self) -> None:
        self.known: dict[str, tuple[Store, float]] = {}

    def get(self, token: str) -> Store | None:
        key = hash_webhook_token(token)
        now = time.monotonic()
        hit = self.known.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        store = Store.objects.filter(webhook_token_hash=key).only(*STORE_FIELDS).first()
        if store is not None:
            self.known[key] = (store, now + self.SECONDS)
        return store

    def forget(self, **kwargs: Any) -> None:
        self.known.clear()


stores_by_token = StoresByToken()
post_save.connect(stores_by_token.forget, sender=Store, dispatch_uid="webhook-stores-saved")
post_delete.connect(stores_by_token.forget, sender=Store, dispatch_uid="webhook-stores-deleted")


class Rejected(Exception):
    """A request the hub refuses; `status` and `reason` become the JSON answer."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Delivery:
    """What the hub keeps from one accepted request."""

    store: Store
    headers: dict[str, str]
    body: bytes


@csrf_exempt
def api2cart_webhook(request: HttpRequest, token: str) -> HttpResponse:
    """`POST /webhooks/api2cart/<token>/`: one API2Cart event (or disconnection notice)."""
    try:
        if request.method != "POST":
            raise Rejected(405, "Only POST is accepted.")
        delivery = authenticate(request, token)
        within_rate("api2cart", delivery.store.pk, "store")
        if is_disconnection_notice(delivery):
            record_disconnection(delivery)
            return JsonResponse({"status": "disconnection recorded"})
        item_id, created = store_event(delivery)
    except Rejected as rejection:
        return refuse(request, rejection)
    logger.log(
        logging.DEBUG if created else logging.INFO,
        "api2cart webhook store=%s item=%s%s",
        delivery.store.pk,
        item_id,
        "" if created else " (duplicate)",
    )
    return acknowledgement("accepted" if created else "duplicate", item_id)


def acknowledgement(status: str, item_id: int) -> HttpResponse:
    """`{"status": ..., "item": ...}`, encoded directly: two plain values need no Django encoder."""
    content = json.dumps({"status": status, "item": item_id}).encode()
    response = HttpResponse(content, content_type="application/json")
    response["Content-Length"] = str(len(content))
    return response


def refuse(request: HttpRequest, rejection: Rejected, source: str = "api2cart") -> JsonResponse:
    """The JSON answer for a refused webhook, logged with where it came from (a sender over
    its rate once a minute, by `webhook_rate`)."""
    logger.log(
        logging.DEBUG if rejection.status == 429 else logging.WARNING,
        "%s webhook refused: %s %s from %s",
        source,
        rejection.status,
        rejection.reason,
        request.META.get("REMOTE_ADDR", "-"),
    )
    response = JsonResponse({"error": rejection.reason}, status=rejection.status)
    if rejection.status == 405:
        response["Allow"] = "POST"
    if rejection.retry_after is not None:
        response["Retry-After"] = str(rejection.retry_after)
    return response


def within_rate(source: str, sender: int, kind: str) -> None:
    """At most `HUB_WEBHOOK_STORE_RATE` deliveries per sender and minute (counted in Redis, in
    batches far below the cap; accepted when Redis is unreachable); past it a 429 with
    `Retry-After`."""
    wait = webhook_rate.retry_after(source, sender)
    if wait is not None:
        raise Rejected(
            429,
            f"More than {settings.HUB_WEBHOOK_STORE_RATE} webhooks a minute for this {kind}; "
            "send it again later.",
            retry_after=wait,
        )


def authenticate(request: HttpRequest, token: str) -> Delivery:
    """The store behind the token, the body (size-checked before reading) and the signature."""
    store = stores_by_token.get(token) if token else None
    if store is None:
        raise Rejected(404, "Unknown webhook token.")
    body = read_body(request)
    headers = kept_headers(request)
    check_signature(store, headers, body)
    return Delivery(store=store, headers=headers, body=body)


def read_body(request: HttpRequest) -> bytes:
    """At most 1 MiB: refused on the declared length first, then on what actually arrives."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        raise Rejected(400, "Content-Length is not a number.") from None
    if length < 0:
        raise Rejected(400, "Content-Length is negative.")
    if length > MAX_BODY_BYTES:
        raise Rejected(413, f"Body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        body = request.read(MAX_BODY_BYTES + 1)
    except OSError:
        raise Rejected(400, "The body could not be read completely.") from None
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(413, f"Body is larger than {MAX_BODY_BYTES} bytes.")
    return body


def kept_headers(request: HttpRequest) -> dict[str, str]:
    """The `X-Webhook-*` family plus a few descriptive headers, in Django's canonical case."""
    return {
        header_name(key): value.replace("\x00", "")
        for key, value in request.META.items()
        if key.startswith("HTTP_X_WEBHOOK_") or key in KEPT_META
    }


def header_name(key: str) -> str:
    """`HTTP_X_WEBHOOK_ENTITY` as `X-Webhook-Entity`; the names of the headers seen first (a
    store sends the same few every time) are remembered."""
    name = HEADER_NAMES.get(key)
    if name is None:
        name = key.removeprefix("HTTP_").replace("_", "-").title()
        if len(HEADER_NAMES) < HEADER_NAMES_REMEMBERED:
            HEADER_NAMES[key] = name
    return name


def check_signature(store: Store, headers: dict[str, str], body: bytes) -> None:
    mode = store.signature_mode
    if mode == Store.SignatureMode.OFF:
        return
    key = store.signature_secret or store.account.api_key
    if signature_matches(headers, body, key):
        return
    problem = "missing" if SIGNATURE_HEADER not in headers else "wrong"
    if mode == Store.SignatureMode.ENFORCE:
        raise Rejected(401, f"Signature {problem} ({SIGNATURE_HEADER}).")
    logger.warning(
        "api2cart webhook store=%s signature %s; accepted (log-only mode)", store.pk, problem
    )


def is_disconnection_notice(delivery: Delivery) -> bool:
    """API2Cart's lost-connection notice: an empty body with `X-Webhook-Error-*` details."""
    if delivery.body.strip():
        return False
    code = delivery.headers.get("X-Webhook-Error-Code", "0").strip()
    details = any(
        name.startswith(ERROR_HEADER_PREFIX) and name != "X-Webhook-Error-Code"
        for name in delivery.headers
    )
    return code not in ("", "0") or details


def record_disconnection(delivery: Delivery) -> None:
    """Turn the notice's error headers into the store's alert message."""
    headers = delivery.headers
    reason = headers.get("X-Webhook-Error-Reason", "").strip() or "no reason given"
    advice = headers.get("X-Webhook-Error-Message", "").strip()
    code = headers.get("X-Webhook-Error-Code", "").strip() or "?"
    tries_left = headers.get("X-Webhook-Error-Try-Count", "").strip()
    message = f"API2Cart lost the connection to the store: {reason} (error {code})."
    if advice:
        message += f" {advice}"
    if tries_left:
        message += f" Tries left before API2Cart disables the webhook: {tries_left}."
    mark_disconnected(Store.objects.get(pk=delivery.store.pk), message)
    stores_by_token.forget()


def store_event(delivery: Delivery) -> tuple[int, bool]:
    """Insert the event, or count a duplicate delivery of it; returns (item id, created).

    Each statement commits on its own: the row is the truth, and its id is handed to the
    workers only once it is committed.
    """
    entity = event_name(delivery.headers, "X-Webhook-Entity")
    action = event_name(delivery.headers, "X-Webhook-Action")
    payload, text = parse_json(delivery.body)
    entity_id = find_entity_id(payload, entity)
    key = dedupe_key(delivery.store.pk, entity, action, entity_id, delivery.body)
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each `connection.x` looks it up again
    item_id = _insert_new(db, delivery, key, entity, action, entity_id, text)
    created = item_id is not None
    if item_id is not None and db.in_atomic_block:
        transaction.on_commit(lambda: new_items.add(item_id))
    elif item_id is not None:
        new_items.add(item_id, db.schema_name)  # autocommit: the row is already committed
    else:
        item_id = _count_duplicate(key)
    if delivery.store.status == Store.Status.DISCONNECTED:
        mark_reconnected(Store.objects.get(pk=delivery.store.pk), "A webhook event arrived again.")
        stores_by_token.forget()
    return item_id, created


# One statement, no model instance, no savepoint: a redelivery meets the unique dedupe key and
# inserts nothing. The columns not named take their defaults (NULL for the timestamps). The inbox
# is a shared table, named with its schema so that the statement does not depend on the
# connection's search path (it is sent without going through the tenant-aware cursor).
INSERT_NEW = (
    f"INSERT INTO {get_public_schema_name()}.{InboxItem._meta.db_table} (source, store_id, "
    "dedupe_key, entity, action, entity_id, headers, body, received_at, state, duplicates, "
    "attempts, lease_holder, last_error, last_error_hint) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), %s, 0, 0, '', '', '') "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
)


def _insert_new(
    db: BaseDatabaseWrapper,
    delivery: Delivery,
    key: str,
    entity: str,
    action: str,
    entity_id: str,
    text: str,
) -> int | None:
    """The new item's id, or None when the event is already in the inbox.

    A kept connection is checked by the insert itself rather than by Django's `SELECT 1`
    before it (one round trip less per webhook): when the server has dropped the connection
    (or the prepared statement), the insert runs once more on a new connection. Had the lost
    attempt committed, the second meets its dedupe key and the delivery is answered as a
    duplicate of the stored row.
    """
    params = [
        InboxItem.Source.WEBHOOK.value,
        delivery.store.pk,
        key,
        entity,
        action,
        entity_id,
        json.dumps(delivery.headers),
        text,
        InboxItem.State.PENDING.value,
    ]
    if db.connection is None or db.in_atomic_block:
        return _run_insert(db, params)
    try:
        return _run_insert(db, params)
    except (OperationalError, InterfaceError, ProgrammingError) as error:
        if not needs_new_connection(db, error):
            raise
        logger.warning("webhook insert failed (%s); storing it on a new connection", error)
        db.close()
        return _run_insert(db, params)


def needs_new_connection(db: BaseDatabaseWrapper, error: Exception) -> bool:
    """A connection the server dropped, or a prepared statement it no longer has."""
    if isinstance(error, ProgrammingError):
        return isinstance(error.__cause__, InvalidSqlStatementName)
    return db.connection is None or not db.is_usable()


class PreparedCursor(ServerBindingCursor):
    """Sends values apart from the statement, which it prepares on its first run.

    Django turns psycopg's preparing off (`prepare_threshold` None, for transaction-mode
    poolers; the hub needs session pooling anyway, README "Database connections"). It is
    switched on only while this cursor executes, so the other statements on the connection (all
    of Django's cursors bind on the client and never prepare) keep psycopg's plain path.
    """

    def execute(self, query, params=None, *, prepare=None, binary=None):
        conn = self.connection
        if conn.prepare_threshold is not None:
            return super().execute(query, params, prepare=True, binary=binary)
        conn.prepare_threshold = sys.maxsize  # explicit preparing only, never automatic
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        finally:
            conn.prepare_threshold = None


def _run_insert(db: BaseDatabaseWrapper, params: list[Any]) -> int | None:
    """Run `INSERT_NEW` as a prepared statement.

    Django's own cursor writes every value into the SQL text, so PostgreSQL would parse and
    plan the statement, body included, on every webhook; prepared, it is planned once per
    connection. Whenever something watches the statements (debug logging, a test's query
    capture, an execute wrapper) it goes through Django's cursor wrapper, so they see it;
    otherwise psycopg's cursor runs it directly, its errors still turned into Django's.
    """
    db.ensure_connection()
    cursor = PreparedCursor(db.connection)
    if db.queries_logged:
        cursor = db.make_debug_cursor(cursor)
    elif db.execute_wrappers:
        cursor = db.make_cursor(cursor)
    else:
        db.validate_no_broken_transaction()
    with db.wrap_database_errors, cursor:
        cursor.execute(INSERT_NEW, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _count_duplicate(key: str) -> int:
    duplicates = InboxItem.objects.filter(dedupe_key=key)
    duplicates.update(duplicates=F("duplicates") + 1)
    return duplicates.values_list("pk", flat=True).get()


def event_name(headers: dict[str, str], header: str) -> str:
    value = headers.get(header, "").strip().lower()
    if not value:
        raise Rejected(400, f"Missing {header} header.")
    if not NAME_PATTERN.match(value):
        raise Rejected(400, f"{header} is not a valid event name.")
    return value


def parse_json(body: bytes) -> tuple[dict[str, Any], str]:
    """The body as a JSON object and as the text that is stored (decoded once for both)."""
    if not body.strip():
        raise Rejected(400, "Empty body without X-Webhook-Error-* headers.")
    return decoded_json(body)


def json_object(body: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object, or a 400 naming what is wrong with it."""
    return decoded_json(body)[0]


def decoded_json(body: bytes) -> tuple[dict[str, Any], str]:
    """The body as a JSON object and as text, or a 400 naming what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "Body is not UTF-8.") from None
    if too_deep(text):
        raise Rejected(400, f"Body is nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise Rejected(400, "Body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "Body must be a JSON object.")
    return payload, text


def find_entity_id(payload: dict[str, Any], entity: str) -> str:
    """The entity's id as the API2Cart connector reads it (`read_webhook_ids`), or a 400.

    Top level or inside a wrapper, one-element arrays unwrapped, `id` before `<entity>_id` and
    `order_id`; the 400 names the field when the id found is not usable.
    """
    try:
        return read_webhook_ids(payload, entity).entity_id
    except UnreadableWebhook as exc:
        raise Rejected(400, str(exc)) from None


def dedupe_key(store_id: int, entity: str, action: str, entity_id: str, body: bytes) -> str:
    """Identical redeliveries of one event collapse; any change in the body is a new event.

    `entity_id` is `order_id` where the platform left `id` empty, and the body itself is
    hashed, so two orders changed in the same second never share a key.
    """
    digest = hashlib.sha256(f"{store_id}\n{entity}\n{action}\n{entity_id}\n".encode())
    digest.update(body)
    return digest.hexdigest()
