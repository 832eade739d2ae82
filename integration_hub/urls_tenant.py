"""URLs of a tenant's domain: its portal, its API and health."""

from django.urls import path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.admin_sites import tenant_admin
from integration_hub.health import healthz, readyz
from invoicing.api import OrderInvoiceView
from orders.intake.api import OrderDetailView, OrderListCreateView
from tenant_settings.api import WhoAmIView

# Never reads the body (Django's own 400 view re-checks CSRF and read a broken form again).
handler400 = "core.middleware.bad_request_view"
# Under /api/ every answer is JSON in the one error body, with DEBUG off too (core/api_errors.py).
handler404 = "core.api_errors.not_found"
handler500 = "core.api_errors.server_error"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", tenant_admin.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/v1/me/", WhoAmIView.as_view(), name="api-me"),
    path("api/v1/orders/", OrderListCreateView.as_view(), name="api-orders"),
    path("api/v1/orders/<int:pk>/", OrderDetailView.as_view(), name="api-order-detail"),
    path("api/v1/orders/<int:pk>/invoice", OrderInvoiceView.as_view(), name="api-order-invoice"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
