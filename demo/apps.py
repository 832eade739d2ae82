from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Holds `manage.py seed_demo`; no models, never installed in production."""

    name = "demo"
    verbose_name = "Demo"
