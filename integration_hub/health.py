"""Health for load balancers and monitors.

- `/healthz`: 200 only when PostgreSQL and Redis both answer (is the hub working?).
- `/readyz`: the same, and 503 as soon as this process is draining (it received SIGTERM and
  finishes what it has): a load balancer stops sending it requests before it is gone. The flag
  is set by the web server's signal hooks (`deploy/gunicorn.conf.py`), per process.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

_draining = threading.Event()


def start_draining() -> None:
    """From now on `/readyz` answers 503 in this process (called from a signal handler)."""
    _draining.set()


def is_draining() -> bool:
    return _draining.is_set()


def stop_draining() -> None:
    """Only for tests: a process never comes back from draining."""
    _draining.clear()


def service_checks() -> dict[str, str]:
    """For PostgreSQL and Redis: "ok", or the class name of the error met."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["postgresql"] = "ok"
    except Exception as exc:  # any failure means unhealthy; the message says which
        checks["postgresql"] = f"error: {exc.__class__.__name__}"
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    return checks


def _answer(status: str, checks: dict[str, str], healthy: bool) -> JsonResponse:
    return JsonResponse({"status": status, **checks}, status=200 if healthy else 503)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = service_checks()
    healthy = all(value == "ok" for value in checks.values())
    return _answer("ok" if healthy else "unhealthy", checks, healthy)


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Draining is answered first, without touching PostgreSQL or Redis."""
    if is_draining():
        return _answer("draining", {}, healthy=False)
    checks = service_checks()
    ready = all(value == "ok" for value in checks.values())
    return _answer("ready" if ready else "unavailable", checks, ready)
