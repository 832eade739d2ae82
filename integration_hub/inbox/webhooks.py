"""Inbound API2Cart webhooks: authenticate, persist raw in the inbox, acknowledge.

Persist, then acknowledge (ARCHITECTURE §4.1): the secret path token (and the signature when the
store enables it) authenticates the call, one short transaction stores headers and raw body under
a unique dedupe key, and the answer is 200. Workers do the rest. Bad input gets a 4xx naming the
problem and a log line; nothing a sender can put in a request produces a 500.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integration_hub.core import work
from integration_hub.core.json_limits import MAX_JSON_DEPTH, too_deep
from integration_hub.inbox.models import InboxItem
from integration_hub.inbox.signatures import SIGNATURE_HEADER, signature_matches
from integration_hub.inbox.store_status import mark_disconnected, mark_reconnected
from tenants.models import Store

logger = logging.getLogger("hub.webhooks")

MAX_BODY_BYTES = 1024 * 1024
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{0,29}$")
MAX_ENTITY_ID_LENGTH = 100
WRAPPER_KEYS = ("data", "result", "payload")
KEPT_HEADERS = ("Content-Type", "User-Agent")
ERROR_HEADER_PREFIX = "X-Webhook-Error-"


class Rejected(Exception):
    """A request the hub refuses; `status` and `reason` become the JSON answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """What the hub keeps from one accepted request."""

    store: Store
    headers: dict[str, str]
    body: bytes


@csrf_exempt
def api2cart_webhook(request: HttpRequest, token: str) -> JsonResponse:
    """`POST /webhooks/api2cart/<token>/`: one API2Cart event (or disconnection notice)."""
    try:
        if request.method != "POST":
            raise Rejected(405, "Only POST is accepted.")
        delivery = authenticate(request, token)
        if is_disconnection_notice(delivery):
            record_disconnection(delivery)
            return JsonResponse({"status": "disconnection recorded"})
        item, created = store_event(delivery)
    except Rejected as rejection:
        return refuse(request, rejection)
    logger.info(
        "api2cart webhook store=%s %s.%s id=%s item=%s%s",
        delivery.store.pk,
        item.entity,
        item.action,
        item.entity_id or "-",
        item.pk,
        "" if created else " (duplicate)",
    )
    return JsonResponse({"status": "accepted" if created else "duplicate", "item": item.pk})


def refuse(request: HttpRequest, rejection: Rejected, source: str = "api2cart") -> JsonResponse:
    """The JSON answer for a refused webhook, logged with where it came from."""
    logger.warning(
        "%s webhook refused: %s %s from %s",
        source,
        rejection.status,
        rejection.reason,
        request.META.get("REMOTE_ADDR", "-"),
    )
    response = JsonResponse({"error": rejection.reason}, status=rejection.status)
    if rejection.status == 405:
        response["Allow"] = "POST"
    return response


def authenticate(request: HttpRequest, token: str) -> Delivery:
    """The store behind the token, the body (size-checked before reading) and the signature."""
    store = Store.for_webhook_token(token) if token else None
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
        name: value.replace("\x00", "")
        for name, value in request.headers.items()
        if name.startswith("X-Webhook-") or name in KEPT_HEADERS
    }


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
    mark_disconnected(delivery.store, message)


def store_event(delivery: Delivery) -> tuple[InboxItem, bool]:
    """Insert the event, or count a duplicate delivery of it; returns (item, created)."""
    entity = event_name(delivery.headers, "X-Webhook-Entity")
    action = event_name(delivery.headers, "X-Webhook-Action")
    payload = parse_json(delivery.body)
    entity_id = find_entity_id(payload, entity)
    key = dedupe_key(delivery.store.pk, entity, action, entity_id, delivery.body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                item = InboxItem.objects.create(
                    source=InboxItem.Source.WEBHOOK,
                    store=delivery.store,
                    dedupe_key=key,
                    entity=entity,
                    action=action,
                    entity_id=entity_id,
                    headers=delivery.headers,
                    body=delivery.body.decode(),
                )
            created = True
            work.schedule_many(InboxItem, [item.pk])
        except IntegrityError:
            InboxItem.objects.filter(dedupe_key=key).update(duplicates=F("duplicates") + 1)
            item = InboxItem.objects.get(dedupe_key=key)
            created = False
        if delivery.store.status == Store.Status.DISCONNECTED:
            mark_reconnected(delivery.store, "A webhook event arrived again.")
    return item, created


def event_name(headers: dict[str, str], header: str) -> str:
    value = headers.get(header, "").strip().lower()
    if not value:
        raise Rejected(400, f"Missing {header} header.")
    if not NAME_PATTERN.match(value):
        raise Rejected(400, f"{header} is not a valid event name.")
    return value


def parse_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise Rejected(400, "Empty body without X-Webhook-Error-* headers.")
    return json_object(body)


def json_object(body: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object, or a 400 naming what is wrong with it."""
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
    return payload


def find_entity_id(payload: dict[str, Any], entity: str) -> str:
    """The entity's id at the top level or inside a wrapper (the body shape is unconfirmed).

    Objects may come in one-element arrays, and some platforms leave `id` empty with the real
    identifier in `order_id` (contract §7.15): the first non-empty id wins.
    """
    candidates: list[Any] = [payload, payload.get(entity), *(payload.get(k) for k in WRAPPER_KEYS)]
    if len(payload) == 1:
        candidates.extend(payload.values())
    for candidate in candidates:
        while isinstance(candidate, list) and len(candidate) == 1:
            candidate = candidate[0]
        if not isinstance(candidate, dict):
            continue
        for field in ("id", f"{entity}_id", "order_id"):
            value = candidate.get(field)
            while isinstance(value, list) and len(value) == 1:
                value = value[0]
            if isinstance(value, bool) or value in (None, ""):
                continue
            if not isinstance(value, str | int):
                raise Rejected(400, f"The {field} field is not a string or number.")
            text = str(value).strip()
            if not text:
                continue
            if len(text) > MAX_ENTITY_ID_LENGTH or not text.isprintable():
                raise Rejected(400, f"The {field} field is not a usable id.")
            return text
    return ""


def dedupe_key(store_id: int, entity: str, action: str, entity_id: str, body: bytes) -> str:
    """Identical redeliveries of one event collapse; any change in the body is a new event.

    `entity_id` is `order_id` where the platform left `id` empty, and the body itself is
    hashed, so two orders changed in the same second never share a key.
    """
    digest = hashlib.sha256(f"{store_id}\n{entity}\n{action}\n{entity_id}\n".encode())
    digest.update(body)
    return digest.hexdigest()
