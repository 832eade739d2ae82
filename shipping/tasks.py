"""Tenant tasks of the shipping area (thin: the work is in the services)."""

from __future__ import annotations

from core import work
from core.tenant_tasks import tenant_task
from shipping import receiving, shipstation_push
from shipping.models import Shipment
from shipping.store_post import post_shipment as post_step


@tenant_task(name=shipstation_push.PUSH_TASK)
def push_orders_to_shipstation(order_ids: int | list[int] | str | None = None) -> dict:
    """The ShipStation push's one task (queue `shipstation`): a gather window's end, a full
    call's worth waiting, a batch of orders or one order's retry
    (`shipstation_push.on_push_message`)."""
    return shipstation_push.on_push_message(order_ids)


@tenant_task(name="shipping.post_shipment")
def post_shipment(shipment_id: int) -> str:
    return work.process(Shipment, shipment_id, post_step)


@tenant_task(name="shipping.poll_shipstation_shipments")
def poll_shipstation_shipments() -> int:
    return receiving.poll_shipstation_shipments()


@tenant_task(name="shipping.poll_erp_deliveries")
def poll_erp_deliveries() -> int:
    return receiving.poll_erp_deliveries()
