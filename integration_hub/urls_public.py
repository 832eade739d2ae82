"""URLs of the base domain: the platform portal, health and inbound webhooks."""

from django.urls import path
from django.views.generic import RedirectView

from integration_hub.admin_sites import platform_admin
from integration_hub.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", platform_admin.urls),
    path("healthz", healthz, name="healthz"),
]
