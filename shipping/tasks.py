"""Tenant tasks of the shipping area (thin: the work is in the services)."""

from __future__ import annotations

from integration_hub.celery import tenant_task
from shipping import push


@tenant_task(name="shipping.push_orders_to_shipstation")
def push_orders_to_shipstation() -> dict:
    return push.push_orders_to_shipstation().__dict__
