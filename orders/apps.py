from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import AppConfig


def next_batch_discard(now: datetime) -> datetime | None:
    """When an open ERP batch order is next to be deleted in this tenant: a cancelled order's
    at once, a parked one's after the grace; None when no order holds one."""
    from django.conf import settings
    from django.db.models import Case, DateTimeField, ExpressionWrapper, F, Min, Value, When

    from orders.erp.batch_orders import abandoned_batches
    from orders.models import Order

    grace = timedelta(minutes=settings.HUB_ERP_BATCH_GRACE_MINUTES)
    after_grace = ExpressionWrapper(F("updated_at") + grace, output_field=DateTimeField())
    return abandoned_batches(timedelta(0)).aggregate(
        at=Min(Case(When(state=Order.State.CANCELLED, then=Value(now)), default=after_grace))
    )["at"]


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from core import sweeper
        from inbox.polling import register_held_versions
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
        register_held_versions(store_orders.versions_held)
        sweeper.register(
            sweeper.SweepJob(
                name="abandoned ERP batch orders",
                task="orders.discard_abandoned_batch",
                in_tenants=True,
                find=batch_orders.due_batch_discards,
                next_due=next_batch_discard,
            )
        )
