"""Tenant tasks of the shipping area."""

from __future__ import annotations

from integration_hub.celery import tenant_task
from shipping import push


@tenant_task(name="shipping.push_orders_to_shipstation", bind=True)
def push_orders_to_shipstation(self) -> dict:
    report = push.push_orders_to_shipstation()
    if report.retry_in:
        self.apply_async(countdown=report.retry_in)
    return report.__dict__
