from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = "Invoicing"

    def ready(self) -> None:
        from core import sweeper
        from invoicing import services
        from orders import state
        from orders.changes import actions as change_actions

        services.register_work_kind()
        # The store reporting an order paid may settle it (orders.changes: the paid change).
        change_actions.register(paid=services.settle)
        sweeper.register(
            sweeper.SweepJob(
                name="ERP invoice reads",
                task=services.READ_TASK,
                in_tenants=True,
                find=services.due_invoice_read,
                next_due=services.next_invoice_read,
            )
        )
        # The parts of a store order split between tenants see each other's progress, and its
        # one store status write waits for them all (tenants.store_order_parts).
        for to in services.PART_STATES:
            state.on_enter(to, services.part_progress(to))
