from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Platform"

    def ready(self) -> None:
        from core import sweeper
        from core.admin import audit_admin_actions_with
        from tenants import signals  # noqa: F401
        from tenants.activity import record_activity
        from tenants.spare_schemas import CLONE_TASK, due_spare_clones
        from tenants.webhook_health import CHECK_TASK, due_checks

        sweeper.register(
            sweeper.SweepJob(
                name="spare tenant schemas", task=CLONE_TASK, in_tenants=False,
                find=due_spare_clones,
            )
        )  # fmt: skip
        sweeper.register(
            sweeper.SweepJob(
                name="webhook health", task=CHECK_TASK, in_tenants=False, find=due_checks
            )
        )
        audit_admin_actions_with(record_activity)
