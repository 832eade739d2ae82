from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"
    verbose_name = "Shipping"

    def ready(self) -> None:
        from integration_hub.core import sweeper
        from orders import state
        from orders.models import Order
        from shipping import push

        state.on_enter(Order.State.IN_ERP, push.request_shipstation_push)
        sweeper.register(
            sweeper.SweepJob(
                name="ShipStation pushes",
                task=push.PUSH_TASK,
                in_tenants=True,
                find=lambda now, stale: (
                    [()]
                    if Order.objects.filter(state=Order.State.IN_ERP, updated_at__lt=stale).exists()
                    else []
                ),
            )
        )
