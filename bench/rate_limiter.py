"""Benchmark the shared sliding-window limiter: N processes acquire as fast as it lets them.

Prints one JSON line: acquisitions per second across all processes, and the most acquisitions
seen in any rolling window (must not exceed the limit), measured on the Redis server's clock.

    .venv/bin/python bench/rate_limiter.py --processes 3 --limit 200 --window 1 --seconds 5
    .venv/bin/python bench/rate_limiter.py --limit 100000000   # raw Redis/Lua throughput
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.ratelimit import LimitKey, SlidingWindowLimiter

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def acquire_loop(prefix: str, limit: int, window: float, seconds: float) -> list[float]:
    """One worker: take every slot the limiter grants until time is up."""
    limiter = SlidingWindowLimiter(
        redis.Redis.from_url(REDIS_URL),
        LimitKey("bench", "shipstation", "bench"),
        limit=limit,
        window_seconds=window,
        max_wait=seconds,
        prefix=prefix,
    )
    granted: list[float] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        wait = limiter.try_acquire()
        if wait == 0:
            granted.append(limiter.last_granted_at)
        else:
            time.sleep(min(wait, left))
    return granted


def max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--window", type=float, default=1.0, help="seconds")
    parser.add_argument("--seconds", type=float, default=5.0, help="run time")
    args = parser.parse_args()

    prefix = f"test:bench:{uuid.uuid4().hex[:8]}:"
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(args.processes, mp_context=context) as pool:
            futures = [
                pool.submit(acquire_loop, prefix, args.limit, args.window, args.seconds)
                for _ in range(args.processes)
            ]
            times = [t for future in futures for t in future.result()]
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
    observed = max_in_window(times, args.window)
    print(
        json.dumps(
            {
                "bench": "sliding_window_limiter",
                "processes": args.processes,
                "limit": args.limit,
                "window_s": args.window,
                "run_s": args.seconds,
                "acquired": len(times),
                "acquires_per_s": round(len(times) / args.seconds, 1),
                "max_in_any_window": observed,
                "within_limit": observed <= args.limit,
            }
        )
    )


if __name__ == "__main__":
    main()
