"""Which `charset=` of a request's Content-Type the hub reads a body in.

Django takes any name `codecs.lookup` knows as the request's encoding, and Python knows codecs
that are no character sets: rot13, base64, hex, zlib and uu turn bytes into bytes or text into
text (decoding with them raises LookupError), `undefined` always fails, and punycode, idna,
utf-7 and the escape codecs rewrite text. A request naming one of those with a query string
answered 500 before any middleware ran (Django decodes the query string in the new encoding as
it sets it), and its body 500 wherever it was read. The hub's request classes take such a
charset as no encoding at all (the query string is read as UTF-8), a form naming anything but
UTF-8 is refused (`RefuseBadCharsetMiddleware`), and the API's parser answers 415 for its body.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import WSGIRequest
from django.utils.http import parse_header_parameters

# Text codecs by Python's definition that are transformations, not character sets.
NOT_CHARSETS = frozenset(
    {
        "charmap",
        "idna",
        "punycode",
        "raw-unicode-escape",
        "undefined",
        "unicode-escape",
        "utf-7",
    }
)
UTF8 = "utf-8"
MAX_SHOWN = 40


def text_encoding(name: str) -> str | None:
    """The codec's canonical name when `name` is a character set a body may be decoded from
    (utf-8, utf-16, latin-1, cp1252, ...), None when it is unknown or no character set."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in NOT_CHARSETS:
        return None
    return info.name


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """Outside text (a charset name, a field path) as it may be repeated in an answer:
    printable and at most `limit` characters."""
    printable = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return printable + ("…" if len(text) > limit else "")


class CharsetCheckedRequest:
    """A request whose encoding is its Content-Type's charset only when that is a character set.

    Django's own takes any name `codecs.lookup` knows, and decodes the query string in it at
    once; an unknown name it already ignores, and so does this for rot13, base64 and the like.
    `content_params` keeps the name as sent, for the form check and the API's parser.
    """

    def _set_content_type_params(self, meta: Any) -> None:
        self.content_type, self.content_params = parse_header_parameters(
            meta.get("CONTENT_TYPE", "")
        )
        charset = self.content_params.get("charset")
        if charset is not None and text_encoding(charset) is not None:
            self.encoding = charset


class HubWSGIRequest(CharsetCheckedRequest, WSGIRequest):
    """`integration_hub.wsgi.application`'s request class."""


class HubASGIRequest(CharsetCheckedRequest, ASGIRequest):
    """`integration_hub.asgi.application`'s request class."""
