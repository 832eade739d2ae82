"""The bare project's one view: the raw body into a jsonb column, one cursor call, 200."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path

BARE_PATH = "/bare-insert/"
CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS bare_inbox "
    "(id bigserial PRIMARY KEY, body jsonb NOT NULL, received_at timestamptz DEFAULT now())"
)


def bare_insert(request: HttpRequest) -> JsonResponse:
    """PostgreSQL parses the body as it stores it (jsonb): invalid JSON is its error, a 500.

    The answer names its length, as the hub's does: without middleware nothing else would, and
    gunicorn would send it chunked (more bytes and writes, and a client reading by length).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bare_inbox (body) VALUES (%s) RETURNING id", [request.body.decode()]
        )
        (row_id,) = cursor.fetchone()
    response = JsonResponse({"status": "accepted", "item": row_id})
    response["Content-Length"] = str(len(response.content))
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path(BARE_PATH.lstrip("/"), bare_insert), path("healthz", healthz)]
