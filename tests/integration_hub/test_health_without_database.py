"""While PostgreSQL is down: `/healthz` and `/readyz` say 503 on every host (the tenant lookup is
skipped), and webhooks and pages answer 503 with `Retry-After`, never 500 (a sender retries
later); the server starts anyway (its session-state proof cannot run, so it only warns)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from tests.support.harness import ROOT, free_port, wait_until

pytestmark = pytest.mark.e2e  # a gunicorn process


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

        def health(host: str, path: str = "/healthz") -> requests.Response | None:
            try:
                url = f"http://127.0.0.1:{port}{path}"
                return requests.get(url, headers={"Host": host}, timeout=5)
            except requests.RequestException:
                return None

        # A Response is falsy for a 5xx: wait for any answer at all.
        [first] = wait_until(lambda: [r] if (r := health("localhost")) is not None else [], 30)
        assert first.status_code == 503
        assert first.json()["postgresql"].startswith("error")
        for host in ("acme.localhost", "unknown.localhost"):
            assert health(host).status_code == 503
            ready = health(host, "/readyz")
            assert ready.status_code == 503
            assert ready.json()["postgresql"].startswith("error")

        base = f"http://127.0.0.1:{port}"
        for path in ("/webhooks/api2cart/some-token/", "/webhooks/shipstation/some-token/"):
            answer = requests.post(base + path, json={"id": "1"}, timeout=5)
            assert answer.status_code == 503, path
            assert answer.headers["Retry-After"] == "30"
            assert "database" in answer.json()["detail"]
        page = requests.get(base + "/admin/", headers={"Host": "acme.localhost"}, timeout=5)
        assert (page.status_code, page.headers["Retry-After"]) == (503, "30")
    finally:
        web.terminate()
        web.wait(10)
        log.close()
