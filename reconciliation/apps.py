from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        from core import sweeper
        from reconciliation import fixes, nightly, services

        services.register_work_kind()
        fixes.register_work_kind()
        sweeper.register(
            sweeper.SweepJob(
                name="nightly reconciliations",
                task="reconciliation.reconcile",
                in_tenants=True,
                find=nightly.due_runs,
                next_due=nightly.next_run_due,
            )
        )
