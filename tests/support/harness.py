"""Running the hub as real processes (web, Celery worker, beat) for end-to-end tests and benches.

Each process gets its environment from `hub_env`, so a test can point a set of processes at its
own Redis or database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 60, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass
class HubProcesses:
    """Web, worker and beat for one broker; each can be stopped, killed and restarted."""

    env: dict[str, str]
    log_dir: Path
    web_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        self.procs[name] = proc
        return proc

    def start_web(self) -> None:
        self._spawn("web", ["manage.py", "runserver", f"127.0.0.1:{self.web_port}", "--noreload"])
        try:
            wait_until(lambda: _answers(self.web_url + "/healthz"), timeout=30)
        except AssertionError as exc:
            log = (self.log_dir / "web.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"the web server did not answer:\n{log}") from exc

    def start_worker(
        self, concurrency: int = 4, node: str = "worker", *, pool: str = "prefork", queues: str = ""
    ) -> subprocess.Popen:
        """A worker node named `node` consuming `queues` (default: every queue,
        settings.CELERY_TASK_QUEUES) in a `pool` of `concurrency` processes or threads."""
        args = ["-m", "celery", "-A", "integration_hub", "worker", "--loglevel=INFO"]
        args += [f"--concurrency={concurrency}", f"--pool={pool}", "--without-gossip"]
        args += ["--without-mingle", *([f"--queues={queues}"] if queues else [])]
        return self._spawn(node, [*args, f"--hostname={node}@%h"])

    def start_beat(self) -> None:
        args = ["-m", "celery", "-A", "integration_hub", "beat", "--loglevel=INFO"]
        self._spawn("beat", [*args, "-s", str(self.log_dir / "beat-schedule")])

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kill_worker_hard(self, node: str = "worker") -> None:
        """SIGKILL the worker and its pool children: nothing gets to ack or clean up."""
        proc = self.procs.pop(node)
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in [proc.pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def hub_env(database: dict, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for hub processes on `database` (a Django settings_dict) and `redis_url`."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "HUB_SWEEP_SECONDS": "2",
        "HUB_MAX_ATTEMPTS": "12",
        "HUB_LEASE_SECONDS": "30",
        "HUB_SWEEP_GRACE_SECONDS": "5",
        "HUB_SHIPSTATION_PUSH_SECONDS": "1",
        "HUB_SPARE_SCHEMAS": "0",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env
