"""Adversarial JSON bodies of an exact size, for the tests and `bench/json_limits.py`.

Each shape is what a hostile sender would try against a depth check: deep or unterminated
nesting, strings that never end, long runs of escapes, brackets hidden in strings. Every body
is ASCII (bytes = characters) and invalid JSON, so every entry point must refuse it (4xx).
"""

from __future__ import annotations

from collections.abc import Callable

KB100 = 100_000
MB1 = 1_000_000  # under the 1 MiB body limit, so the checks run rather than the size limit


def _repeat(head: str, unit: str, size: int, tail: str = "") -> str:
    body = head + unit * ((size - len(head) - len(tail)) // len(unit) + 1)
    return body[: size - len(tail)] + tail


def _string_then_deep(unit: str, size: int) -> str:
    """A string of `unit` escapes filling the body, closed, then 65 levels: the scan must walk
    the whole string before it finds the depth."""
    tail = '"' + "[" * 65
    count, extra = divmod(size - 2 - len(tail), len(unit))
    return '["' + "a" * extra + unit * count + tail


SHAPES: dict[str, Callable[[int], str]] = {
    # The shape that took the regex check ~10 s on 24 KB: 65 levels, then a string that never ends.
    "unterminated_string_after_65": lambda n: _repeat("[" * 65 + '"', "a", n),
    # The same with escaped quotes in the string: quadratic for the regex (it retried each one).
    "unterminated_escaped_quotes_after_65": lambda n: _repeat("[" * 65 + '"', '\\"', n),
    "open_brackets": lambda n: _repeat("", "[", n),
    "open_objects": lambda n: _repeat("", '{"a":', n),
    "backslash_run": lambda n: _repeat('["', "\\", n),
    "escaped_quotes_then_65": lambda n: _string_then_deep('\\"', n),
    "escaped_backslashes_then_65": lambda n: _string_then_deep("\\\\", n),
    "escaped_backslash_strings": lambda n: _repeat("[", '"\\\\\\\\",', n),
    "brackets_in_strings": lambda n: _repeat("[", '"[{[{",', n),
    "unterminated_string_of_brackets": lambda n: _repeat('["', "[", n),
    "empty_arrays": lambda n: _repeat("[", "[],", n),
    "empty_strings": lambda n: _repeat("[", '"",', n),
    "quote_bracket_pairs": lambda n: _repeat("", '"[', n),
    "closing_then_opening": lambda n: "]" * (n // 2) + "[" * (n - n // 2),
}


def adversarial_bodies(size: int) -> dict[str, str]:
    """Every shape at exactly `size` characters."""
    bodies = {name: make(size) for name, make in SHAPES.items()}
    assert all(len(body) == size and body.isascii() for body in bodies.values())
    return bodies
