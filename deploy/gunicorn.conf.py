"""Gunicorn settings for the hub's web processes (`gunicorn -c deploy/gunicorn.conf.py`).

Each process runs `HUB_WEB_THREADS` threads and keeps one PostgreSQL connection per thread
(`CONN_MAX_AGE`, checked before reuse), so a web machine holds at most
`HUB_WEB_WORKERS × HUB_WEB_THREADS` connections: budget PostgreSQL's `max_connections` (or the
session pooler's pool) from that (README, "Database connections"). The access log leaves out the
request line, because a store's webhook token is part of its path.

Hooks: before it binds, the server proves its database connection keeps session state (a
transaction-pooling PgBouncer is refused with one line, `integration_hub/session_state.py`); a
worker told to stop (SIGTERM, or SIGINT/SIGQUIT) answers `/readyz` with 503 from that moment
while it finishes its requests, so the load balancer takes it out first.
"""

import multiprocessing
import os
import signal

bind = [os.environ.get("HUB_WEB_BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("HUB_WEB_WORKERS", str(multiprocessing.cpu_count() + 1)))
threads = int(os.environ.get("HUB_WEB_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
# Requests in flight per process = threads: gunicorn bounds them itself, so the hub keeps no
# request slots of its own (0; a slot per thread would never wait, and costs a lock per request).
os.environ.setdefault("HUB_WEB_CONCURRENCY", "0")
os.environ.setdefault("CONN_MAX_AGE", "60")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
wsgi_app = "integration_hub.wsgi:application"

backlog = int(os.environ.get("HUB_WEB_BACKLOG", "2048"))
timeout = int(os.environ.get("HUB_WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle processes now and then (jittered so they do not all restart together).
max_requests = int(os.environ.get("HUB_WEB_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# Loaded once, then forked: faster start, shared memory; no connection is opened at import.
preload_app = True
# No shared control socket in $HOME: several servers (benches, a second site) may run at once.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips

accesslog = os.environ.get("HUB_WEB_ACCESS_LOG") or None
access_log_format = '%(h)s %(t)s "%(m)s" %(s)s %(B)s %(L)s'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_starting(server) -> None:
    """Refuse to serve on a connection that loses session state (exit 78, one line)."""
    import django

    django.setup()  # already done when the app is preloaded
    from integration_hub.session_state import refuse_without_session_state

    refuse_without_session_state("web")


def post_worker_init(worker) -> None:
    """SIGTERM still stops the worker gracefully, but first marks it draining for `/readyz`."""
    from integration_hub.health import start_draining

    stop_gracefully = signal.getsignal(signal.SIGTERM)

    def drain(signum, frame) -> None:
        start_draining()
        if callable(stop_gracefully):
            stop_gracefully(signum, frame)

    signal.signal(signal.SIGTERM, drain)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn has it: requests are not interrupted


def worker_int(worker) -> None:
    """SIGINT/SIGQUIT: a quick stop, draining too for as long as it lasts."""
    from integration_hub.health import start_draining

    start_draining()
