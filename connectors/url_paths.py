"""Read a URL the way the server at the other end will, before credentials are sent to it.

A URL taken from outside (a webhook's `resource_url`) is only followed when it stays under the
configured base URL. A plain prefix test on the raw text is not enough: `<base>/../x`,
`<base>/%2e%2e/x` or `<base>/..%2f/x` start with the base path but reach `/x` once the HTTP
client or the server removes the dot segments. `normalise_url` therefore decodes what a server
would decode, removes dot segments as RFC 3986 §5.2.4 says, and refuses what servers read
differently (encoded slashes or backslashes, `;` path parameters, user-info); `path_under` then
compares the normalised path with the base path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%(?P<hex>[0-9A-Fa-f]{2})")


class UnsafeURL(ValueError):
    """A URL that servers could read differently, or that is not an absolute http(s) URL."""


@dataclass(frozen=True)
class NormalisedURL:
    scheme: str
    host: str
    port: int
    path: str
    query: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def normalise_url(url: str) -> NormalisedURL:
    """Scheme and host lowercased, default port made explicit, path percent-decoded where that
    is harmless and free of dot segments. Raises `UnsafeURL` for anything ambiguous."""
    if not url.isascii() or not url.isprintable() or " " in url:
        raise UnsafeURL("the URL has spaces, control or non-ASCII characters")
    if "\\" in url:
        raise UnsafeURL("the URL contains a backslash")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"the URL cannot be parsed ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL("the URL is not an absolute http(s) URL")
    if "@" in parts.netloc:
        raise UnsafeURL("the URL contains a user name or password (user@host)")
    host = (parts.hostname or "").lower()
    if not host or "%" in host:
        raise UnsafeURL("the URL has no plain host name")
    return NormalisedURL(
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        path=normalise_path(parts.path),
        query=parts.query,
    )


def normalise_path(path: str) -> str:
    """Decode percent-encoded unreserved characters (so `%2e` is a dot), refuse any other encoded
    character (`%2f`, `%5c`, `%25`, ...) and `;`, then remove dot segments."""
    if path and not path.startswith("/"):
        raise UnsafeURL("the path is not absolute")
    if ";" in path:
        raise UnsafeURL("the path contains ';' (a path parameter some servers strip)")
    decoded = _PERCENT.sub(_decode_unreserved, path)
    if "%" in decoded:
        raise UnsafeURL("the path contains an encoded '/', '\\', '%' or another encoded character")
    normalised = remove_dot_segments(decoded)
    if "//" in normalised:
        raise UnsafeURL("the path contains an empty segment ('//')")
    return normalised


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match["hex"], 16))
    return char if char in _UNRESERVED else match[0]


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, step by step."""
    source = path
    output: list[str] = []
    while source:
        if source.startswith("../"):
            source = source[3:]
        elif source.startswith("./") or source.startswith("/./"):
            source = source[2:]
        elif source == "/.":
            source = "/"
        elif source.startswith("/../"):
            source = source[3:]
            if output:
                output.pop()
        elif source == "/..":
            source = "/"
            if output:
                output.pop()
        elif source in (".", ".."):
            source = ""
        else:
            start = 1 if source.startswith("/") else 0
            end = source.find("/", start)
            end = len(source) if end == -1 else end
            output.append(source[:end])
            source = source[end:]
    return "".join(output)


def path_under(path: str, base_path: str) -> str | None:
    """The part of a normalised `path` below `base_path` (starting with '/'), else None."""
    base = base_path.rstrip("/")
    if not path.startswith(base + "/"):
        return None
    return path[len(base) :]
