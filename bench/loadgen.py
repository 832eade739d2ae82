"""Load for loopback benchmarks: wrk when it is installed, else a small asyncio generator.

Each of `connections` clients sends POSTs back to back on one kept-alive connection (reopened
when the server closes it) until the deadline. `run_load` is the Python generator, cheap enough
per request that the server, not the generator, is what is measured on a quiet machine; on two
shared cores its CPU competes with the server's, so `run_wrk` (C, `apt-get install wrk`) is
preferred where present: the same requests, its latency histogram folded into the same result.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LoadResult:
    seconds: float
    answers: int = 0
    latencies: list[float] = field(default_factory=list)
    """Seconds per answer; wrk's are its own histogram, with the samples its coordinated-omission
    correction adds for answers slower than the usual interval (its p99 is what wrk reports)."""
    statuses: dict[int | str, int] = field(default_factory=dict)
    """By status code; wrk tells only `2xx` and `non-2xx`."""
    bodies: list[bytes] = field(default_factory=list)
    errors: int = 0

    def add(self, other: LoadResult) -> None:
        """Fold in another run against the same endpoint (a later round of the same bench)."""
        self.seconds += other.seconds
        self.answers += other.answers
        self.latencies += other.latencies
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.bodies += other.bodies
        self.errors += other.errors

    @property
    def requests(self) -> int:
        return self.answers

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "requests_per_second": round(self.requests / self.seconds, 1),
            "p50_ms": round(self.percentile(0.50) * 1000, 2),
            "p99_ms": round(self.percentile(0.99) * 1000, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items(), key=str)},
            "errors": self.errors,
        }


async def _client(
    host: str,
    port: int,
    request_for: Callable[[], bytes],
    deadline: float,
    result: LoadResult,
    keep_bodies: bool,
) -> None:
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.monotonic()
            writer.write(request_for())
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionResetError
            status = int(status_line.split()[1])
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            body = await reader.readexactly(length) if length else b""
            result.latencies.append(time.monotonic() - started)
            result.answers += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if keep_bodies and status == 200:
                result.bodies.append(body)
            if close:
                writer.close()
                writer = None
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            result.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


def run_load(
    host: str,
    port: int,
    request_for: Callable[[], bytes],
    *,
    connections: int,
    seconds: float,
    keep_bodies: bool = False,
) -> LoadResult:
    """`connections` keep-alive clients for `seconds`; `request_for()` builds each raw request."""

    async def main() -> LoadResult:
        result = LoadResult(seconds=seconds)
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _client(host, port, request_for, deadline, result, keep_bodies)
                for _ in range(connections)
            )
        )
        return result

    return asyncio.run(main())


def post_request(host_header: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host_header}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


WRK_SCRIPT = """
-- bench/loadgen.py's request script: every request a new body, numbered apart per thread
local threads, counter, first, path, template = 0, 0, 0, "", ""
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end
function init(args)
  path, first, template = args[1], tonumber(args[2]), args[3]
  for i = 4, #args, 2 do wrk.headers[args[i]] = args[i + 1] end
end
function request()
  counter = counter + 1
  local n = first + thread_number * 10000000 + counter
  return wrk.format("POST", path, nil, string.format(template, %(fields)s))
end
function done(summary, latency, requests)
  local seen = {}
  for i = 1, #latency do
    local value, count = latency(i)
    seen[i] = string.format("[%%d,%%d]", value, count)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests":%%d,"duration_us":%%d,"non_2xx":%%d,"socket_errors":%%d,' ..
    '"latency_us":[%%s]}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, table.concat(seen, ",")))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    body_template: str,
    body_fields: str,
    first_number: int,
    connections: int,
    seconds: int,
    threads: int = 2,
) -> LoadResult:
    """wrk POSTing `body_template % (body_fields)` to `path`, `n` numbering every request.

    `body_fields` is the Lua expression list over `n` (e.g. `"n, n % 997"`); numbers start at
    `first_number` and each wrk thread counts in its own block of ten million, so no body repeats
    within a run, nor across runs given first numbers that far apart.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"fields": body_fields})
    try:
        args = [path, str(first_number), body_template]
        for name, value in headers.items():
            args += [name, value]
        finished = subprocess.run(
            ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s",
             "--timeout", "10s", "-s", script.name, f"http://{host}:{port}{path}", "--", *args],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        Path(script.name).unlink()
    line = next(x for x in finished.stdout.splitlines() if x.startswith("WRK-RESULT "))
    found = json.loads(line.removeprefix("WRK-RESULT "))
    result = LoadResult(
        seconds=found["duration_us"] / 1e6, answers=found["requests"], errors=found["socket_errors"]
    )
    for value, count in found["latency_us"]:
        result.latencies += [value / 1e6] * count
    answered = found["requests"] - found["non_2xx"]
    result.statuses = {k: v for k, v in (("2xx", answered), ("non-2xx", found["non_2xx"])) if v}
    return result
