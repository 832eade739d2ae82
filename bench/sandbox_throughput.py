"""Requests per second one sandbox process serves (API2Cart order.list and cart.info).

Usage: .venv/bin/python bench/sandbox_throughput.py [--threads 8] [--seconds 5]
Prints one JSON line. Store concurrency caps are lifted so the figure measures the server,
not the 5-per-store limit the fake enforces on purpose.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import demo_data
from sandbox.testing import start_sandbox

SUCCESS = b'{"return_code":0,'  # cheaper than parsing 50 orders in the client process
HEADERS = {
    "x-api-key": demo_data.API2CART_API_KEY,
    "x-store-key": demo_data.store("northwind").store_key,
}


ORDER_PAGE = ("order.list", {"count": 50, "params": "force_all"})
CART_INFO = ("cart.info", {})


def worker(base: str, calls: tuple, deadline: float, results: list[tuple[int, int, float]]) -> None:
    session = requests.Session()
    ok = failed = 0
    latency = 0.0
    n = 0
    while time.monotonic() < deadline:
        method, params = calls[n % len(calls)]
        n += 1
        started = time.monotonic()
        answer = session.get(f"{base}/{method}.json", params=params, headers=HEADERS)
        latency += time.monotonic() - started
        if answer.status_code == 200 and answer.content.startswith(SUCCESS):
            ok += 1
        else:
            failed += 1
    results.append((ok, failed, latency))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--only-cart-info", action="store_true", help="skip the order pages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, start_sandbox(Path(state)) as sandbox:
        sandbox.control("api2cart", "place-orders", store="northwind", count=args.orders)
        sandbox.control("api2cart", "configure", store_concurrency=1000, account_concurrency=1000)
        base = sandbox.api_url("api2cart")
        calls = (CART_INFO,) if args.only_cart_info else (ORDER_PAGE, CART_INFO)
        results: list[tuple[int, int, float]] = []
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=worker, args=(base, calls, deadline, results))
            for _ in range(args.threads)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    total_latency = sum(r[2] for r in results)
    print(
        json.dumps(
            {
                "bench": "sandbox_throughput",
                "threads": args.threads,
                "seconds": round(elapsed, 2),
                "requests": ok + failed,
                "failed": failed,
                "requests_per_second": round((ok + failed) / elapsed, 1),
                "mean_latency_ms": round(1000 * total_latency / max(ok + failed, 1), 2),
                "mix": " / ".join(f"{m} {p}" for m, p in calls),
            }
        )
    )


if __name__ == "__main__":
    main()
