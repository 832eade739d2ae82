"""A database connection that cannot keep session state is refused: at start of every process
and in `manage.py check --deploy`, with one line naming session pooling. Run through a real
PgBouncer in transaction mode (skipped, saying why, where PgBouncer is not installed; `.ci/run`
installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection

from integration_hub import session_state
from tests.support.harness import ROOT, free_port, hub_env, wait_until

PGBOUNCER = shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
REFUSAL = "does not keep session state across transactions"
NAMES_SESSION_POOLING = "session pooling (pool_mode = session)"


def test_a_direct_connection_keeps_session_state(db):
    assert session_state.session_state_problem() is None


def test_an_unreachable_database_is_a_warning_not_a_refusal(monkeypatch, caplog):
    def unreachable(alias="default"):
        raise OperationalError("connection refused")

    monkeypatch.setattr(session_state, "session_state_problem", unreachable)
    session_state.refuse_without_session_state("web")  # returns: the process starts
    assert "could not prove" in caplog.text
    [warning] = session_state.check_session_state()
    assert warning.id == "hub.W001"


def test_a_lost_session_exits_with_one_line_naming_session_pooling(monkeypatch, capfd):
    monkeypatch.setattr(session_state, "session_state_problem", lambda alias="default": "lost")
    with pytest.raises(SystemExit) as exit_:
        session_state.refuse_without_session_state("web")
    assert exit_.value.code == session_state.EXIT_CONFIG
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 1 and REFUSAL in lines[0] and NAMES_SESSION_POOLING in lines[0]
    [error] = session_state.check_session_state()
    assert error.id == "hub.E001"


class PgBouncer:
    """A PgBouncer of the test's own in front of the test database, in one pooling mode."""

    def __init__(self, mode: str, database: dict) -> None:
        self.port = free_port()
        self.user = database["USER"] or "postgres"
        self.database = {**database, "HOST": "127.0.0.1", "PORT": str(self.port)}
        # Readable by the user PgBouncer drops to when started as root.
        self.folder = Path(tempfile.mkdtemp(prefix="hub-pgbouncer-"))
        self.folder.chmod(0o755)
        users = self.folder / "users.txt"
        users.write_text(f'"{self.user}" ""\n')
        self.config = self.folder / "pgbouncer.ini"
        self.config.write_text(
            "[databases]\n"
            f"{database['NAME']} = host={database['HOST'] or '127.0.0.1'} "
            f"port={database['PORT'] or 5432} dbname={database['NAME']}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {users}\npool_mode = {mode}\n"
            "default_pool_size = 4\nmax_client_conn = 50\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in (users, self.config):
            path.chmod(0o644)
        as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
        self.log = open(self.folder / "pgbouncer.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [PGBOUNCER, *as_user, str(self.config)], stdout=self.log, stderr=self.log
        )
        wait_until(self._listening, timeout=15)

    def _listening(self) -> bool:
        return "listening on" in (self.folder / "pgbouncer.log").read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def pgbouncer(request, django_db_setup) -> Iterator[PgBouncer]:
    if PGBOUNCER is None:
        pytest.skip("PgBouncer is not installed (apt-get install pgbouncer; .ci/run does)")
    bouncer = PgBouncer(request.param, connection.settings_dict)
    yield bouncer
    bouncer.stop()


def run_hub(bouncer: PgBouncer, tmp_path: Path, *args: str) -> subprocess.Popen:
    env = hub_env(bouncer.database, settings.REDIS_URL, HUB_WEB_BIND=f"127.0.0.1:{free_port()}")
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


STARTS = {
    "web": ["-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
    "the Celery worker": ["-m", "celery", "-A", "integration_hub", "worker", "--concurrency=1"],
    "beat": ["-m", "celery", "-A", "integration_hub", "beat", "-s", "{tmp}/beat-schedule"],
    "the migrations": ["manage.py", "setup_hub"],
}


@pytest.mark.e2e  # PgBouncer and hub processes
@pytest.mark.parametrize("pgbouncer", ["transaction"], indirect=True)
def test_the_hub_refuses_to_start_through_pgbouncer_in_transaction_mode(pgbouncer, tmp_path):
    started = {
        name: run_hub(pgbouncer, tmp_path, *(arg.format(tmp=tmp_path) for arg in args))
        for name, args in STARTS.items()
    }
    started["check --deploy"] = run_hub(
        pgbouncer, tmp_path, "manage.py", "check", "--deploy", "--tag", "database"
    )
    outputs = {}
    for name, proc in started.items():
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail(f"{name} did not refuse to start:\n{out[-3000:]}")
        outputs[name] = (proc.returncode, out)

    for name in STARTS:
        code, out = outputs[name]
        refusals = [line for line in out.splitlines() if REFUSAL in line]
        assert code == session_state.EXIT_CONFIG, (name, out[-3000:])
        assert len(refusals) == 1, (name, out[-3000:])
        assert refusals[0].startswith(f"Refusing to start {name}: ")
        assert NAMES_SESSION_POOLING in refusals[0]
    code, out = outputs["check --deploy"]
    assert code != 0 and "hub.E001" in out and NAMES_SESSION_POOLING in out


@pytest.mark.e2e  # PgBouncer and a hub process
@pytest.mark.parametrize("pgbouncer", ["session"], indirect=True)
def test_pgbouncer_in_session_mode_passes_the_proof(pgbouncer, tmp_path):
    check = run_hub(pgbouncer, tmp_path, "manage.py", "check", "--deploy", "--tag", "database")
    out, _ = check.communicate(timeout=120)
    assert check.returncode == 0, out
    assert "no issues" in out
