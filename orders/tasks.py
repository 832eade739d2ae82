"""Tenant tasks of the order area (thin: the work is in the services)."""

from __future__ import annotations

import logging
from collections import Counter

from connectors.errors import UpstreamError
from core import work
from core.tenant_tasks import tenant_task
from orders.changes.actions import act_on_change
from orders.erp.batch_orders import discard_abandoned_batch
from orders.files.erp_check import run_erp_check
from orders.files.importing import run_csv_import
from orders.intake import backfill
from orders.intake.accept import schedule_new_orders
from orders.models import Backfill, OrderChange
from orders.pipeline import advance_orders
from tenant_settings.connection_clients import erp_client

logger = logging.getLogger("hub.erp_cleanup")


@tenant_task(name="orders.process_order")
def process_order(order_id: int) -> dict[str, int]:
    """One order's message (a retry, a manual action); other due orders may join its batch."""
    return process_orders([order_id])


@tenant_task(name="orders.process_orders")
def process_orders(order_ids: list[int]) -> dict[str, int]:
    return dict(Counter(advance_orders(order_ids).values()))


@tenant_task(name="orders.import_csv_file")
def import_csv_file(import_id: int) -> str:
    return run_csv_import(import_id)


@tenant_task(name="orders.backfill")
def run_backfill(backfill_id: int) -> str:
    """Count a store's history (the dry run), or import it from where it was."""
    return work.process(Backfill, backfill_id, backfill.step)


@tenant_task(name="orders.check_file_skus")
def check_file_skus(check_id: int) -> str:
    """An order file's SKUs unknown to the catalog, asked of the ERP for its preview."""
    return run_erp_check(check_id)


@tenant_task(name="orders.schedule_orders")
def schedule_orders(order_ids: list[int]) -> int:
    return schedule_new_orders(order_ids)


@tenant_task(name="orders.discard_abandoned_batch")
def discard_abandoned_erp_batch(order_id: int) -> str:
    """The sweeper sends this again next tick if the ERP cannot be reached now."""
    try:
        return discard_abandoned_batch(order_id, erp_client())
    except UpstreamError as exc:
        logger.warning("order %s: open ERP batch order not discarded yet: %s", order_id, exc)
        return "later"


@tenant_task(name="orders.act_on_change")
def act_on_order_change(change_id: int) -> str:
    return work.process(OrderChange, change_id, act_on_change)
