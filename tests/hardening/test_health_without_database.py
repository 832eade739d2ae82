"""`/healthz` says 503 when PostgreSQL is down, on every host (the tenant lookup is skipped)."""

from __future__ import annotations

import os
import subprocess
import sys

import requests

from tests.harness import ROOT, free_port, wait_until


def test_healthz_answers_503_not_500_while_the_database_is_unreachable(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/gone"}
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 (closed with the process)
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "integration_hub.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", "1", "--control-socket", str(tmp_path / "gunicorn.ctl")],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:

        def health(host: str) -> requests.Response | None:
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                return requests.get(url, headers={"Host": host}, timeout=5)
            except requests.RequestException:
                return None

        # A Response is falsy for a 5xx: wait for any answer at all.
        [first] = wait_until(lambda: [r] if (r := health("localhost")) is not None else [], 30)
        assert first.status_code == 503
        assert first.json()["postgresql"].startswith("error")
        for host in ("acme.localhost", "unknown.localhost"):
            assert health(host).status_code == 503
    finally:
        web.terminate()
        web.wait(10)
        log.close()
