"""Settings from environment variables, with local defaults that work on a developer machine.

`HUB_ENV=production` refuses to start without a real `SECRET_KEY` and `HUB_ENCRYPTION_KEYS`.
"""

import base64
import hashlib
import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HUB_VAR_DIR", BASE_DIR / "var"))

HUB_ENV = os.environ.get("HUB_ENV", "development")
PRODUCTION = HUB_ENV == "production"
DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production"

SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else DEV_SECRET_KEY)
DEBUG = os.environ.get("DEBUG", "0" if PRODUCTION else "1") == "1"


def _dev_encryption_key() -> str:
    """A Fernet key derived from the dev secret; production must bring its own keys."""
    return base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()


# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation: prepend a new key,
# run `manage.py rotate_encryption_keys`, then drop the old one).
HUB_ENCRYPTION_KEYS = [
    key.strip()
    for key in os.environ.get(
        "HUB_ENCRYPTION_KEYS", "" if PRODUCTION else _dev_encryption_key()
    ).split(",")
    if key.strip()
]

if PRODUCTION:
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("HUB_ENV=production needs a real SECRET_KEY (40+ characters).")
    if not HUB_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("HUB_ENV=production needs HUB_ENCRYPTION_KEYS (Fernet keys).")

HUB_BASE_DOMAIN = os.environ.get("HUB_BASE_DOMAIN", "localhost")
# Development points upstreams at the local sandbox; production refuses private addresses.
HUB_ALLOW_PRIVATE_UPSTREAMS = (
    os.environ.get("HUB_ALLOW_PRIVATE_UPSTREAMS", "0" if PRODUCTION else "1") == "1"
)
HUB_PUBLIC_URL = os.environ.get("HUB_PUBLIC_URL", f"http://{HUB_BASE_DOMAIN}:8000")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "ALLOWED_HOSTS", f"{HUB_BASE_DOMAIN},.{HUB_BASE_DOMAIN},127.0.0.1,testserver"
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip()
    for o in os.environ.get("CSRF_TRUSTED_ORIGINS", f"http://*.{HUB_BASE_DOMAIN}:8000").split(",")
    if o.strip()
]

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served as static files, no CDN
    "axes",
    "core",
    "inbox",
    "alerts",  # alert episodes in public; raised from every flow (alerts/services.py)
    # Personal data: retention, erasure on request, exports (its audit rows live in public,
    # beside the activity log; its work runs in each tenant's schema).
    "privacy",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "axes",
    "core",
    "tenant_settings",
    "orders",
    "catalog",
    "shipping",
    "invoicing",
    "reconciliation",
    "portal",  # top: front pages and the assembled order admin (no models)
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
# The project's wiring (no models): its system checks and start-up proofs.
INSTALLED_APPS.append("integration_hub.apps.HubConfig")
if not PRODUCTION:
    INSTALLED_APPS.append("demo")  # `seed_demo`; never in production (docs/adr-0004)

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "integration_hub.urls_public"
ROOT_URLCONF = "integration_hub.urls_tenant"
# New tenants are cloned from this migrated schema, so provisioning cost stays flat.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True

