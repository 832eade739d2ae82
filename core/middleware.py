"""Request guards that run before any view: tenant routing by host, NUL characters, a cap
on requests in flight, and the short way in for inbound webhooks.

- Tenants are found by host case-insensitively (host names are); a disallowed Host header is a
  400 (django-tenants says 404).
- PostgreSQL refuses NUL in text, so a NUL in the path, the query string or a header would reach a
  query as a DataError (500); it is refused first with a 400 naming where it was.
- The development server starts a thread per request, and each thread opens its own database
  connection: a burst of requests would exhaust PostgreSQL's `max_connections`. At most
  `HUB_WEB_CONCURRENCY` requests run at once per process; the others wait for a slot.
- Webhooks on the base domain are machine-to-machine posts authenticated by their path token:
  sessions, users, CSRF, messages, login throttling and the tenant lookup do nothing for them
  but cost most of the request, so they go straight to their view.
- Django reads a form in the Content-Type's `charset=`, refusing all but UTF-8 with an error
  that its own 400 and 500 pages raised again (a 500): a form naming another charset, or an
  unknown one, is a 400 before anything reads it (`charsets.py` has the rest).
- While PostgreSQL is unreachable the tenant lookup and the webhook fast path answer 503 with
  `Retry-After` instead of a 500 (a sender retries; nothing was accepted), and `/healthz` and
  `/readyz` skip the lookup to say so themselves.
- Every 5xx answer to a store's webhook is noted in Redis (`note_failed_webhook_answer`): API2Cart
  disables a webhook after repeated failures, so the webhook health check looks at the stores'
  webhooks as soon as such a period is over (tenants/webhook_health.py).
- Under `/api/` an unknown URL is a JSON 404, also with DEBUG on, and a PUT/PATCH/DELETE/POST on a
  URL without its trailing slash is one naming the right URL, instead of APPEND_SLASH's redirect
  (which turns the POST into a GET) or, with DEBUG on, its RuntimeError; so is a tenant API
  URL on an unknown host, and an exception no API view answered is a JSON 500.
- Every JSON refusal here is the API's one error body, `{"detail": ..., "errors": {}}`
  (`core/api_errors.py`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template import loader
from django.urls import Resolver404, ResolverMatch, is_valid_path, resolve
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, get_tenant_domain_model, remove_www

from core.api_errors import error_response
from core.charsets import UTF8, shown, text_encoding
from core.redis_client import REDIS_DOWN, fast_redis

logger = logging.getLogger("hub.requests")

JSON_PATH_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/readyz")


HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
"""Answered on any host without looking the tenant up: the lookup reads the database, and the
health check must say 503 when the database is down, not fail before it runs."""

STORE_WEBHOOK_PREFIX = "/webhooks/api2cart/"
PUBLIC_SCHEMA = get_public_schema_name()
WEBHOOK_FAILURES_KEY = "hub:webhook-5xx-at"
"""Redis key holding when the hub last answered a store's webhook with a 5xx (Unix seconds)."""
WEBHOOK_FAILURES_TTL_SECONDS = 24 * 3600


def note_failed_webhook_answer(request: HttpRequest) -> None:
    """Remember that a store's webhook got a 5xx (API2Cart counts these and disables the webhook
    after repeated ones); one Redis SET that never waits long nor raises, since the database
    or Redis may be the very thing that is down (the scheduled check covers a lost note)."""
    if not request.path_info.startswith(STORE_WEBHOOK_PREFIX):
        return
    with contextlib.suppress(*REDIS_DOWN):
        fast_redis().set(WEBHOOK_FAILURES_KEY, time.time(), ex=WEBHOOK_FAILURES_TTL_SECONDS)


