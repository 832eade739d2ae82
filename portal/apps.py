from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The top of the hub: the front pages (figures, worklist, flow lag, progress of long work)
    and the assembled order admin. Lower apps offer what it shows in plain lists it imports."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from core import sweeper
        from portal import flow_lag
        from tenants.models import Tenant

        # Each visited tenant's stored figures, for the platform front page and /metrics.
        sweeper.register(
            sweeper.SweepJob(
                name="tenant figures", task=flow_lag.REFRESH_TASK, in_tenants=True,
                find=flow_lag.due_refresh,
            )
        )  # fmt: skip
        post_save.connect(
            flow_lag.figures_for_new_tenant, sender=Tenant, dispatch_uid="portal-new-tenant"
        )
