"""Limits on outside JSON, checked before it is decoded.

Python's decoder and every recursive walk over its result (NUL stripping, hashing, pretty
printing) fail with RecursionError somewhere between a few hundred and a thousand levels, so
documents nested deeper than any real order or webhook are refused before they are decoded.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects the hub accepts; real payloads stay under ten."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str, *, stop_at: int = MAX_JSON_DEPTH + 1) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count).

    Stops counting at `stop_at`, so a hostile megabyte of `[` costs one regex pass at most.
    """
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest >= stop_at:
                    return deepest
        else:
            depth = max(0, depth - 1)
    return deepest


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text` nests deeper than `limit`; a text with no more brackets than that cannot,
    and is answered by counting them (the usual webhook), without the string-aware pass."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return nesting_depth(text, stop_at=limit + 1) > limit
