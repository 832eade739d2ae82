import os

from django.core.wsgi import get_wsgi_application

from core.charsets import HubWSGIRequest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
django_application = get_wsgi_application()
# A Content-Type charset that is no character set (rot13, base64) is not taken as the encoding.
django_application.request_class = HubWSGIRequest

# Imported once Django is set up: the middleware module reaches the apps' models.
from core.middleware import WebhookLane  # noqa: E402

# Store webhooks skip Django's request cycle (core.middleware.WebhookLane); the rest is Django's.
application = WebhookLane(django_application)
