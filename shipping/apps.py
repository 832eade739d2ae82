from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"
    verbose_name = "Shipping"

    def ready(self) -> None:
        from core import sweeper, work
        from inbox.processing import register_handler
        from orders import state
        from orders.changes import actions as change_actions
        from orders.models import Order
        from shipping import polls, receiving, shipstation_changes, shipstation_push
        from shipping.models import Shipment

        # Orders *in ERP* are the push's work items: the core sweeps, retries and parks them.
        shipstation_push.register_work_kind()
        state.on_enter(
            Order.State.IN_ERP, lambda orders: shipstation_push.request_shipstation_push()
        )
        change_actions.register(shipstation=shipstation_changes.SHIPSTATION_SIDE)
        work.register(
            work.WorkKind(
                model=Shipment,
                task="shipping.post_shipment",
                work_states=(Shipment.State.PENDING,),
            )
        )
        register_handler("ship_notify", receiving.handle_ship_notify)

        sweeper.register(
            sweeper.SweepJob(
                name="ShipStation shipment polls",
                task="shipping.poll_shipstation_shipments",
                in_tenants=True,
                find=polls.due(polls.SHIPSTATION_KEY, polls.shipstation_poll_needed),
                next_due=polls.next_due(polls.SHIPSTATION_KEY, polls.shipstation_poll_needed),
            )
        )
        sweeper.register(
            sweeper.SweepJob(
                name="ERP delivery polls",
                task="shipping.poll_erp_deliveries",
                in_tenants=True,
                find=polls.due(polls.ERP_DELIVERIES_KEY, polls.erp_deliveries_poll_needed),
                next_due=polls.next_due(polls.ERP_DELIVERIES_KEY, polls.erp_deliveries_poll_needed),
            )
        )
