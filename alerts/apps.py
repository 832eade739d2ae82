from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts import receivers, services
        from core import sweeper

        receivers.connect()
        sweeper.register(
            sweeper.SweepJob(
                name="alerts to send",
                task=services.DELIVER_TASK,
                in_tenants=False,
                find=services.due_deliveries,
            )
        )
        sweeper.register(
            sweeper.SweepJob(
                name="alert digests",
                task="alerts.send_digests",
                in_tenants=False,
                find=services.due_digests,
            )
        )
