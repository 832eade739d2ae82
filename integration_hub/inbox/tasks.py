"""Public-schema tasks: turning inbox items into tenant orders."""

from __future__ import annotations

from integration_hub.celery import app


@app.task(name="inbox.process_item", acks_late=True)
def process_inbox_item(item_id: int) -> str:
    """Fetch the authoritative order, route it to tenants and accept each part."""
    from orders.routing import ingest_inbox_item

    return ingest_inbox_item(item_id)


@app.task(name="inbox.sweep")
def sweep() -> dict:
    """Beat tick: re-enqueue due or stuck work and dispatch due store polls."""
    from integration_hub.inbox.sweeper import sweep as run_sweep

    return run_sweep().__dict__
