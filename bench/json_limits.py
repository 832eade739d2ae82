"""Benchmark the JSON depth check on adversarial bodies of 100 KB and 1 MB.

Prints one JSON line: for each shape (tests/support/json_shapes.py), the best time in ms of
`too_deep` (what the order API, the webhooks and the inbox page run before decoding) at 100 KB
and at 1 MB, their ratio (about 10 when linear, about 1 when the scan stops at the limit), the
scan's steps at 1 MB, and the worst 1 MB time.

    .venv/bin/python bench/json_limits.py
    .venv/bin/python bench/json_limits.py --repeats 9
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.json_limits import scan, too_deep
from tests.support.json_shapes import KB100, MB1, adversarial_bodies


def best_ms(text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        too_deep(text)
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per body; the best counts")
    args = parser.parse_args()

    small, large = adversarial_bodies(KB100), adversarial_bodies(MB1)
    shapes = {}
    for name in small:
        ms_small, ms_large = best_ms(small[name], args.repeats), best_ms(large[name], args.repeats)
        shapes[name] = {
            "ms_100kb": ms_small,
            "ms_1mb": ms_large,
            "ratio": round(ms_large / ms_small, 1) if ms_small >= 0.01 else None,
            "steps_1mb": scan(large[name]).steps,
            "too_deep": too_deep(large[name]),
        }
    print(
        json.dumps(
            {
                "bench": "json_limits",
                "repeats": args.repeats,
                "worst_ms_1mb": max(shape["ms_1mb"] for shape in shapes.values()),
                "shapes": shapes,
            }
        )
    )


if __name__ == "__main__":
    main()