MIDDLEWARE = [
    "core.middleware.ConcurrencyLimitMiddleware",
    "core.middleware.RefuseBadCharsetMiddleware",
    "core.middleware.RefuseNulMiddleware",
    "core.middleware.WebhookFastPath",
    "core.middleware.HubTenantMiddleware",
    "core.middleware.JsonNotFoundUnderApi",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "integration_hub.wsgi.application"

# Connections are sized to the server in use (README, "Database connections"): the development
# server starts a thread per request, so a kept connection is never reused and only piles up
# (0 closes it when the request ends); a server or Celery pool with a fixed set of threads or
# processes keeps one each, checked before reuse.
RUNSERVER = sys.argv[1:2] == ["runserver"]
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/integration_hub"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0" if RUNSERVER else "60")),
        conn_health_checks=True,
    )
}
# Requests in flight per web process (each holds a database connection); more wait for a slot,
# and answer 503 after HUB_WEB_QUEUE_SECONDS. 0 for a server that bounds them itself (gunicorn:
# its threads per process), so the hub keeps no slots.
HUB_WEB_CONCURRENCY = int(os.environ.get("HUB_WEB_CONCURRENCY", "16"))
HUB_WEB_QUEUE_SECONDS = float(os.environ.get("HUB_WEB_QUEUE_SECONDS", "30"))
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# `SET search_path` once per connection and schema switch, not before every statement (this
# django-tenants forgets it on rollback and savepoint rollback, so it is never stale).
TENANT_LIMIT_SET_CALLS = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# The web process serves /static/ itself (WhiteNoise) from what `collectstatic` gathered in
# STATIC_ROOT (`make demo` and deploy run it), read once at start, with DEBUG on too, compressed
# copies to clients that take them. Production names each file by its content hash, so browsers
# cache it for good; elsewhere names stay plain, so tests and the development server (which
# serves the apps' files itself) need no `collectstatic` first.
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the portal's own stylesheet (static/hub/)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "integration_hub.static_files.GzipStaticFilesStorage"
    },
}
# Source maps are read by a developer's browser tools only: not worth compressing (seconds each).
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Webhook bodies above this size are refused with 413 before they are read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Login throttling: per schema (AccessAttempt lives in each tenant schema), by user name + IP
# (HUB_LOGIN_FAILURE_LIMIT) and by IP whatever the user names (HUB_LOGIN_ADDRESS_FAILURE_LIMIT);
# tenants/login_limits.py gives each parameter its limit. Failed logins and lockouts are audited
# once per address (and locked user name) and HUB_LOGIN_FAILURE_WINDOW seconds, the rest counted.
HUB_LOGIN_FAILURE_LIMIT = int(
    os.environ.get("HUB_LOGIN_FAILURE_LIMIT", os.environ.get("AXES_FAILURE_LIMIT", "5"))
)
HUB_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("HUB_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
HUB_LOGIN_FAILURE_WINDOW = int(os.environ.get("HUB_LOGIN_FAILURE_WINDOW", "300"))
AXES_FAILURE_LIMIT = "tenants.login_limits.failure_limit"
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "tenants.login_limits.LoginAttempts"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Failed API token attempts per address and tenant: one audit row per window, 429 past the limit.
HUB_TOKEN_FAILURE_WINDOW = int(os.environ.get("HUB_TOKEN_FAILURE_WINDOW", "300"))
HUB_TOKEN_FAILURE_LIMIT = int(os.environ.get("HUB_TOKEN_FAILURE_LIMIT", "20"))
# Webhook deliveries accepted per store (API2Cart) or tenant (ShipStation) and minute, across
# processes (Redis); more get 429 + Retry-After and come back by failed-webhook replay and
# polling. Far above a real store's burst and the ingest bench's ~145,000 a minute.
HUB_WEBHOOK_STORE_RATE = int(os.environ.get("HUB_WEBHOOK_STORE_RATE", "300000"))
# `/metrics` (base domain only) answers a scraper with this bearer token or from these
# comma-separated addresses or networks; with neither set it answers nobody (README, Operating).
HUB_METRICS_TOKEN = os.environ.get("HUB_METRICS_TOKEN", "")
HUB_METRICS_ALLOWED_IPS = os.environ.get("HUB_METRICS_ALLOWED_IPS", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenant_settings.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser"],
    # JSON only, as the schema says (no browsable HTML pages; the docs are /api/docs/).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("HUB_API_RATE", "600/min")},
    # Every refusal is {"detail": ..., "errors": {path: [...]}} (core/api_errors.py).
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Integration hub API",
    "DESCRIPTION": "Order input and status for a tenant of the integration hub.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page loads its assets from this site's /static/, pinned by the sidecar package.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request and response shapes apart: what a client sends is checked more strictly.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"OrderStateEnum": "orders.models.Order.State"},
    # Every answer each operation can give, with the one error body, and the links between
    # operations (integration_hub/api_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integration_hub.api_schema.document_every_answer",
    ],
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# An unacknowledged message goes back to the queue after this long. Sized to the longest wait a
# message holds in a worker (a retry's countdown, at most HUB_RETRY_CAP_SECONDS, 600 s) and the
# longest task measured (a full catalog read, ~30 s for 100,000 SKUs; deploy/README.md), not an
# hour: a node that dies takes its messages with it for 15 minutes at most. A task running
# longer is delivered once more meanwhile, and that copy finds its work item leased or done.
HUB_BROKER_VISIBILITY_SECONDS = int(os.environ.get("HUB_BROKER_VISIBILITY_SECONDS", "900"))
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": HUB_BROKER_VISIBILITY_SECONDS}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = "UTC"
# One queue per kind of work, so a slow upstream only holds up its own kind (deploy/README.md):
# a worker started without -Q consumes them all (demo, tests); production runs nodes per queue.
HUB_QUEUES = ("ingest", "erp", "shipstation", "store", "catalog", "hub", "sweep")
CELERY_TASK_DEFAULT_QUEUE = "hub"
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in HUB_QUEUES]
CELERY_TASK_ROUTES = {
    # The sweeper tick alone: never behind a burst of webhooks (ticks never overlap, a lock).
    "core.sweep": {"queue": "sweep"},
    # Webhook and poll ingest, routing of store orders, webhook health checks.
    "inbox.*": {"queue": "ingest"},
    "core.*": {"queue": "ingest"},
    "tenants.check_store_webhooks": {"queue": "ingest"},
    # Everything that waits on M3.
    "orders.process_order": {"queue": "erp"},
    "orders.process_orders": {"queue": "erp"},
    "orders.discard_abandoned_batch": {"queue": "erp"},
    "orders.check_file_skus": {"queue": "erp"},
    "shipping.poll_erp_deliveries": {"queue": "erp"},
    "invoicing.read_invoices": {"queue": "erp"},
    "tenant_settings.check_connection": {"queue": "erp"},
    # ShipStation's 40 calls a minute.
    "shipping.push_orders_to_shipstation": {"queue": "shipstation"},
    "shipping.poll_shipstation_shipments": {"queue": "shipstation"},
    # Calls back to the stores (API2Cart writes).
    "shipping.post_shipment": {"queue": "store"},
    "invoicing.push_store_status": {"queue": "store"},
    "catalog.*": {"queue": "catalog"},
}
# Several beat processes may run (one per machine, for failover); only the one holding the
# Redis lease sends the schedule, so every tick is sent exactly once.
CELERY_BEAT_SCHEDULER = "integration_hub.celery:SingleBeatScheduler"
HUB_BEAT_LEASE_SECONDS = int(os.environ.get("HUB_BEAT_LEASE_SECONDS", "30"))
HUB_SWEEP_SECONDS = float(os.environ.get("HUB_SWEEP_SECONDS", "15"))
CELERY_BEAT_SCHEDULE = {
    # A tick still queued when the next is sent is dropped (it would find nothing new).
    "sweep": {
        "task": "core.sweep",
        "schedule": HUB_SWEEP_SECONDS,
        "options": {"expires": HUB_SWEEP_SECONDS},
    },
}
# Retry schedules in time (core/retry.py, docs/adr-0012-retry-schedules.md): a failing item
# waits from HUB_RETRY_FIRST_SECONDS, doubling up to HUB_RETRY_CAP_SECONDS (jittered, never
# sooner than Retry-After), and is *failed* only when an attempt fails HUB_RETRY_GIVE_UP_HOURS
# after the first failure of its run. HUB_MAX_ATTEMPTS is an optional cap on attempts per run
# (0: none, the schedule decides).
HUB_RETRY_FIRST_SECONDS = float(os.environ.get("HUB_RETRY_FIRST_SECONDS", "2"))
HUB_RETRY_CAP_SECONDS = float(os.environ.get("HUB_RETRY_CAP_SECONDS", "600"))
HUB_RETRY_GIVE_UP_HOURS = float(os.environ.get("HUB_RETRY_GIVE_UP_HOURS", "24"))
HUB_MAX_ATTEMPTS = int(os.environ.get("HUB_MAX_ATTEMPTS", "0"))
# Circuit breaker per (tenant schema, upstream) (core/breaker.py): this many failed attempts in a
# row of one kind on one upstream within the window pause that upstream's failing items for the
# cool-down; then one attempt probes it (0 failures: no breaker).
HUB_BREAKER_FAILURES = int(os.environ.get("HUB_BREAKER_FAILURES", "5"))
HUB_BREAKER_WINDOW_SECONDS = float(os.environ.get("HUB_BREAKER_WINDOW_SECONDS", "120"))
HUB_BREAKER_COOL_DOWN_SECONDS = float(os.environ.get("HUB_BREAKER_COOL_DOWN_SECONDS", "60"))
# A worker's lease on an item, renewed every third of it while the work runs (core/work.py).
HUB_LEASE_SECONDS = int(os.environ.get("HUB_LEASE_SECONDS", "30"))
HUB_SWEEP_GRACE_SECONDS = int(os.environ.get("HUB_SWEEP_GRACE_SECONDS", "20"))
HUB_SWEEP_CAP_PER_TENANT = int(os.environ.get("HUB_SWEEP_CAP_PER_TENANT", "500"))
# A tick visits only the tenant schemas woken for it (core/sweeper.py); as a safety net each
# active tenant is also checked once per this period, spread over the ticks.
HUB_SWEEP_FULL_PASS_SECONDS = int(os.environ.get("HUB_SWEEP_FULL_PASS_SECONDS", "3600"))
# 1: every tick visits every active tenant schema, as before wake-ups (a comparison for
# bench/tenants_idle.py, and an escape hatch); its cost grows with the number of tenants.
HUB_SWEEP_VISIT_ALL = os.environ.get("HUB_SWEEP_VISIT_ALL", "") == "1"
HUB_ATTEMPT_RETENTION_DAYS = int(os.environ.get("HUB_ATTEMPT_RETENTION_DAYS", "30"))
# Reconciliation (docs/backfill-and-reconciliation.md): the default window, and how old a store
# order must be before its absence from the hub is a mismatch (its webhook may be on its way).
HUB_RECONCILIATION_DAYS = int(os.environ.get("HUB_RECONCILIATION_DAYS", "7"))
HUB_RECONCILIATION_GRACE_MINUTES = int(os.environ.get("HUB_RECONCILIATION_GRACE_MINUTES", "15"))
# Personal data (docs/personal-data.md): a done order's shopper data is removed this many days
# after it is done (a tenant may set its own period); store-order inbox bodies that created
# nothing are cut to ids after HUB_INBOX_RETENTION_DAYS (items parked for a person never are).
# Each run removes in batches of HUB_PRIVACY_BATCH_SIZE orders, one set of UPDATEs a batch.
HUB_PERSONAL_DATA_RETENTION_DAYS = int(os.environ.get("HUB_PERSONAL_DATA_RETENTION_DAYS", "90"))
HUB_INBOX_RETENTION_DAYS = int(os.environ.get("HUB_INBOX_RETENTION_DAYS", "30"))
HUB_PRIVACY_BATCH_SIZE = int(os.environ.get("HUB_PRIVACY_BATCH_SIZE", "5000"))
# Alerts (alerts/services.py): an open episode is told once, then again after the repeat
# period; a tenant told more than HUB_ALERT_MAX_PER_HOUR times in an hour gets the rest in its
# daily digest (sent at HUB_ALERT_DIGEST_HOUR UTC). Items due and not taken up for
# HUB_ALERT_FLOW_LAG_MINUTES raise "flow falling behind" (0: never). Platform staff hear every
# alert at HUB_PLATFORM_ALERT_EMAILS (comma-separated) and HUB_PLATFORM_ALERT_CHAT_WEBHOOK.
HUB_ALERT_REPEAT_HOURS = float(os.environ.get("HUB_ALERT_REPEAT_HOURS", "24"))
HUB_ALERT_MAX_PER_HOUR = int(os.environ.get("HUB_ALERT_MAX_PER_HOUR", "10"))
HUB_ALERT_DIGEST_HOUR = int(os.environ.get("HUB_ALERT_DIGEST_HOUR", "7"))
HUB_ALERT_FLOW_LAG_MINUTES = float(os.environ.get("HUB_ALERT_FLOW_LAG_MINUTES", "30"))
HUB_ALERT_RETRY_SECONDS = float(os.environ.get("HUB_ALERT_RETRY_SECONDS", "300"))
HUB_PLATFORM_ALERT_EMAILS = os.environ.get("HUB_PLATFORM_ALERT_EMAILS", "")
HUB_PLATFORM_ALERT_CHAT_WEBHOOK = os.environ.get("HUB_PLATFORM_ALERT_CHAT_WEBHOOK", "")
# Alert e-mail goes through Django's mail settings; development prints it to the worker's log.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "integration-hub@localhost")
# Each push store's webhooks are listed this often (and after any period of 5xx answers to
# them); ones API2Cart disabled are turned back on (tenants/webhook_health.py).
HUB_WEBHOOK_CHECK_MINUTES = float(os.environ.get("HUB_WEBHOOK_CHECK_MINUTES", "5"))
# `setup_hub` migrates only the schemas behind; when several are, django-tenants' executor named
# here runs them: `schema-batches` (tenants/migration_state.py: one plan per batch of schemas)
# with one process per core by default, or `multiprocessing` (one `migrate` per schema).
HUB_MIGRATION_EXECUTOR = os.environ.get("HUB_MIGRATION_EXECUTOR", "schema-batches")
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(
    os.environ.get("HUB_MIGRATION_PROCESSES", str(os.cpu_count() or 2))
)
# Tenant schemas cloned ahead, so creating a tenant stays flat however many exist.
HUB_SPARE_SCHEMAS = int(os.environ.get("HUB_SPARE_SCHEMAS", "2"))
# ERP-confirmed orders gather this long before one ShipStation push sends them (≤100 a call);
# once 100 are waiting they go at once (shipping/shipstation_push.py). When the tenant's last
# call with fewer than 100 orders is longer ago than that, orders gather only the quiet window:
# at most one part-filled call per window either way.
HUB_SHIPSTATION_PUSH_SECONDS = float(os.environ.get("HUB_SHIPSTATION_PUSH_SECONDS", "10"))
HUB_SHIPSTATION_QUIET_PUSH_SECONDS = float(
    os.environ.get("HUB_SHIPSTATION_QUIET_PUSH_SECONDS", "2")
)
# Store orders wait this long before their ERP step, so the orders arriving meanwhile share its
# three M3 bulk calls (docs/adr-0009-batched-work.md); 0 sends them on at once.
HUB_ERP_GATHER_SECONDS = float(os.environ.get("HUB_ERP_GATHER_SECONDS", "1"))
HUB_SHIPMENT_POLL_SECONDS = int(os.environ.get("HUB_SHIPMENT_POLL_SECONDS", "300"))
# How often each tenant's open orders are checked for ERP invoices and payment.
HUB_INVOICE_READ_SECONDS = int(os.environ.get("HUB_INVOICE_READ_SECONDS", "300"))
# Work items one attempt takes at most (orders and the other tenant work): a full ERP bulk call
# without holding many leases long; a worker fills its batch from the backlog, and the sweeper
# resends due items in messages of this size.
HUB_BATCH_SIZE = int(os.environ.get("HUB_BATCH_SIZE", "50"))
# Inbox items one ingest attempt takes at most: a batch's store orders come in one `order.list`
# per store (one page: API2Cart's pages hold 250), so a larger batch spreads that call's wait over
# more orders (each attempt's CPU grows with it, its wait does not).
HUB_INBOX_BATCH_SIZE = int(os.environ.get("HUB_INBOX_BATCH_SIZE", "200"))
# An ERP-refused or failed order's open batch order is deleted after this (cancelled: at once).
HUB_ERP_BATCH_GRACE_MINUTES = int(os.environ.get("HUB_ERP_BATCH_GRACE_MINUTES", "60"))
# Order files uploaded in the portal (CSV, .xlsx), checked while they are read, each limit at
# its first breach (orders/files/reading.py). A workbook's zip is checked at upload; its sheet is
# read by a worker. The cell limit counts non-empty cells; 32,767 characters is Excel's maximum.
HUB_ORDER_FILE_MAX_BYTES = int(os.environ.get("HUB_ORDER_FILE_MAX_BYTES", str(20 * 2**20)))
HUB_ORDER_FILE_MAX_ROWS = int(os.environ.get("HUB_ORDER_FILE_MAX_ROWS", "10000"))
HUB_ORDER_FILE_MAX_COLUMNS = int(os.environ.get("HUB_ORDER_FILE_MAX_COLUMNS", "300"))
HUB_ORDER_FILE_MAX_CELLS = int(os.environ.get("HUB_ORDER_FILE_MAX_CELLS", "1000000"))
HUB_ORDER_FILE_MAX_CELL_CHARS = int(os.environ.get("HUB_ORDER_FILE_MAX_CELL_CHARS", "32767"))
HUB_ORDER_XLSX_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("HUB_ORDER_XLSX_MAX_UNCOMPRESSED_BYTES", str(256 * 2**20))
)
HUB_ORDER_XLSX_MAX_MEMBER_BYTES = int(
    os.environ.get("HUB_ORDER_XLSX_MAX_MEMBER_BYTES", str(128 * 2**20))
)
HUB_ORDER_XLSX_MAX_RATIO = int(os.environ.get("HUB_ORDER_XLSX_MAX_RATIO", "100"))
HUB_ORDER_XLSX_MAX_MEMBERS = int(os.environ.get("HUB_ORDER_XLSX_MAX_MEMBERS", "1000"))

SANDBOX_URL = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8900")

# Every handler redacts webhook tokens (they are in the callback URL's path), the development
# server's access lines included; production access-log formats are in the README.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "core.redaction.RedactSecrets"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
