"""Hinting workers about new inbox rows: after commit, and never at the cost of the request.

The row is the truth; a Celery message is only a hint. When the broker is down the row stays
pending and the sweeper enqueues it later, so a publishing failure is logged, not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

logger = logging.getLogger("hub.inbox")


def enqueue_processing(item_ids: Iterable[int]) -> None:
    """Publish `inbox.process_item` for each id now; broker failures are logged and dropped."""
    from integration_hub.inbox.tasks import process_inbox_item

    for item_id in item_ids:
        try:
            process_inbox_item.delay(item_id)
        except Exception:  # any publishing failure: the sweeper re-enqueues pending rows
            logger.warning(
                "Could not enqueue inbox item %s; the sweeper will pick it up",
                item_id,
                exc_info=True,
            )


def enqueue_processing_on_commit(item_ids: Iterable[int]) -> None:
    """Publish once the surrounding transaction has committed (never for rolled-back rows)."""
    ids = list(item_ids)
    if ids:
        transaction.on_commit(lambda: enqueue_processing(ids))
