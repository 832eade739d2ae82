from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from core import sweeper
        from inbox.processing import register_batch_handler
        from orders import state
        from orders.changes import actions as change_actions
        from orders.erp import batch_orders
        from orders.files import erp_check, importing
        from orders.intake import backfill, store_orders

        state.register_work_kind()
        backfill.register_work_kind()
        change_actions.register_work_kind()
        importing.register_work_kind()
        erp_check.register_work_kind()
        register_batch_handler("order", store_orders.ingest_store_orders)
        sweeper.register(
            sweeper.SweepJob(
                name="abandoned ERP batch orders",
                task="orders.discard_abandoned_batch",
                in_tenants=True,
                find=batch_orders.due_batch_discards,
            )
        )
