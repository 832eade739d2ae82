"""Processes the benchmarks start and stop: a fresh database, gunicorn, Celery workers, beat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def recreate_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip


def start_gunicorn(
    port: int, env: dict[str, str], log_path: Path, app: str = "integration_hub.wsgi:application"
) -> subprocess.Popen:
    """The hub's production web server (deploy/gunicorn.conf.py) on 127.0.0.1:`port`."""
    server = spawn(
        ["-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", app],
        {**env, "HUB_WEB_BIND": f"127.0.0.1:{port}"},
        log_path,
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", server, log_path)
    return server


def start_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    concurrency: int,
    name: str = "bench",
    queues: str = "",
    pool: str = "prefork",
) -> subprocess.Popen:
    """A worker node: every queue in prefork processes, or the named queues in `pool`."""
    return spawn(
        ["-m", "celery", "-A", "integration_hub", "worker", f"--hostname={name}@%h",
         f"--concurrency={concurrency}", f"--pool={pool}", "--without-gossip",
         "--without-mingle", "--loglevel=WARNING", *([f"--queues={queues}"] if queues else [])],
        env,
        log_path,
    )  # fmt: skip


def start_beat(env: dict[str, str], log_path: Path, schedule: Path) -> subprocess.Popen:
    return spawn(
        ["-m", "celery", "-A", "integration_hub", "beat", "--loglevel=WARNING", "-s",
         str(schedule)],
        env,
        log_path,
    )  # fmt: skip


def wait_for(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server stopped; see {log_path}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop(process)
    raise SystemExit(f"{url} did not answer within {timeout} s; see {log_path}")


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process group (gunicorn and Celery stop their children), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
