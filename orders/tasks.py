"""Tenant tasks of the order area (thin: the work is in the services)."""

from __future__ import annotations

from integration_hub.celery import tenant_task
from orders.csv_import import run_csv_import
from orders.pipeline import advance_order


@tenant_task(name="orders.process_order")
def process_order(order_id: int) -> str:
    return advance_order(order_id)


@tenant_task(name="orders.import_csv_file")
def import_csv_file(import_id: int) -> str:
    return run_csv_import(import_id)
