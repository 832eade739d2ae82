from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The top of the hub: the front pages (figures, worklist, flow lag, progress of long work)
    and the assembled order admin. Lower apps offer what it shows in plain lists it imports."""

    name = "portal"
    verbose_name = "Portal"
