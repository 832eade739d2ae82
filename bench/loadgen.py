"""A small, bounded HTTP/1.1 load generator for loopback benchmarks (asyncio, keep-alive).

Each of `connections` clients sends POSTs back to back on one kept-alive connection (reopened
when the server closes it) until the deadline; cheap enough per request that the server, not
the generator, is what is measured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)
    errors: int = 0

    def add(self, other: LoadResult) -> None:
        """Fold in another run against the same endpoint (a later round of the same bench)."""
        self.seconds += other.seconds
        self.latencies += other.latencies
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.bodies += other.bodies
        self.errors += other.errors

    @property
    def requests(self) -> int:
        return len(self.latencies)

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
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
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
