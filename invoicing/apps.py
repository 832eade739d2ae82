from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = "Invoicing"

    def ready(self) -> None:
        from core import sweeper
        from invoicing import services

        services.register_work_kind()
        sweeper.register(
            sweeper.SweepJob(
                name="ERP invoice reads",
                task=services.READ_TASK,
                in_tenants=True,
                find=services.due_invoice_read,
            )
        )
