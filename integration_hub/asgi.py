import os

from django.core.asgi import get_asgi_application

from core.charsets import HubASGIRequest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
application = get_asgi_application()
# A Content-Type charset that is no character set (rot13, base64) is not taken as the encoding.
application.request_class = HubASGIRequest
