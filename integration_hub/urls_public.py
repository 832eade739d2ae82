"""URLs of the base domain: the platform portal, health and inbound webhooks."""

from django.urls import path, re_path
from django.views.generic import RedirectView

from core.admin_sites import platform_admin
from inbox.shipstation_webhooks import shipstation_webhook
from inbox.webhooks import api2cart_webhook
from integration_hub.health import healthz, readyz
from operations.metrics import count_webhooks
from operations.views import metrics

# Never reads the body (Django's own 400 view re-checks CSRF and read a broken form again).
handler400 = "core.middleware.bad_request_view"
# Under /api/ every answer is JSON in the one error body, with DEBUG off too (core/api_errors.py).
handler404 = "core.api_errors.not_found"
handler500 = "core.api_errors.server_error"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", platform_admin.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    # Optional trailing slash: a POST must never hit APPEND_SLASH's redirect (or its DEBUG error).
    re_path(
        r"^webhooks/api2cart/(?P<token>[^/]*)/?$",
        count_webhooks("api2cart")(api2cart_webhook),
        name="api2cart-webhook",
    ),
    re_path(
        r"^webhooks/shipstation/(?P<token>[^/]*)/?$",
        count_webhooks("shipstation")(shipstation_webhook),
        name="shipstation-webhook",
    ),
]
