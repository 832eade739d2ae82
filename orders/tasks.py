"""Tenant tasks of the order pipeline (thin: the work is in orders.pipeline)."""

from __future__ import annotations

from integration_hub.celery import tenant_task
from orders.pipeline import advance_order


@tenant_task(name="orders.process_order", bind=True)
def process_order(self, order_id: int) -> str:
    result = advance_order(order_id)
    if result is None:
        return "skipped"
    if result.retry_in is not None:
        self.apply_async((order_id,), countdown=result.retry_in)
    return result.state


@tenant_task(name="orders.import_csv_file")
def import_csv_file(import_id: int) -> str:
    from orders.csv_import import run_csv_import
    from orders.models import CsvImport

    upload = CsvImport.objects.filter(pk=import_id).first()
    return "missing" if upload is None else run_csv_import(upload).state