class HubTenantMiddleware(TenantMainMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if request.path_info in HEALTH_PATHS:
            connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return None
        try:
            request.get_host()
        except DisallowedHost as exc:
            logger.warning("Refused request with a bad Host header: %s", exc)
            return HttpResponseBadRequest(loader.render_to_string("400.html"))
        try:
            return super().process_request(request)
        except DATABASE_DOWN:
            return database_unavailable(request)
        except Http404:
            if request.path_info.startswith(JsonNotFoundUnderApi.PREFIX):
                return error_response("No tenant at this address.", 404)  # DEBUG on or off
            raise

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        """Host names are case-insensitive: `ACME.localhost` is acme's portal."""
        return remove_www(request.get_host().split(":")[0].lower())

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        domain = (
            domain_model.objects.select_related("tenant")
            .filter(domain__iexact=hostname)
            .order_by("-is_primary", "pk")
            .first()
        )
        if domain is None:
            raise domain_model.DoesNotExist(hostname)
        return domain.tenant


DATABASE_DOWN_RETRY_SECONDS = 30
DATABASE_DOWN = (OperationalError, InterfaceError)
"""What PostgreSQL being unreachable raises (a refused or dropped connection)."""


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with `Retry-After` while PostgreSQL is unreachable: a webhook sender retries later
    (nothing was accepted, so nothing is lost), never a 500."""
    logger.error("PostgreSQL unreachable: %s %s answered 503", request.method, request.path)
    note_failed_webhook_answer(request)
    reason = "The hub's database is unreachable; send it again later."
    if request.path.startswith(JSON_PATH_PREFIXES):
        response = error_response(reason, 503)
    else:
        response = HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(DATABASE_DOWN_RETRY_SECONDS)
    return response


def bad_request(request: HttpRequest, reason: str) -> HttpResponse:
    """JSON for programs (API, webhooks), the hub's 400 page naming the problem for people."""
    if request.path.startswith(JSON_PATH_PREFIXES):
        return error_response(reason, 400)
    return HttpResponseBadRequest(loader.render_to_string("400.html", {"reason": reason}))


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`handler400`: the hub's 400 page (JSON for programs), made without touching the body.

    Django's own 400 view checks the CSRF token first, which reads the form again: a form that
    could not be read (the reason for the 400) raised again and the answer was a 500.
    """
    if request.path.startswith(JSON_PATH_PREFIXES):
        return error_response("Bad request.", 400)
    return HttpResponseBadRequest(loader.render_to_string("400.html"))


def nul_location(request: HttpRequest) -> str | None:
    """Where a NUL character is in the request, described for the answer; None when nowhere."""
    if "\x00" in request.path:
        return "the URL path"
    # Most requests (every webhook) have no query string: nothing to parse then.
    for name, values in request.GET.lists() if request.META.get("QUERY_STRING") else ():
        if "\x00" in name:
            return "a query parameter name"
        if any("\x00" in value for value in values):
            return f"the query parameter '{name}'"
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return f"the {key[5:].replace('_', '-').title()} header"
    return None


class RefuseNulMiddleware:
    """A 400 for a NUL character anywhere the hub might pass on to PostgreSQL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = nul_location(request)
        if where is None:
            return self.get_response(request)
        logger.warning(
            "Refused a request with a NUL character in %s: %s from %s",
            where,
            request.method,
            request.META.get("REMOTE_ADDR", "-"),
        )
        return bad_request(request, f"A NUL character (\\u0000) is not allowed in {where}.")


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseBadCharsetMiddleware:
    """A form (urlencoded or multipart) must be UTF-8: another `charset=` is a 400 naming it,
    answered before the CSRF check or the admin reads the form (with DEBUG on or off)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        named = (getattr(request, "content_params", None) or {}).get("charset")
        if named is None or request.content_type not in FORM_TYPES:
            return self.get_response(request)
        if text_encoding(named) != UTF8:
            logger.warning(
                "Refused a form in the charset %r: %s from %s",
                shown(named),
                request.method,
                request.META.get("REMOTE_ADDR", "-"),
            )
            return bad_request(
                request,
                "Form data must be sent as UTF-8; the Content-Type header names the "
                f"charset '{shown(named)}'.",
            )
        request.encoding = UTF8  # `utf8`, `UTF-8`: the one spelling Django's form reader takes
        return self.get_response(request)


class JsonNotFoundUnderApi:
    """Under `/api/`, a URL that resolves to no view is a JSON 404 (DEBUG on or off), naming the
    URL with its trailing slash when that one exists; GET and HEAD are still redirected there.
    An exception no API view turned into an answer is the error body too (DEBUG's HTML page
    would break every client), logged with its traceback."""

    PREFIX = "/api/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(self.PREFIX):
            return self.get_response(request)
        urlconf = getattr(request, "urlconf", None)
        if is_valid_path(path, urlconf):
            return self.get_response(request)
        detail = "Not found."
        if not path.endswith("/") and is_valid_path(path + "/", urlconf):
            if request.method in ("GET", "HEAD"):
                return self.get_response(request)  # CommonMiddleware's redirect, harmless here
            detail = f"Not found. Did you mean {shown(request.path, 200)}/ (with a trailing slash)?"
        return error_response(detail, 404)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path_info.startswith(self.PREFIX):
            return None
        if isinstance(exception, Http404):
            return error_response("Not found.", 404)
        if isinstance(exception, PermissionDenied):
            return error_response("You do not have permission to perform this action.", 403)
        if isinstance(exception, DATABASE_DOWN):
            return database_unavailable(request)
        logger.error("Internal error: %s %s", request.method, request.path, exc_info=exception)
        return error_response("The hub failed to answer this request; it has been logged.", 500)


class ConcurrencyLimitMiddleware:
    """At most `HUB_WEB_CONCURRENCY` requests in flight per process, each with its database
    connection closed (when `CONN_MAX_AGE` says so) before the next one gets the slot."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return in_a_request_slot(request, self.get_response)


_slots: threading.BoundedSemaphore | None = None
_slots_sized = False
_slots_lock = threading.Lock()


def request_slots() -> threading.BoundedSemaphore | None:
    """The process's `HUB_WEB_CONCURRENCY` slots, made on first use; None for 0, the setting
    for a server that bounds requests itself (gunicorn runs at most its threads at once in a
    process, so a slot per thread would never wait and only cost every request its lock)."""
    global _slots, _slots_sized
    if not _slots_sized:
        with _slots_lock:
            if not _slots_sized:
                size = settings.HUB_WEB_CONCURRENCY
                _slots = threading.BoundedSemaphore(size) if size > 0 else None
                _slots_sized = True
    return _slots


def in_a_request_slot(
    request: HttpRequest, answer: Callable[[HttpRequest], HttpResponse | None]
) -> HttpResponse | None:
    """`answer(request)` in one of the process's request slots (the middleware's and the
    webhook lane's), its connections released before the slot is; a 503 with `Retry-After`
    when no slot frees within `HUB_WEB_QUEUE_SECONDS`. Without slots (`request_slots`) the
    answer runs at once, its connections released all the same."""
    slots = request_slots()
    if slots is None:
        try:
            return answer(request)
        finally:
            release_connections()
    if not slots.acquire(timeout=settings.HUB_WEB_QUEUE_SECONDS):
        logger.warning("No request slot free within %s s", settings.HUB_WEB_QUEUE_SECONDS)
        note_failed_webhook_answer(request)
        response = error_response("The hub is busy; try again shortly.", 503)
        response["Retry-After"] = "5"
        return response
    try:
        return answer(request)
    finally:
        release_connections()
        slots.release()


def release_connections() -> None:
    """What Django does when the response is closed, done before the slot is freed; a
    connection inside a transaction (a test's, or an outer caller's) is left alone."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


class WebhookFastPath:
    """`/webhooks/...` on a host of the public schema goes straight to its view.

    Everything else (tenant hosts, unknown hosts, other paths, a webhook path that matches no
    view) takes the full middleware chain, which answers exactly as before. Whether a host is
    the public schema's is looked up once a minute per process; the host name a `Host` header
    stands for (checked against `ALLOWED_HOSTS`) is remembered per header, since every webhook
    of a store brings the same one.
    """

    PREFIX = "/webhooks/"
    HOST_CHECK_SECONDS = 60.0
    HOSTS_REMEMBERED = 1024

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.public_hosts: dict[str, tuple[bool, float]] = {}
        self.hostnames: dict[str, str] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(self.PREFIX):
            return self.get_response(request)
        try:
            host = self.hostname(request)
        except DisallowedHost:
            return self.get_response(request)
        try:
            if not self.is_public(host):
                return self.get_response(request)
            urlconf = settings.PUBLIC_SCHEMA_URLCONF
            match = webhook_view(request.path_info, urlconf)
            if match is None:
                return self.get_response(request)
            db = connections[DEFAULT_DB_ALIAS]
            if db.schema_name != PUBLIC_SCHEMA:
                db.set_schema_to_public()
            request.urlconf = urlconf
            request.resolver_match = match
            response = match.func(request, *match.args, **match.kwargs)
        except DATABASE_DOWN:
            return database_unavailable(request)
        except Exception:
            note_failed_webhook_answer(request)  # Django turns it into a 500
            raise
        if response.status_code >= 500:
            note_failed_webhook_answer(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    def hostname(self, request: HttpRequest) -> str:
        """The request's host name, or `DisallowedHost`; remembered per `Host` header (not when
        an `X-Forwarded-Host` may stand in for it), at most `HOSTS_REMEMBERED` of them."""
        meta = request.META
        header = meta.get("HTTP_HOST")
        if header is None or "HTTP_X_FORWARDED_HOST" in meta:
            return HubTenantMiddleware.hostname_from_request(request)
        host = self.hostnames.get(header)
        if host is None:
            host = HubTenantMiddleware.hostname_from_request(request)
            if len(self.hostnames) >= self.HOSTS_REMEMBERED:
                self.hostnames.clear()
            self.hostnames[header] = host
        return host

    def is_public(self, host: str) -> bool:
        known = self.public_hosts.get(host)
        now = time.monotonic()
        if known is not None and now - known[1] < self.HOST_CHECK_SECONDS:
            return known[0]
        domain = (
            get_tenant_domain_model()
            .objects.select_related("tenant")
            .filter(domain__iexact=host)
            .order_by("-is_primary", "pk")
            .first()
        )
        public = domain is not None and domain.tenant.schema_name == PUBLIC_SCHEMA
        self.public_hosts[host] = (public, now)
        return public


class WebhookLane:
    """WSGI, in front of Django: a POST to a store's webhook path is answered by `WebhookFastPath`
    without Django's request cycle.

    Django's handler, its request signals and the middleware layers ahead of the fast path cost
    about a quarter of such a request's CPU (docs/benchmarks.md, webhook ingest). The lane keeps
    what they give a webhook: a request slot, the NUL refusal (a request with a NUL goes through
    Django, which answers the 400), the fast path's host check and its 503 while PostgreSQL is
    down, Django's own 500 for an exception (`response_for_exception` logs it, after the fast
    path has noted it for the webhook health check), and the connections released at the end.
    Whatever the fast path does not answer (another host, a path with no view, a form body) goes
    through Django as before.
    """

    def __init__(self, django_app: Any) -> None:
        self.django_app = django_app
        self.fast_path = WebhookFastPath(lambda request: None)

    @property
    def request_class(self) -> type[HttpRequest]:
        return self.django_app.request_class

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if environ.get("REQUEST_METHOD") != "POST" or not environ.get("PATH_INFO", "").startswith(
            STORE_WEBHOOK_PREFIX
        ):
            return self.django_app(environ, start_response)
        request = self.django_app.request_class(environ)
        if request.content_type in FORM_TYPES or nul_location(request) is not None:
            return self.django_app(environ, start_response)
        response = in_a_request_slot(request, self._answer)
        if response is None:
            return self.django_app(environ, start_response)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]

    def _answer(self, request: HttpRequest) -> HttpResponse | None:
        try:
            return self.fast_path(request)
        except Exception as exc:  # what Django's handler would answer, logged the same way
            return response_for_exception(request, exc)


@functools.lru_cache(maxsize=1024)
def webhook_view(path: str, urlconf: str) -> ResolverMatch | None:
    """The view a webhook path resolves to (None when none does), remembered per path: a
    store's webhook path never changes, and resolving walks the portal's URL patterns."""
    try:
        return resolve(path, urlconf=urlconf)
    except Resolver404:
        return None
