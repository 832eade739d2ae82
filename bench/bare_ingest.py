"""The web application the webhook bench serves: the hub, plus a bare comparison view.

`/bench/bare-insert/` is a Django view with no middleware that only inserts the request body
into `bench_bare_inbox` (same process, same database and settings, text) and answers 200.
Every other path is the hub's own WSGI application, unchanged. Used only by
`bench/webhook_ingest.py` (`gunicorn -c deploy/gunicorn.conf.py bench.bare_ingest:app`), as
its second yardstick; the first is a project of its own (`bench/bare_project/`).
"""

from __future__ import annotations

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import ResolverMatch, path
from django.urls.resolvers import get_resolver
from django.views.decorators.csrf import csrf_exempt

from integration_hub.wsgi import application as hub_application

BARE_PATH = "/bench/bare-insert/"
CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS public.bench_bare_inbox "
    "(id bigserial PRIMARY KEY, body text NOT NULL, received_at timestamptz DEFAULT now())"
)


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.bench_bare_inbox (body) VALUES (%s) RETURNING id",
            [request.body.decode()],
        )
        (row_id,) = cursor.fetchone()
    response = JsonResponse({"status": "accepted", "item": row_id})
    response["Content-Length"] = str(len(response.content))
    return response


urlpatterns = [path(BARE_PATH.lstrip("/"), bare_insert)]


class BareHandler(WSGIHandler):
    """Django's WSGI handler with no middleware at all, resolving only the bare view."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = get_resolver(__name__).resolve(request.path_info)
        request.resolver_match = match
        return match


bare_application = BareHandler()


def app(environ: dict, start_response):
    if environ.get("PATH_INFO") == BARE_PATH:
        return bare_application(environ, start_response)
    return hub_application(environ, start_response)
