"""Instructions per webhook: the hub's WSGI application against the bare project's view.

On the shared 2-core machine `bench/webhook_ingest.py`'s throughput and CPU figures move by
about ±5 % from run to run, more than most changes to the webhook path; a count of instructions
does not. Each side runs in one process under `valgrind --tool=callgrind`, with no server and
no load generator: its WSGI application is called as gunicorn calls it (gunicorn's environ, an
order webhook with a new body each time, `HUB_WEB_CONCURRENCY` 0 as the gunicorn settings set
it, the inbox publisher and the rate tally sending full batches as they do at the ingest bench's
rate), once, and in a second process `--requests` more times. The difference over `--requests` is
the count per webhook, start-up and warm-up cancelling out. The databases are real (set up as
the ingest bench sets them up); PostgreSQL's own work and the kernel's side of each call are not
counted. Needs valgrind (`apt-get install valgrind`). Prints one JSON line. Usage:
  .venv/bin/python bench/webhook_instructions.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.webhook_ingest import HEADERS, order_body, prepare_databases  # noqa: E402

SIDES = ("hub", "bare")
WARM_UP = 50
COLLECTED = re.compile(r"Collected : (\d+)")


def gunicorn_environ(path: str, body: bytes, port: int) -> dict:
    """The environ gunicorn's worker builds for a webhook POST (keys and kinds of value)."""
    environ = {
        "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.input_terminated": True,
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "gunicorn.socket": None,
        "SERVER_SOFTWARE": "gunicorn", "REQUEST_METHOD": "POST", "QUERY_STRING": "",
        "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": f"127.0.0.1:{port}",
        "CONTENT_TYPE": HEADERS["Content-Type"], "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(port), "PATH_INFO": path, "SCRIPT_NAME": "",
    }  # fmt: skip
    for name, value in HEADERS.items():
        if name != "Content-Type":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def drive(side: str, path: str, count: int) -> None:
    """Call `side`'s WSGI application `WARM_UP` + `count` times (run under valgrind)."""
    if side == "bare":
        from bench.bare_project.wsgi import application
    else:
        from inbox import webhook_rate, webhooks
        from integration_hub.wsgi import application

        # Under valgrind a request takes ~50 times as long, so the publisher's and the rate
        # tally's timers would fire with a few items each; at the ingest bench's rate each
        # flush and each report carries a full batch, so here they go by count alone.
        webhooks.new_items.interval = 3600
        webhook_rate.REPORT_SECONDS = 3600
    first = random.SystemRandom().randrange(10**9, 10**12)  # bodies no earlier run has sent
    statuses = set()

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        statuses.add(status)

    for number in range(first, first + WARM_UP + count):
        answer = application(gunicorn_environ(path, order_body(number), 8930), start_response)
        b"".join(answer)
        if hasattr(answer, "close"):
            answer.close()
    if statuses != {"200 OK"}:
        raise SystemExit(f"{side} answered {sorted(statuses)}")


def instructions(side: str, path: str, count: int, env: dict[str, str]) -> int:
    """Instructions of one process calling `side`'s application `WARM_UP` + `count` times."""
    ran = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--drive", side, "--path", path, "--requests", str(count)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    found = COLLECTED.findall(ran.stderr)
    if ran.returncode != 0 or not found:
        raise SystemExit(f"{side} under valgrind failed:\n{ran.stderr[-2000:]}")
    return int(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database", default="bench_webhook_ingest")
    parser.add_argument("--bare-database", default="bench_webhook_bare")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--drive", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        import django

        django.setup()
        drive(args.drive, args.path, args.requests)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")

    hub_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "REDIS_URL": args.redis_url, "CELERY_BROKER_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "integration_hub.settings", "LOG_LEVEL": "WARNING",
        "DEBUG": "0", "CONN_MAX_AGE": "60", "HUB_WEB_CONCURRENCY": "0", "PYTHONHASHSEED": "0",
    }  # fmt: skip
    os.environ.update(hub_env)
    token = prepare_databases(args.database, args.bare_database, args.redis_url)
    from bench.bare_project.urls import BARE_PATH

    bare_env = {
        **hub_env,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.bare_database}",
        "DJANGO_SETTINGS_MODULE": "bench.bare_project.settings",
    }
    runs = {
        "hub": (f"/webhooks/api2cart/{token}/", hub_env),
        "bare": (BARE_PATH, bare_env),
    }
    with ThreadPoolExecutor(2) as pool:  # one valgrind per core
        counts = {
            (side, count): pool.submit(instructions, side, path, count, env)
            for side, (path, env) in runs.items()
            for count in (0, args.requests)
        }
        per_webhook = {
            side: round((counts[side, args.requests].result() - counts[side, 0].result())
                        / args.requests)
            for side in SIDES
        }  # fmt: skip
    print(
        json.dumps(
            {
                "bench": "webhook_instructions",
                "requests": args.requests,
                "hub_instructions_per_webhook": per_webhook["hub"],
                "bare_instructions_per_webhook": per_webhook["bare"],
                "ratio": round(per_webhook["bare"] / per_webhook["hub"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
