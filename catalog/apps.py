from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import store_push, sync
        from core import sweeper

        sync.register_work_kind()
        store_push.register_work_kind()
        sweeper.register(
            sweeper.SweepJob(
                name="Catalog syncs due",
                task=sync.RUN_TASK,
                in_tenants=True,
                find=sync.due_runs,
                next_due=sync.next_run_due,
            )
        )
        sweeper.register(
            sweeper.SweepJob(
                name="Catalog pushes left pending",
                task=store_push.PENDING_TASK,
                in_tenants=True,
                find=store_push.stores_left_pending,
                next_due=sync.next_pending_push,
            )
        )
