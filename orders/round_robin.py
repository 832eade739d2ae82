"""Round-robin reading of open orders: each scheduled read takes the next slice after the last.

The ERP delivery poll and the invoice read look at a capped number of open orders per run. Taken
oldest first, the same oldest orders would be read every time and newer ones never while more
are open than the cap; taken in turn (by pk, wrapping around), every open order is read once
every `open / cap` runs however many there are.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db.models import QuerySet

from orders.models import Order

logger = logging.getLogger("hub.orders")


def next_in_turn(orders: QuerySet[Order], turn: str, limit: int) -> list[Order]:
    """The next `limit` of `orders` after where the last run of `turn` stopped (per tenant: the
    cache keys are the tenant's own)."""
    key = f"orders:in-turn:{turn}"
    try:
        after = int(cache.get(key) or 0)
    except Exception:  # an unreachable cache starts from the beginning
        logger.warning("cache unreachable; reading %s from the first open order", turn)
        after = 0
    taken = list(orders.filter(pk__gt=after).order_by("pk")[:limit])
    if len(taken) < limit and after:
        taken += list(orders.filter(pk__lte=after).order_by("pk")[: limit - len(taken)])
    try:
        cache.set(key, taken[-1].pk if taken else 0, timeout=None)
    except Exception:
        logger.warning("cache unreachable; %s will start again from the first open order", turn)
    return taken
