"""API2Cart webhook signatures: the contract's best guess (api2cart.md §6.3), unconfirmed.

No source documents a webhook signature. The nearest evidence is API2Cart's Live Shipping
callback scheme: HMAC-SHA256 over PHP `json_encode` of the sorted `X-Webhook-*` headers (without
the signature header) followed by the raw body, base64-encoded. That is why stores can run the
check off, log-only or enforced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Webhook-Signature"
SIGNED_HEADER_PREFIX = "X-Webhook-"


def php_json_encode(value: object) -> str:
    """PHP's default `json_encode`: compact, `/` escaped as `\\/`, non-ASCII as `\\uXXXX`."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def signed_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The `X-Webhook-*` headers that are signed, sorted by name (PHP `ksort`, case-sensitive).

    WSGI loses the sender's header case; Django's canonical `X-Webhook-Store-Id` spelling is the
    one API2Cart documents, so it is used for the names.
    """
    chosen = {
        name: value
        for name, value in headers.items()
        if name.startswith(SIGNED_HEADER_PREFIX) and name != SIGNATURE_HEADER
    }
    return dict(sorted(chosen.items()))


def webhook_signature(headers: Mapping[str, str], body: bytes, key: str) -> str:
    """The base64 HMAC-SHA256 API2Cart is expected to send in `X-Webhook-Signature`."""
    message = php_json_encode(signed_headers(headers)).encode() + body
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_matches(headers: Mapping[str, str], body: bytes, key: str) -> bool:
    """Constant-time check of the request's signature header; False when it is missing."""
    provided = headers.get(SIGNATURE_HEADER, "")
    if not provided or not key:
        return False
    expected = webhook_signature(headers, body, key)
    return hmac.compare_digest(expected.encode(), provided.strip().encode("utf-8", "replace"))
