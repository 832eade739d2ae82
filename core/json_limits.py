"""Limits on outside JSON, checked before it is decoded.

Python's decoder and every recursive walk over its result (NUL stripping, hashing, pretty
printing) fail with RecursionError somewhere between a few hundred and a thousand levels, so
documents nested deeper than any real order or webhook are refused before they are decoded.

The check is one forward pass over the text (`scan`): a state machine that is either outside
a string (counting brackets) or inside one (looking for the quote that ends it, skipping escaped
ones), and that stops as soon as the limit is passed. Every position is looked at once, so a
megabyte costs milliseconds whatever its shape; no backtracking regular expression is involved
(one that matched strings took seconds on 24 KB of unterminated string after 65 `[`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects the hub accepts; real payloads stay under ten."""

# One character out of a fixed set: each search looks at each character once and never goes back.
_OUTSIDE_STRING = re.compile(r'[\[\]{}"]')
_OPENING = frozenset("[{")


class Scan(NamedTuple):
    """What one pass over a text found: the deepest nesting (up to `stop_at`) and its cost."""

    depth: int
    steps: int
    """Turns of the state machine: at most one per character of the text, plus one."""
    examined: int
    """Characters the pass looked at; never more than the text's length."""


def scan(text: str, *, stop_at: int = MAX_JSON_DEPTH + 1) -> Scan:
    """How deeply arrays and objects nest in `text`, in one forward pass.

    Outside a string each step jumps to the next bracket or quote; inside one, to the next quote,
    which ends the string unless an odd run of backslashes stands before it. Brackets inside
    strings do not count; an unterminated string ends the pass (nothing after it can nest).
    Stops at `stop_at`. A closing bracket with nothing open is ignored (the decoder refuses it).
    """
    find_outside = _OUTSIDE_STRING.search
    find_quote = text.find
    depth = deepest = steps = 0
    pos = 0
    while True:
        steps += 1
        match = find_outside(text, pos)
        if match is None:
            return Scan(deepest, steps, len(text))
        at = match.start()
        char = text[at]
        pos = at + 1
        if char in _OPENING:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest >= stop_at:
                    return Scan(deepest, steps, pos)
        elif char != '"':
            if depth:
                depth -= 1
        else:  # a string opens at `at`: find the quote that closes it
            while True:
                steps += 1
                end = find_quote('"', pos)
                if end < 0:
                    return Scan(deepest, steps, len(text))
                # The backslashes right before this quote lie after `pos - 1`, which is a quote
                # (the opening one or an escaped one): the slices never overlap, so the whole
                # string is looked at once however many backslashes or escaped quotes it holds.
                between = text[pos:end]
                backslashes = len(between) - len(between.rstrip("\\"))
                pos = end + 1
                if not backslashes % 2:
                    break


def nesting_depth(text: str, *, stop_at: int = MAX_JSON_DEPTH + 1) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count).

    Stops counting at `stop_at`, so a hostile megabyte of `[` costs a few dozen steps.
    """
    return scan(text, stop_at=stop_at).depth


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text` nests deeper than `limit`; a text with no more brackets than that cannot,
    and is answered by counting them (the usual webhook), without the string-aware pass."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return nesting_depth(text, stop_at=limit + 1) > limit
