import os

from django.core.wsgi import get_wsgi_application

from core.charsets import HubWSGIRequest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")
application = get_wsgi_application()
# A Content-Type charset that is no character set (rot13, base64) is not taken as the encoding.
application.request_class = HubWSGIRequest
