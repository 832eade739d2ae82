"""Settings of the bare project: nothing but a database, as a fresh Django project would have it.

No installed apps and no middleware. The database is `DATABASE_URL` (the bench gives it one of
its own), kept open between requests like the hub's (`CONN_MAX_AGE`, set by the gunicorn
settings) but without Django's per-request `SELECT 1` health check: one request, one statement.
"""

import os

import dj_database_url

SECRET_KEY = "bench-bare-project-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare_project.urls"
USE_TZ = True
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"], conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60"))
    )
}
LOGGING_CONFIG = None
